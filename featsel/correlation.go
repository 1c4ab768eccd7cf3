package featsel

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// DefaultThreshold is the paper's correlation cut-off (§4.3: features with
// a correlation coefficient above 0.75 are considered redundant).
const DefaultThreshold = 0.75

// miBins is the number of equal-frequency bins a feature is cut into for
// its mutual information with the target: 10 keeps about 100+ images per
// bin on a few thousand images, so the estimate is not dominated by noise.
const miBins = 10

// Matrix is a square matrix over named features.
type Matrix struct {
	Names []string    `json:"names"`
	R     [][]float64 `json:"r"` // R[i][j]; NaN where undefined (a constant feature)
}

// Correlation returns Pearson's r between every pair of columns of t.
func Correlation(t Table) Matrix {
	cols := columnsOf(t)
	m := Matrix{Names: slices.Clone(t.Names), R: make([][]float64, len(cols))}
	for i := range cols {
		m.R[i] = make([]float64, len(cols))
	}
	for i := range cols {
		m.R[i][i] = 1
		if isConstant(cols[i]) {
			m.R[i][i] = math.NaN()
		}
		for j := i + 1; j < len(cols); j++ {
			r := math.NaN()
			if !isConstant(cols[i]) && !isConstant(cols[j]) {
				r = stat.Correlation(cols[i], cols[j], nil)
			}
			m.R[i][j], m.R[j][i] = r, r
		}
	}
	return m
}

// Removal is one feature removed by the correlation filter.
type Removal struct {
	Removed string  `json:"removed"`
	Kept    string  `json:"kept"` // "" for a constant feature
	R       float64 `json:"r"`    // Pearson's r between them (signed); NaN when constant
	Reason  string  `json:"reason"`
}

// MIScore is a feature's mutual information with the target, in bits.
type MIScore struct {
	Name string  `json:"name"`
	MI   float64 `json:"mi_bits"`
}

// FilterResult is the outcome of the correlation filter.
type FilterResult struct {
	Threshold float64   `json:"threshold"`
	Matrix    Matrix    `json:"-"`       // written as its own record
	Ranking   []MIScore `json:"ranking"` // the order features were visited in
	Kept      []string  `json:"kept"`    // in Table 2 order
	Removed   []Removal `json:"removed"` // in the order they were removed
}

// Filter drops redundant features: see the package documentation for the
// rule. threshold is compared with |r| (strictly greater is redundant).
func Filter(t Table, threshold float64) (FilterResult, error) {
	if err := t.Check(); err != nil {
		return FilterResult{}, err
	}
	if !(threshold > 0 && threshold <= 1) {
		return FilterResult{}, fmt.Errorf("featsel: correlation threshold %v, want (0, 1]", threshold)
	}
	res := FilterResult{Threshold: threshold, Matrix: Correlation(t)}
	cols := columnsOf(t)
	var ranked []int
	for j, c := range cols {
		if isConstant(c) {
			res.Removed = append(res.Removed, Removal{Removed: t.Names[j], R: math.NaN(), Reason: "constant on every image"})
			continue
		}
		ranked = append(ranked, j)
	}
	mi := make([]float64, len(cols))
	for _, j := range ranked {
		mi[j] = MutualInformation(cols[j], t.Y, miBins)
	}
	// Stable: equal information keeps Table 2 order.
	sort.SliceStable(ranked, func(a, b int) bool { return mi[ranked[a]] > mi[ranked[b]] })
	var kept []int
	for _, j := range ranked {
		res.Ranking = append(res.Ranking, MIScore{Name: t.Names[j], MI: mi[j]})
		best, bestAbs := -1, 0.0
		for _, k := range kept {
			if a := math.Abs(res.Matrix.R[j][k]); a > threshold && a > bestAbs {
				best, bestAbs = k, a
			}
		}
		if best < 0 {
			kept = append(kept, j)
			continue
		}
		res.Removed = append(res.Removed, Removal{Removed: t.Names[j], Kept: t.Names[best], R: res.Matrix.R[j][best],
			Reason: fmt.Sprintf("|r| > %g with a kept feature that has more mutual information with the target", threshold)})
	}
	slices.Sort(kept)
	for _, j := range kept {
		res.Kept = append(res.Kept, t.Names[j])
	}
	return res, nil
}

// MutualInformation estimates I(x; y) in bits, with x cut into bins
// equal-frequency bins (equal values always share a bin) and y discrete.
func MutualInformation(x []float64, y []int, bins int) float64 {
	if len(x) == 0 || len(x) != len(y) || bins < 1 {
		return 0
	}
	return miBinned(binsOf(x, bins), y)
}

func columnsOf(t Table) [][]float64 {
	cols := make([][]float64, len(t.Names))
	for j := range cols {
		cols[j] = make([]float64, len(t.X))
		for i, row := range t.X {
			cols[j][i] = row[j]
		}
	}
	return cols
}

func isConstant(c []float64) bool {
	for _, v := range c {
		if v != c[0] {
			return false
		}
	}
	return true
}
