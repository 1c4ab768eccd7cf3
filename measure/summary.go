package measure

import (
	"fmt"
	"math"
	"slices"
)

// Summary describes a set of latency samples. It is data for the store and
// the reports, not a log line. All durations are in milliseconds; every
// field is finite so the value always encodes as JSON.
type Summary struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean_ms"`
	Std    float64 `json:"std_ms"` // sample standard deviation (n−1)
	Median float64 `json:"median_ms"`
	// MedianLow and MedianHigh bound a distribution-free 95% interval of
	// the median (MedianCI): a median is what a shared machine's bursts
	// move least.
	MedianLow  float64 `json:"median_low_ms"`
	MedianHigh float64 `json:"median_high_ms"`
	Min        float64 `json:"min_ms"`
	Max        float64 `json:"max_ms"`
	P95        float64 `json:"p95_ms"`
	// CILow and CIHigh bound the Student-t confidence interval of the mean
	// at level Confidence; HalfWidth is half its width.
	CILow     float64 `json:"ci_low_ms"`
	CIHigh    float64 `json:"ci_high_ms"`
	HalfWidth float64 `json:"half_width_ms"`
	// RelHalfWidth is HalfWidth / Mean, the quantity the stopping rule
	// compares with its target (0 when the mean is 0).
	RelHalfWidth float64 `json:"rel_half_width"`
	Confidence   float64 `json:"confidence"`
	// Converged is set by [Time] when the stopping rule was met; Summarize
	// alone has no target and leaves it false (see [Summary.Within]).
	Converged bool `json:"converged"`
	// StopReason is one of the Stop* constants when the summary comes from
	// [Time], empty otherwise.
	StopReason string   `json:"stop_reason,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
}

// Within reports whether the interval's half-width is at most rel × Mean,
// the paper's criterion with rel = 0.05.
func (s Summary) Within(rel float64) bool {
	return s.N >= 2 && s.HalfWidth <= rel*s.Mean
}

// Summarize computes a [Summary] of precomputed samples (milliseconds) with a
// Student-t interval at the given confidence. A confidence outside (0, 1)
// is replaced by [DefaultConfidence] and a warning says so. With fewer than
// two samples there is no interval: CILow = CIHigh = Mean, HalfWidth = 0,
// and a warning says so.
func Summarize(samplesMs []float64, confidence float64) Summary {
	var s Summary
	if !(confidence > 0 && confidence < 1) {
		s.Warnings = append(s.Warnings, fmt.Sprintf("confidence %v not in (0, 1); used %v", confidence, DefaultConfidence))
		confidence = DefaultConfidence
	}
	s.Confidence = confidence
	s.N = len(samplesMs)
	if s.N == 0 {
		s.Warnings = append(s.Warnings, "no samples")
		return s
	}
	sorted := slices.Clone(samplesMs)
	slices.Sort(sorted)
	s.Min, s.Max = sorted[0], sorted[s.N-1]
	s.Median = quantileSorted(sorted, 0.5)
	_, s.MedianLow, s.MedianHigh = MedianCI(sorted)
	s.P95 = quantileSorted(sorted, 0.95)

	var r running
	for _, x := range samplesMs {
		r.add(x)
	}
	s.Mean = r.mean
	s.CILow, s.CIHigh = s.Mean, s.Mean
	if s.N < 2 {
		s.Warnings = append(s.Warnings, "one sample: no confidence interval")
		return s
	}
	s.Std = math.Sqrt(r.m2 / float64(s.N-1))
	s.HalfWidth = tQuantile(confidence, s.N-1) * s.Std / math.Sqrt(float64(s.N))
	s.CILow, s.CIHigh = s.Mean-s.HalfWidth, s.Mean+s.HalfWidth
	if s.Mean != 0 {
		s.RelHalfWidth = s.HalfWidth / math.Abs(s.Mean)
	}
	return s
}

// quantileSorted is the linear interpolation between order statistics
// (Hyndman and Fan type 7, the default of R and NumPy), so the median of an
// even count is the mean of the two middle values.
func quantileSorted(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-lo)*(sorted[i+1]-sorted[i])
}

// MedianCI returns the median of xs and a distribution-free 95% interval
// for it: the order statistics of ranks n/2 - 1.96·√n/2 (rounded down)
// and 1 + n/2 + 1.96·√n/2 (rounded up), from the normal approximation to
// the binomial count of samples below the median. xs is not changed; an
// empty xs gives zeros.
func MedianCI(xs []float64) (med, lo, hi float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0, 0, 0
	}
	half := 1.96 * math.Sqrt(float64(n)) / 2
	rank := func(r int) float64 { return s[min(max(r, 1), n)-1] } // 1-based
	med = rank(n/2 + 1)
	if n%2 == 0 {
		med = (rank(n/2) + rank(n/2+1)) / 2
	}
	return med, rank(int(math.Floor(float64(n)/2 - half))), rank(int(math.Ceil(1 + float64(n)/2 + half)))
}
