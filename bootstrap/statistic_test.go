package bootstrap

import (
	"testing"
)

// TestStatistic: a mean computed as a statistic has Mean's interval (the
// same draws); any statistic gets one, seeded.
func TestStatistic(t *testing.T) {
	x := make([]float64, 400)
	for i := range x {
		if i%4 == 0 {
			x[i] = 1 // 25%
		}
	}
	mean := func(idx []int) float64 {
		s := 0.0
		for _, i := range idx {
			s += x[i]
		}
		return s / float64(len(idx))
	}
	iv, err := Statistic(len(x), mean, 2000, 5, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := Mean(x, 2000, 5, 0.95)
	if iv.Estimate != 0.25 || iv.Estimate != m.Estimate || iv.Low != m.Low || iv.High != m.High {
		t.Errorf("statistic %+v, Mean %+v: the same draws should give the same interval", iv, m)
	}
	if again, _ := Statistic(len(x), mean, 2000, 5, 0.95); again != iv {
		t.Errorf("same seed: %+v then %+v", iv, again)
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

// TestRatioOfSums: the ratio of the sums on the images as given, its
// interval the same as Statistic's for that ratio on the same draws, and
// unpaired inputs refused.
func TestRatioOfSums(t *testing.T) {
	num := []float64{1, 2, 3, 4, 5, 6}
	den := []float64{2, 2, 2, 3, 3, 9}
	got, err := RatioOfSums(num, den, 500, 3, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if got.Estimate != 1 { // 21 / 21
		t.Errorf("estimate %v, want 1", got.Estimate)
	}
	want, err := Statistic(len(num), func(idx []int) float64 {
		var a, d float64
		for _, i := range idx {
			a, d = a+num[i], d+den[i]
		}
		return a / d
	}, 500, 3, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("RatioOfSums %+v, Statistic %+v", got, want)
	}
	if got.Low >= got.Estimate || got.High <= got.Estimate {
		t.Errorf("interval [%v, %v] does not straddle %v", got.Low, got.High, got.Estimate)
	}
	if _, err := RatioOfSums(num, den[:5], 500, 3, 0.95); err == nil {
		t.Error("6 numerators and 5 denominators were accepted")
	}
}
