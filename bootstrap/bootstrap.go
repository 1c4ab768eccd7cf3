// Package bootstrap computes paired bootstrap intervals over images: two
// methods answered the same images, and the images are resampled with
// replacement, so the interval of a difference reflects which images were
// drawn, not only how many (Efron and Tibshirani, ch. 13, percentile
// intervals).
package bootstrap

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Interval is a difference of two rates with its percentile interval.
type Interval struct {
	Estimate   float64 `json:"estimate"` // rate(a) - rate(b) on the images as given
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	Confidence float64 `json:"confidence"`
	Resamples  int     `json:"resamples"`
	Seed       uint64  `json:"seed"`
	N          int     `json:"n"` // images
}

// PairedDiff returns the difference of the rates of a and b (a[i] and b[i]
// are two methods' outcomes on image i) with its percentile interval over
// resamples draws of the images, seeded.
func PairedDiff(a, b []bool, resamples int, seed uint64, confidence float64) (Interval, error) {
	iv := Interval{Confidence: confidence, Resamples: resamples, Seed: seed, N: len(a)}
	switch {
	case len(a) != len(b):
		return iv, fmt.Errorf("bootstrap: %d and %d outcomes: pair them by image first", len(a), len(b))
	case len(a) == 0:
		return iv, errors.New("bootstrap: no images")
	case resamples < 1:
		return iv, fmt.Errorf("bootstrap: %d resamples, want at least 1", resamples)
	case confidence <= 0 || confidence >= 1:
		return iv, fmt.Errorf("bootstrap: confidence %g, want 0 < c < 1", confidence)
	}
	// d[i] in {-1, 0, 1}: the paired difference on image i.
	d := make([]int, len(a))
	sum := 0
	for i := range a {
		d[i] = b2i(a[i]) - b2i(b[i])
		sum += d[i]
	}
	n := float64(len(d))
	iv.Estimate = float64(sum) / n
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	stats := make([]float64, resamples)
	for k := range stats {
		s := 0
		for range d {
			s += d[r.IntN(len(d))]
		}
		stats[k] = float64(s) / n
	}
	slices.Sort(stats)
	iv.Low = quantile(stats, (1-confidence)/2)
	iv.High = quantile(stats, 1-(1-confidence)/2)
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
