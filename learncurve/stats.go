package learncurve

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
)

// Level is the coverage of every interval here.
const Level = 0.95

// Interval is a mean over images with its percentile bootstrap interval.
type Interval struct {
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
}

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
// so its bootstrap pairs the images.
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

// Bootstrap returns the mean of x over the images with its percentile
// interval over draws resamples of the images (with replacement), seeded.
func Bootstrap(x []float64, draws int, seed uint64) (Interval, error) {
	if len(x) == 0 || draws < 1 {
		return Interval{}, errors.New("learncurve: bootstrap needs images and draws")
	}
	mean := func(get func(int) float64) float64 {
		s := 0.0
		for i := range x {
			s += get(i)
		}
		return s / float64(len(x))
	}
	iv := Interval{Value: mean(func(i int) float64 { return x[i] })}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	stats := make([]float64, draws)
	for k := range stats {
		stats[k] = mean(func(int) float64 { return x[r.IntN(len(x))] })
	}
	slices.Sort(stats)
	a := (1 - Level) / 2
	iv.Lo, iv.Hi = quantile(stats, a), quantile(stats, 1-a)
	// A percentile interval can miss the estimate by a rounding hair when
	// every draw ties; it must hold it.
	iv.Lo, iv.Hi = math.Min(iv.Lo, iv.Value), math.Max(iv.Hi, iv.Value)
	return iv, nil
}

// quantile of sorted values, linear between order statistics (R type 7).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}
