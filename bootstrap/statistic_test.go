package bootstrap

import (
	"math"
	"testing"
)

// TestStatistic: a rate's interval holds its estimate, has the binomial
// width, is seeded, and equals PairedDiff against all-false outcomes.
func TestStatistic(t *testing.T) {
	x := make([]bool, 400)
	for i := range x {
		x[i] = i%4 == 0 // 25%
	}
	iv, err := Rate(x, 2000, 5, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if iv.Estimate != 0.25 || iv.Low > 0.25 || iv.High < 0.25 || iv.N != 400 {
		t.Fatalf("rate %+v", iv)
	}
	se := math.Sqrt(0.25 * 0.75 / 400)
	if w := (iv.High - iv.Low) / 2; w < 1.5*se || w > 2.5*se {
		t.Errorf("half-width %.4f, want about 1.96 x %.4f", w, se)
	}
	if again, _ := Rate(x, 2000, 5, 0.95); again != iv {
		t.Errorf("same seed: %+v then %+v", iv, again)
	}
	none := make([]bool, len(x))
	d, _ := PairedDiff(x, none, 2000, 5, 0.95)
	if d.Estimate != iv.Estimate || d.Low != iv.Low || d.High != iv.High {
		t.Errorf("rate %+v, paired difference with nothing %+v: the same draws should give the same interval", iv, d)
	}
	// Any statistic: the number of distinct values among the drawn images.
	vals := []int{1, 1, 1, 2, 3}
	c, err := Statistic(len(vals), func(idx []int) float64 {
		seen := map[int]bool{}
		for _, i := range idx {
			seen[vals[i]] = true
		}
		return float64(len(seen))
	}, 500, 1, 0.9)
	if err != nil || c.Estimate != 3 || c.High != 3 || c.Low < 1 || c.Low > 2 {
		t.Errorf("distinct count %+v %v", c, err)
	}
	for _, bad := range []struct {
		n, r int
		c    float64
	}{{0, 10, 0.95}, {3, 0, 0.95}, {3, 10, 0}} {
		if _, err := Statistic(bad.n, func([]int) float64 { return 0 }, bad.r, 1, bad.c); err == nil {
			t.Errorf("accepted n %d, %d resamples, confidence %g", bad.n, bad.r, bad.c)
		}
	}
}
