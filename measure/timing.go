package measure

import (
	"context"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// TimingOptions says how long [Time] keeps repeating a call.
//
// Zero values of Confidence, RelHalfWidth, MinRuns and MaxRuns take the
// value of [DefaultTimingOptions]; a zero Warmup means no warm-up run and a
// zero MaxDuration means no time limit (MaxRuns still bounds the loop).
type TimingOptions struct {
	// Warmup calls run first and are not timed: the first inferences pay for
	// lazy allocation, page faults and cold caches.
	Warmup int `json:"warmup"`
	// MinRuns is the least number of timed calls before convergence is
	// judged; below two there is no interval at all.
	MinRuns int `json:"min_runs"`
	// MaxRuns bounds the timed calls when the interval never tightens.
	MaxRuns int `json:"max_runs"`
	// Confidence is the level of the Student-t interval, e.g. 0.95.
	Confidence float64 `json:"confidence"`
	// RelHalfWidth is the target half-width of the interval as a fraction
	// of the mean, e.g. 0.05.
	RelHalfWidth float64 `json:"rel_half_width"`
	// MaxDuration bounds the wall-clock time of the timed calls; checked
	// after each call, so at least one call runs.
	MaxDuration time.Duration `json:"max_duration_ns"`
}

// Defaults of [TimingOptions].
const (
	// DefaultConfidence and DefaultRelHalfWidth are the paper's stopping
	// rule (Taylor et al., experimental methodology): repeat until the 95%
	// confidence interval is within 5% of the mean.
	DefaultConfidence   = 0.95
	DefaultRelHalfWidth = 0.05
	// DefaultWarmup: two untimed calls cover the first-call costs of ONNX
	// Runtime (arena allocation, kernel selection) seen on CPU sessions.
	DefaultWarmup = 2
	// DefaultMinRuns: fewer than five samples give a Student-t quantile so
	// large (2.78 at n=5) that a lucky streak could "converge" anyway.
	DefaultMinRuns = 5
	// DefaultMaxRuns caps a noisy (model, image) pair so one pair cannot
	// stall a profile of 50,000 images.
	DefaultMaxRuns = 2000
	// DefaultMaxDuration caps the same from the clock's side.
	DefaultMaxDuration = 30 * time.Second
)

// DefaultTimingOptions returns the paper's settings: 95% confidence, half
// width within 5% of the mean.
func DefaultTimingOptions() TimingOptions {
	return TimingOptions{
		Warmup:       DefaultWarmup,
		MinRuns:      DefaultMinRuns,
		MaxRuns:      DefaultMaxRuns,
		Confidence:   DefaultConfidence,
		RelHalfWidth: DefaultRelHalfWidth,
		MaxDuration:  DefaultMaxDuration,
	}
}

// normalized fills zero fields with defaults and rejects impossible values.
func (o TimingOptions) normalized() (TimingOptions, error) {
	d := DefaultTimingOptions()
	if o.Confidence == 0 {
		o.Confidence = d.Confidence
	}
	if o.RelHalfWidth == 0 {
		o.RelHalfWidth = d.RelHalfWidth
	}
	if o.MinRuns == 0 {
		o.MinRuns = d.MinRuns
	}
	if o.MaxRuns == 0 {
		o.MaxRuns = d.MaxRuns
	}
	switch {
	case !(o.Confidence > 0 && o.Confidence < 1):
		return o, fmt.Errorf("timing options: confidence %v not in (0, 1)", o.Confidence)
	case !(o.RelHalfWidth > 0) || math.IsInf(o.RelHalfWidth, 0):
		return o, fmt.Errorf("timing options: relative half-width %v must be positive", o.RelHalfWidth)
	case o.Warmup < 0:
		return o, fmt.Errorf("timing options: negative warmup %d", o.Warmup)
	case o.MinRuns < 0:
		return o, fmt.Errorf("timing options: negative min runs %d", o.MinRuns)
	case o.MaxRuns < 0:
		return o, fmt.Errorf("timing options: negative max runs %d", o.MaxRuns)
	case o.MaxDuration < 0:
		return o, fmt.Errorf("timing options: negative max duration %v", o.MaxDuration)
	}
	if o.MinRuns < 2 {
		o.MinRuns = 2 // an interval needs two samples
	}
	if o.MaxRuns < o.MinRuns {
		return o, fmt.Errorf("timing options: max runs %d below min runs %d", o.MaxRuns, o.MinRuns)
	}
	return o, nil
}

// Reasons a timing loop stopped, in [Summary.StopReason].
const (
	StopConverged   = "converged"
	StopMaxRuns     = "max_runs"
	StopMaxDuration = "max_duration"
	StopCanceled    = "canceled"
	StopError       = "error"
)

// Time runs fn opts.Warmup times untimed, then times each call with the
// monotonic clock until at least opts.MinRuns calls have run and the
// Student-t interval at opts.Confidence has a half-width no larger than
// opts.RelHalfWidth × mean, or until MaxRuns, MaxDuration or ctx stops it.
//
// An error from fn stops timing; it is returned wrapped with the run that
// failed, together with the summary of the calls timed so far. When ctx is
// done the summary so far is returned with ctx's error, wrapped.
func Time(ctx context.Context, opts TimingOptions, fn func() error) (Summary, error) {
	return timeWith(ctx, opts, fn, time.Now)
}

// TimeInterleaved times several calls side by side: after opts.Warmup
// untimed calls of each, every round runs each fn once, in an order that
// rotates by one from round to round, so a burst of load from other jobs
// falls on all of them alike and their ratios hold even when the machine
// is busy. It stops when at least opts.MinRuns rounds have run and every
// fn's interval meets the rule of [Time], or at MaxRuns rounds,
// MaxDuration or when ctx is done. Summaries are in the order of fns,
// each with its own stop reason and warnings.
func TimeInterleaved(ctx context.Context, opts TimingOptions, fns []func() error) ([]Summary, error) {
	return timeInterleavedWith(ctx, opts, fns, time.Now)
}

func timeInterleavedWith(ctx context.Context, opts TimingOptions, fns []func() error, now func() time.Time) ([]Summary, error) {
	opts, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	for k, fn := range fns {
		for i := 0; i < opts.Warmup; i++ {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("timing interrupted during warmup: %w", err)
			}
			if err := fn(); err != nil {
				return nil, fmt.Errorf("call %d: warmup run %d: %w", k, i+1, err)
			}
		}
	}
	n := len(fns)
	samples := make([][]float64, n)
	acc := make([]running, n)
	z := distuv.UnitNormal.Quantile(1 - (1-opts.Confidence)/2)
	start := now()
	reason := ""
	var runErr error
	for round := 0; reason == "" && n > 0; round++ {
		if err := ctx.Err(); err != nil {
			reason, runErr = StopCanceled, fmt.Errorf("timing interrupted after %d rounds: %w", round, err)
			break
		}
		for i := range n {
			k := (i + round) % n
			t0 := now()
			err := fns[k]()
			elapsed := now().Sub(t0)
			if err != nil {
				reason, runErr = StopError, fmt.Errorf("call %d: timed run %d: %w", k, round+1, err)
				break
			}
			ms := float64(elapsed) / float64(time.Millisecond)
			samples[k] = append(samples[k], ms)
			acc[k].add(ms)
		}
		if reason != "" {
			break
		}
		all := round+1 >= opts.MinRuns
		for k := range acc {
			all = all && acc[k].within(z, opts.Confidence, opts.RelHalfWidth)
		}
		switch {
		case all:
			reason = StopConverged
		case round+1 >= opts.MaxRuns:
			reason = StopMaxRuns
		case opts.MaxDuration > 0 && now().Sub(start) >= opts.MaxDuration:
			reason = StopMaxDuration
		}
	}
	out := make([]Summary, n)
	for k := range out {
		s := Summarize(samples[k], opts.Confidence)
		s.StopReason = reason
		s.Converged = s.Within(opts.RelHalfWidth) && s.N >= opts.MinRuns
		if !s.Converged && s.N > 0 {
			s.Warnings = append(s.Warnings, fmt.Sprintf("did not converge after %d runs: half-width %.1f%% of mean (target %.1f%%)",
				s.N, 100*s.RelHalfWidth, 100*opts.RelHalfWidth))
		}
		switch reason {
		case StopMaxDuration:
			s.Warnings = append(s.Warnings, fmt.Sprintf("stopped by the time limit of %v", opts.MaxDuration))
		case StopMaxRuns:
			s.Warnings = append(s.Warnings, fmt.Sprintf("stopped by the run limit of %d", opts.MaxRuns))
		}
		out[k] = s
	}
	return out, runErr
}

