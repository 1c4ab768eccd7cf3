package bootstrap

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Statistic returns stat on the n images as given with its percentile
// interval over resamples draws of the images (with replacement), seeded:
// stat is called with the indices of a resample (some repeated, some
// absent) and computes its value on those images, so a statistic that is
// not a mean of per-image values (a count of distinct models, a ratio of
// sums) gets an interval from the same draws as Mean. The images are paired by construction: every method's
// outcome on image i enters a resample together.
func Statistic(n int, stat func(idx []int) float64, resamples int, seed uint64, confidence float64) (Interval, error) {
	iv := Interval{Confidence: confidence, Resamples: resamples, Seed: seed, N: n}
	switch {
	case n == 0:
		return iv, errors.New("bootstrap: no images")
	case resamples < 1:
		return iv, fmt.Errorf("bootstrap: %d resamples, want at least 1", resamples)
	case confidence <= 0 || confidence >= 1:
		return iv, fmt.Errorf("bootstrap: confidence %g, want 0 < c < 1", confidence)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	iv.Estimate = stat(idx)
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	stats := make([]float64, resamples)
	for k := range stats {
		for i := range idx {
			idx[i] = r.IntN(n)
		}
		stats[k] = stat(idx)
	}
	slices.Sort(stats)
	iv.Low = Quantile(stats, (1-confidence)/2)
	iv.High = Quantile(stats, 1-(1-confidence)/2)
	return iv, nil
}

// RatioOfSums returns sum(num)/sum(den) over the images with its
// percentile interval (Statistic): num[i] and den[i] belong to image i and
// enter a resample together, e.g. two feature sets' extraction times, or
// the decode's part of one set's time and the whole.
func RatioOfSums(num, den []float64, resamples int, seed uint64, confidence float64) (Interval, error) {
	if len(num) != len(den) {
		return Interval{Confidence: confidence, Resamples: resamples, Seed: seed, N: len(num)},
			fmt.Errorf("bootstrap: %d numerators and %d denominators: pair them by image first", len(num), len(den))
	}
	return Statistic(len(num), func(idx []int) float64 {
		var a, d float64
		for _, i := range idx {
			a, d = a+num[i], d+den[i]
		}
		return a / d
	}, resamples, seed, confidence)
}
