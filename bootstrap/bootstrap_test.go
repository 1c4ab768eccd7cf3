package bootstrap

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPairedDiff(t *testing.T) {
	// Identical outcomes: no difference in any resample.
	a := []bool{true, false, true, true}
	iv, err := PairedDiff(a, a, 500, 1, 0.95)
	if err != nil || iv.Estimate != 0 || iv.Low != 0 || iv.High != 0 {
		t.Fatalf("identical: %+v %v", iv, err)
	}
	// a right on 30 more of 200 images, never worse: the interval is
	// above 0 and holds the estimate.
	r := rand.New(rand.NewPCG(7, 7))
	a, b := make([]bool, 200), make([]bool, 200)
	for i := range a {
		b[i] = r.IntN(2) == 0
		a[i] = b[i]
	}
	flipped := 0
	for i := range a {
		if !a[i] && flipped < 30 {
			a[i], flipped = true, flipped+1
		}
	}
	iv, err = PairedDiff(a, b, 2000, 3, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(iv.Estimate-0.15) > 1e-12 || iv.Low <= 0 || iv.Low > iv.Estimate || iv.High < iv.Estimate || iv.High > 0.3 {
		t.Fatalf("one-sided gain: %+v", iv)
	}
	// The standard error of a paired difference of 30 one-way flips is
	// sqrt(p(1-p)/n) with p = 0.15: the 95% interval spans about ±1.96 of it.
	se := math.Sqrt(0.15 * 0.85 / 200)
	if w := (iv.High - iv.Low) / 2; w < 1.5*se || w > 2.5*se {
		t.Errorf("half-width %.4f, want about 1.96 x %.4f", w, se)
	}
	// Seeded: the same seed gives the same interval; with few resamples
	// (so the percentiles fall between discrete values) another seed
	// gives another.
	if again, _ := PairedDiff(a, b, 2000, 3, 0.95); again != iv {
		t.Errorf("same seed: %+v, then %+v", iv, again)
	}
	s1, _ := PairedDiff(a, b, 15, 3, 0.95)
	s2, _ := PairedDiff(a, b, 15, 4, 0.95)
	if s1.Low == s2.Low && s1.High == s2.High {
		t.Errorf("seeds 3 and 4 gave the same interval: %+v", s1)
	}
	for _, bad := range []struct {
		a, b []bool
		n    int
		c    float64
	}{{a, b[:3], 10, 0.95}, {nil, nil, 10, 0.95}, {a, b, 0, 0.95}, {a, b, 10, 1}} {
		if _, err := PairedDiff(bad.a, bad.b, bad.n, 1, bad.c); err == nil {
			t.Errorf("accepted %d/%d outcomes, %d resamples, confidence %g", len(bad.a), len(bad.b), bad.n, bad.c)
		}
	}
}

// TestMean: a rate's interval is PairedDiff's against a method never
// right; fractional per-image values (an outcome averaged over seeds)
// get an interval that holds their mean; bad input is refused.
func TestMean(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	a := make([]bool, 300)
	x := make([]float64, 300)
	for i := range a {
		a[i] = r.IntN(3) == 0
		if a[i] {
			x[i] = 1
		}
	}
	m, err := Mean(x, 1000, 5, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := PairedDiff(a, make([]bool, 300), 1000, 5, 0.95)
	if m != p {
		t.Errorf("Mean %+v, PairedDiff against never-right %+v", m, p)
	}
	for i := range x {
		x[i] = float64(r.IntN(6)) / 5 // right on k of 5 seeds
	}
	m, err = Mean(x, 1000, 5, 0.95)
	if err != nil || m.Low >= m.Estimate || m.High <= m.Estimate || m.N != 300 {
		t.Errorf("fractional: %+v %v", m, err)
	}
	if _, err := Mean(nil, 10, 1, 0.95); err == nil {
		t.Error("no images accepted")
	}
	if _, err := Mean(x, 10, 1, 1); err == nil {
		t.Error("confidence 1 accepted")
	}
	if q := Quantile([]float64{1, 2, 3, 4}, 0.5); q != 2.5 {
		t.Errorf("Quantile = %v", q)
	}
}
