// Package bootstrap computes bootstrap intervals over images: the images
// are resampled with replacement, so an interval reflects which images
// were drawn, not only how many; two methods that answered the same images
// are paired image by image (Efron and Tibshirani, ch. 13, percentile
// intervals).
package bootstrap

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Interval is a mean over images (a rate, a difference of two rates, any
// per-image statistic) with its percentile interval.
type Interval struct {
	Estimate   float64 `json:"estimate"` // the mean on the images as given (for PairedDiff, rate(a) - rate(b))
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	Confidence float64 `json:"confidence"`
	Resamples  int     `json:"resamples"`
	Seed       uint64  `json:"seed"`
	N          int     `json:"n"` // images
}

// PairedDiff returns the difference of the rates of a and b (a[i] and b[i]
// are two methods' outcomes on image i) with its percentile interval over
// resamples draws of the images, seeded: Mean of the per-image
// differences.
func PairedDiff(a, b []bool, resamples int, seed uint64, confidence float64) (Interval, error) {
	if len(a) != len(b) {
		return Interval{Confidence: confidence, Resamples: resamples, Seed: seed, N: len(a)},
			fmt.Errorf("bootstrap: %d and %d outcomes: pair them by image first", len(a), len(b))
	}
	// d[i] in {-1, 0, 1}: the paired difference on image i (sums of these
	// are exact, so the interval is the same as counting).
	d := make([]float64, len(a))
	for i := range a {
		d[i] = float64(b2i(a[i]) - b2i(b[i]))
	}
	return Mean(d, resamples, seed, confidence)
}

// Mean returns the mean of x (one value per image: an outcome averaged
// over seeds, a paired difference, any linear combination of per-image
// outcomes) with its percentile interval over resamples draws of the
// images, seeded.
func Mean(x []float64, resamples int, seed uint64, confidence float64) (Interval, error) {
	iv := Interval{Confidence: confidence, Resamples: resamples, Seed: seed, N: len(x)}
	switch {
	case len(x) == 0:
		return iv, errors.New("bootstrap: no images")
	case resamples < 1:
		return iv, fmt.Errorf("bootstrap: %d resamples, want at least 1", resamples)
	case confidence <= 0 || confidence >= 1:
		return iv, fmt.Errorf("bootstrap: confidence %g, want 0 < c < 1", confidence)
	}
	n := float64(len(x))
	sum := 0.0
	for _, v := range x {
		sum += v
	}
	iv.Estimate = sum / n
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	stats := make([]float64, resamples)
	for k := range stats {
		s := 0.0
		for range x {
			s += x[r.IntN(len(x))]
		}
		stats[k] = s / n
	}
	slices.Sort(stats)
	iv.Low = Quantile(stats, (1-confidence)/2)
	iv.High = Quantile(stats, 1-(1-confidence)/2)
	return iv, nil
}

// Quantile of sorted values, linear between order statistics (R type 7).
func Quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(i)
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
