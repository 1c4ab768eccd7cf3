package featsel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/modelpick/modelpick/bootstrap"
)

// Info is what one feature says about the target: its mutual information
// (MutualInformation, equal-frequency bins) against the same estimate
// with the targets shuffled across the images, which keeps both marginals
// and so the estimator's bias on this many images.
type Info struct {
	Feature string  `json:"feature"`
	MI      float64 `json:"mi_bits"`
	// NullMean and NullHi are the mean and the Level quantile of the MI
	// over the permutations; Excess is MI - NullMean.
	NullMean float64 `json:"null_mean_bits"`
	NullHi   float64 `json:"null_hi_bits"`
	Excess   float64 `json:"excess_bits"`
	// P is the permutation p-value: (1 + permutations with MI at least
	// the observed) / (1 + permutations).
	P float64 `json:"p"`
}

// Information is every feature's Info on t, by excess information
// (ties: Table 2 order), and the target's entropy in bits (the most any
// feature could say).
func Information(t Table, bins, permutations int, seed int64) ([]Info, float64, error) {
	if err := t.Check(); err != nil {
		return nil, 0, err
	}
	if bins < 2 || permutations < 1 {
		return nil, 0, fmt.Errorf("featsel: information needs at least 2 bins and 1 permutation, got %d and %d", bins, permutations)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x2545f4914f6cdd1d))
	perms := make([][]int, permutations)
	for k := range perms {
		y := slices.Clone(t.Y)
		rng.Shuffle(len(y), func(i, j int) { y[i], y[j] = y[j], y[i] })
		perms[k] = y
	}
	var out []Info
	for j, col := range columnsOf(t) {
		b := binsOf(col, bins)
		in := Info{Feature: t.Names[j], MI: miBinned(b, t.Y)}
		null := make([]float64, permutations)
		above := 0
		for k, y := range perms {
			null[k] = miBinned(b, y)
			in.NullMean += null[k] / float64(permutations)
			if null[k] >= in.MI-eps {
				above++
			}
		}
		slices.Sort(null)
		in.NullHi = bootstrap.Quantile(null, Level)
		in.Excess = in.MI - in.NullMean
		in.P = float64(1+above) / float64(1+permutations)
		out = append(out, in)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Excess > out[b].Excess })
	return out, entropy(t.Y), nil
}

// binsOf cuts x into equal-frequency bins as MutualInformation does.
func binsOf(x []float64, bins int) []int {
	n := len(x)
	sorted := slices.Clone(x)
	slices.Sort(sorted)
	var cuts []float64
	for b := 1; b < bins; b++ {
		c := sorted[b*n/bins]
		if len(cuts) == 0 || c > cuts[len(cuts)-1] {
			cuts = append(cuts, c)
		}
	}
	out := make([]int, n)
	for i, v := range x {
		out[i] = sort.Search(len(cuts), func(k int) bool { return cuts[k] > v })
	}
	return out
}

// miBinned is I(b; y) in bits for a binned feature b and discrete y.
func miBinned(b, y []int) float64 {
	joint := map[[2]int]float64{}
	pb := map[int]float64{}
	py := map[int]float64{}
	for i := range b {
		joint[[2]int{b[i], y[i]}]++
		pb[b[i]]++
		py[y[i]]++
	}
	// Sum in a fixed order so the result never depends on map order.
	keys := make([][2]int, 0, len(joint))
	for k := range joint {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	n := float64(len(b))
	mi := 0.0
	for _, k := range keys {
		p := joint[k] / n
		mi += p * math.Log2(p/((pb[k[0]]/n)*(py[k[1]]/n)))
	}
	return math.Max(mi, 0)
}

// entropy of y in bits.
func entropy(y []int) float64 {
	c := map[int]float64{}
	for _, v := range y {
		c[v]++
	}
	keys := make([]int, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := 0.0
	for _, k := range keys {
		p := c[k] / float64(len(y))
		h -= p * math.Log2(p)
	}
	return h
}
