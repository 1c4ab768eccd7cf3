package learncurve

import (
	"errors"
)

// Rates returns each image's outcome averaged over the seeds, in percent.
func (o Outcome) Rates() []float64 {
	out := make([]float64, len(o.Hits))
	for i, h := range o.Hits {
		out[i] = 100 * float64(h) / float64(len(o.Seeds))
	}
	return out
}

// BestRates returns the best single model's outcome per image, in percent.
func (o Outcome) BestRates() []float64 {
	out := make([]float64, len(o.BestHits))
	for i, ok := range o.BestHits {
		if ok {
			out[i] = 100
		}
	}
	return out
}

// Combine returns sum_k w[k]·xs[k][i] for each image i: a statistic that
// is linear in per-image outcomes (a difference, a slope, a projection),
// so bootstrap.Mean of it pairs the images.
func Combine(w []float64, xs ...[]float64) ([]float64, error) {
	if len(w) != len(xs) || len(xs) == 0 {
		return nil, errors.New("learncurve: one weight per series")
	}
	out := make([]float64, len(xs[0]))
	for k, x := range xs {
		if len(x) != len(out) {
			return nil, errors.New("learncurve: series over different images")
		}
		for i, v := range x {
			out[i] += w[k] * v
		}
	}
	return out, nil
}
