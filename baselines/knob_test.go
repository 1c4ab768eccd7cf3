package baselines

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/modelpick/modelpick/profileview"

	"github.com/modelpick/modelpick/learners"
)

func TestCumulative(t *testing.T) {
	got := Cumulative(learners.Decision{Scores: []float64{0.2, 0.4, 0.6}})
	if !slices.Equal(got, []float64{0.2, 0.6000000000000001, 1}) {
		t.Errorf("Cumulative = %v", got)
	}
}

func TestKnobKnownAnswers(t *testing.T) {
	p := twoModels() // small (1 ms) right on a and c; big (3 ms) always right
	// Cumulative scores of "small is enough" per image (the big level's
	// value is never read: it is the fallback).
	scores := [][]float64{{0.9, 1}, {0.2, 1}, {0.6, 1}, {0.4, 1}}
	const overhead = 0.25
	// alpha -> images sent to big: 0.2: none; 0.4: b; 0.6: b, d; 0.9: b, c,
	// d; above 0.9: all.
	pts, err := SweepKnob(p, []int{0, 1}, scores, overhead)
	if err != nil {
		t.Fatal(err)
	}
	wantMS := []float64{1.25, 1.75, 2.25, 2.75, 3.25}
	wantHits := []int{2, 3, 4, 4, 4}
	if len(pts) != len(wantMS) {
		t.Fatalf("%d points, want %d", len(pts), len(wantMS))
	}
	for k, pt := range pts {
		if pt.Result.MeanMS != wantMS[k] || pt.Result.Hits != wantHits[k] {
			t.Errorf("alpha %v: %v ms %d hits, want %v ms %d hits", pt.Param, pt.Result.MeanMS, pt.Result.Hits, wantMS[k], wantHits[k])
		}
	}
	for _, tc := range []struct {
		obj   Objective
		alpha float64
		ms    float64
		met   bool
	}{
		{Objective{BudgetMS: 2.25}, 0.6, 2.25, true}, // met exactly, all right
		{Objective{BudgetMS: 2}, 0.4, 1.75, true},
		{Objective{BudgetMS: 1}, 0.2, 1.25, false}, // the overhead alone breaks it
		{Objective{TargetAcc: 75}, 0.4, 1.75, true},
		{Objective{TargetAcc: 100}, 0.6, 2.25, true},
	} {
		k, cal, err := CalibrateKnob(p, []int{0, 1}, scores, overhead, tc.obj)
		if err != nil {
			t.Fatal(err)
		}
		if k.Alpha != tc.alpha || cal.Train.MeanMS != tc.ms || cal.Met != tc.met {
			t.Errorf("%v: alpha %v, %v ms, met %v; want %v, %v ms, %v", tc.obj, k.Alpha, cal.Train.MeanMS, cal.Met, tc.alpha, tc.ms, tc.met)
		}
		if r, _ := k.Evaluate(p, scores); r.MeanMS != cal.Train.MeanMS || r.Hits != cal.Train.Hits {
			t.Errorf("%v: re-evaluation differs", tc.obj)
		}
	}
	if _, err := (Knob{Levels: []int{0, 1}}).Evaluate(p, scores[:2]); err == nil {
		t.Error("short scores accepted")
	}
	if _, _, err := CalibrateKnob(p, []int{0, 1}, scores, math.NaN(), Objective{BudgetMS: 2}); err == nil {
		t.Error("NaN overhead accepted")
	}
}

func TestRandomMatched(t *testing.T) {
	p := threeModels() // A 1 ms 50%, B 2 ms 50%, C 4 ms 100%
	rnd, r, err := RandomMatched(p, []int{0, 1, 2}, 3, 7)
	if err != nil {
		t.Fatal(err)
	}
	if rnd.Low != "B" || rnd.High != "C" || rnd.PHigh != 0.5 || rnd.ExpectedMS != 3 || rnd.ExpectedAcc != 75 {
		t.Errorf("mixture %+v", rnd)
	}
	if r.Images != 4 {
		t.Errorf("result %+v", r)
	}
	_, again, _ := RandomMatched(p, []int{0, 1, 2}, 3, 7)
	if again.MeanMS != r.MeanMS || again.Hits != r.Hits {
		t.Error("same seed, different draw")
	}
	// Clamped targets.
	if rnd, r, _ := RandomMatched(p, []int{0, 1, 2}, 0.5, 1); rnd.Low != "A" || rnd.PHigh != 0 || r.MeanMS != 1 {
		t.Errorf("below cheapest: %+v %+v", rnd, r)
	}
	if rnd, r, _ := RandomMatched(p, []int{0, 1, 2}, 9, 1); rnd.High != "C" || r.MeanMS != 4 {
		t.Errorf("above costliest: %+v %+v", rnd, r)
	}

	// On many images the draw matches the target latency closely, and
	// seeds differ.
	big := &profileview.View{Models: []string{"a", "b"}, Cost: []float64{1, 5}}
	for i := range 4000 {
		big.Items = append(big.Items, profileview.Item{File: string(rune('a' + i%26))})
		big.Correct1 = append(big.Correct1, []bool{i%2 == 0, true})
		big.Score = append(big.Score, []float64{0.5, 0.5})
	}
	_, r1, _ := RandomMatched(big, []int{0, 1}, 2, 1)
	_, r2, _ := RandomMatched(big, []int{0, 1}, 2, 2)
	if math.Abs(r1.MeanMS-2) > 0.1 || math.Abs(r2.MeanMS-2) > 0.1 || r1.MeanMS == r2.MeanMS {
		t.Errorf("draws %v and %v ms, want about 2 and different", r1.MeanMS, r2.MeanMS)
	}
}

// blobsData: 3 candidates, each image's optimum tied to a Gaussian blob.
func blobsData(n int, seed uint64) ([][]float64, []int) {
	r := rand.New(rand.NewPCG(seed, 3))
	centres := [][]float64{{0.2, 0.2}, {0.8, 0.2}, {0.5, 0.8}}
	var x [][]float64
	var y []int
	for i := range n {
		c := i % 3
		x = append(x, []float64{centres[c][0] + 0.1*r.NormFloat64(), centres[c][1] + 0.1*r.NormFloat64()})
		y = append(y, c)
	}
	return x, y
}

func TestOutOfFoldDeterministic(t *testing.T) {
	x, y := blobsData(90, 1)
	newKNN := func() (learners.Learner, error) { return learners.New("knn", learners.Params{}) }
	a, err := OutOfFold(newKNN, x, y, 3, 5, 11)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := OutOfFold(newKNN, x, y, 3, 5, 11)
	c, _ := OutOfFold(newKNN, x, y, 3, 5, 12)
	same := func(u, v []learners.Decision) bool {
		for i := range u {
			if u[i].Class != v[i].Class || !slices.Equal(u[i].Scores, v[i].Scores) {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("same seed, different out-of-fold decisions")
	}
	if same(a, c) {
		t.Error("another seed gave identical folds (suspicious)")
	}
	right := 0
	for i, d := range a {
		if d.Class == y[i] {
			right++
		}
	}
	if right < 80 {
		t.Errorf("out-of-fold kNN right on %d of 90 separable rows", right)
	}
	if _, err := OutOfFold(newKNN, x, y, 3, 1, 1); err == nil {
		t.Error("1 fold accepted")
	}
}