// timeWith is Time with the clock passed in, so tests can script durations
// instead of asserting anything about the speed of the machine.
func timeWith(ctx context.Context, opts TimingOptions, fn func() error, now func() time.Time) (Summary, error) {
	opts, err := opts.normalized()
	if err != nil {
		return Summary{}, err
	}
	for i := 0; i < opts.Warmup; i++ {
		if err := ctx.Err(); err != nil {
			return Summary{Confidence: opts.Confidence, StopReason: StopCanceled},
				fmt.Errorf("timing interrupted during warmup: %w", err)
		}
		if err := fn(); err != nil {
			return Summary{Confidence: opts.Confidence, StopReason: StopError},
				fmt.Errorf("warmup run %d: %w", i+1, err)
		}
	}

	samples := make([]float64, 0, min(opts.MaxRuns, 64))
	var acc running
	// The normal quantile is below the Student-t one for every degree of
	// freedom, so an interval that fails with it fails with t as well; this
	// skips the (slower) t quantile while far from convergence.
	z := distuv.UnitNormal.Quantile(1 - (1-opts.Confidence)/2)
	start := now()
	reason := ""
	var runErr error
	for reason == "" {
		if err := ctx.Err(); err != nil {
			reason, runErr = StopCanceled, fmt.Errorf("timing interrupted after %d runs: %w", len(samples), err)
			break
		}
		t0 := now()
		err := fn()
		elapsed := now().Sub(t0)
		if err != nil {
			reason, runErr = StopError, fmt.Errorf("timed run %d: %w", len(samples)+1, err)
			break
		}
		ms := float64(elapsed) / float64(time.Millisecond)
		samples = append(samples, ms)
		acc.add(ms)
		n := len(samples)
		switch {
		case n >= opts.MinRuns && acc.within(z, opts.Confidence, opts.RelHalfWidth):
			reason = StopConverged
		case n >= opts.MaxRuns:
			reason = StopMaxRuns
		case opts.MaxDuration > 0 && now().Sub(start) >= opts.MaxDuration:
			reason = StopMaxDuration
		}
	}

	s := Summarize(samples, opts.Confidence)
	s.StopReason = reason
	s.Converged = reason == StopConverged
	if !s.Converged && s.N > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("did not converge after %d runs: half-width %.1f%% of mean (target %.1f%%)",
			s.N, 100*s.RelHalfWidth, 100*opts.RelHalfWidth))
	}
	switch reason {
	case StopMaxDuration:
		s.Warnings = append(s.Warnings, fmt.Sprintf("stopped by the time limit of %v", opts.MaxDuration))
	case StopMaxRuns:
		s.Warnings = append(s.Warnings, fmt.Sprintf("stopped by the run limit of %d", opts.MaxRuns))
	}
	if s.N < opts.MinRuns && reason != StopError && reason != StopCanceled {
		s.Warnings = append(s.Warnings, fmt.Sprintf("only %d runs, fewer than the minimum of %d", s.N, opts.MinRuns))
	}
	return s, runErr
}

// running keeps Welford's running mean and variance, so the stopping rule
// costs O(1) per call instead of a pass over all samples.
type running struct {
	n    int
	mean float64
	m2   float64
}

func (r *running) add(x float64) {
	r.n++
	d := x - r.mean
	r.mean += d / float64(r.n)
	r.m2 += d * (x - r.mean)
}

// within reports whether the interval's half-width is at most rel × mean.
func (r *running) within(z, confidence, rel float64) bool {
	if r.n < 2 {
		return false
	}
	se := math.Sqrt(r.m2/float64(r.n-1)) / math.Sqrt(float64(r.n))
	target := rel * r.mean
	if z*se > target {
		return false
	}
	return tQuantile(confidence, r.n-1)*se <= target
}

// tQuantile is the two-sided Student-t critical value for the given
// confidence and degrees of freedom.
func tQuantile(confidence float64, df int) float64 {
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}
	return t.Quantile(1 - (1-confidence)/2)
}
