package bootstrap

import (
	"math/rand/v2"
	"testing"
)

// TestStatisticDrawn: the estimate uses the input as measured; the
// resamples draw it, so the interval widens with the input's spread; with
// no spread it is Statistic's interval; it is seeded.
func TestStatisticDrawn(t *testing.T) {
	x := make([]float64, 300)
	for i := range x {
		x[i] = float64(i%10) / 10
	}
	mean := func(idx []int) float64 {
		s := 0.0
		for _, i := range idx {
			s += x[i]
		}
		return s / float64(len(idx))
	}
	plain, err := Statistic(len(x), mean, 1000, 3, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	// A measured scale of 2 ± 0 and of 2 ± 0.5 (the statistic's unit).
	scaled := func(spread float64) (Interval, error) {
		return StatisticDrawn(len(x), func(r *rand.Rand) float64 {
			if r == nil {
				return 2
			}
			return 2 + spread*r.NormFloat64()
		}, func(idx []int, s float64) float64 { return s * mean(idx) }, 1000, 3, 0.95)
	}
	exact, err := scaled(0)
	if err != nil {
		t.Fatal(err)
	}
	if exact.Estimate != 2*plain.Estimate || exact.Low != 2*plain.Low || exact.High != 2*plain.High {
		t.Errorf("no spread: %+v, want twice %+v (the same images drawn)", exact, plain)
	}
	wide, err := scaled(0.5)
	if err != nil {
		t.Fatal(err)
	}
	if wide.Estimate != exact.Estimate {
		t.Errorf("estimate %v, want %v: the estimate uses the input as measured", wide.Estimate, exact.Estimate)
	}
	if wide.High-wide.Low < 1.5*(exact.High-exact.Low) {
		t.Errorf("with the input's spread [%v, %v], without [%v, %v]: want wider", wide.Low, wide.High, exact.Low, exact.High)
	}
	if again, _ := scaled(0.5); again != wide {
		t.Errorf("same seed: %+v then %+v", wide, again)
	}
}
