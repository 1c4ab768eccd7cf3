package measure

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeClock is advanced by the timed function itself, so each run "takes"
// exactly the scripted duration whatever the machine is doing.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func alternating(a, b time.Duration) func(int) time.Duration {
	return func(i int) time.Duration {
		if i%2 == 0 {
			return a
		}
		return b
	}
}

func TestTimeStoppingRules(t *testing.T) {
	ms := time.Millisecond
	sentinel := errors.New("inference failed")
	tests := []struct {
		name     string
		opts     TimingOptions
		dur      func(i int) time.Duration // duration of timed run i (0-based)
		cancelAt int                       // cancel ctx during this timed run (1-based), 0: never
		failAt   int                       // fail this timed run (1-based), 0: never
		wantN    int
		reason   string
		wantErr  error
		warn     string // substring of some warning, "" for no warnings
	}{
		{
			name:   "constant converges at MinRuns",
			opts:   TimingOptions{MinRuns: 5, MaxRuns: 100},
			dur:    func(int) time.Duration { return 10 * ms },
			wantN:  5,
			reason: StopConverged,
		},
		{
			name:   "wild never converges, stops at MaxRuns",
			opts:   TimingOptions{MinRuns: 5, MaxRuns: 50},
			dur:    alternating(1*ms, 100*ms),
			wantN:  50,
			reason: StopMaxRuns,
			warn:   "did not converge after 50 runs: half-width",
		},
		{
			// cumulative 1, 101, 102, 202, 203, 303 ms: the sixth run passes 205 ms.
			name:   "MaxDuration stops it",
			opts:   TimingOptions{MinRuns: 5, MaxRuns: 100, MaxDuration: 205 * ms},
			dur:    alternating(1*ms, 100*ms),
			wantN:  6,
			reason: StopMaxDuration,
			warn:   "time limit",
		},
		{
			name:   "MaxDuration before MinRuns warns",
			opts:   TimingOptions{MinRuns: 10, MaxRuns: 100, MaxDuration: 25 * ms},
			dur:    func(int) time.Duration { return 10 * ms },
			wantN:  3,
			reason: StopMaxDuration,
			warn:   "only 3 runs, fewer than the minimum of 10",
		},
		{
			name:     "context cancel",
			opts:     TimingOptions{MinRuns: 5, MaxRuns: 100},
			dur:      alternating(1*ms, 100*ms),
			cancelAt: 4,
			wantN:    4,
			reason:   StopCanceled,
			wantErr:  context.Canceled,
		},
		{
			name:    "fn error stops and is wrapped",
			opts:    TimingOptions{MinRuns: 5, MaxRuns: 100},
			dur:     func(int) time.Duration { return ms },
			failAt:  3,
			wantN:   2,
			reason:  StopError,
			wantErr: sentinel,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			clk := &fakeClock{t: time.Unix(0, 0)}
			run := 0
			s, err := timeWith(ctx, tc.opts, func() error {
				run++
				if run == tc.failAt {
					return sentinel
				}
				if run == tc.cancelAt {
					cancel()
				}
				clk.advance(tc.dur(run - 1))
				return nil
			}, clk.now)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.failAt > 0 && !strings.Contains(err.Error(), "timed run 3") {
				t.Errorf("error %q does not name the failing run", err)
			}
			if s.N != tc.wantN || s.StopReason != tc.reason {
				t.Errorf("N=%d reason=%q, want N=%d reason=%q", s.N, s.StopReason, tc.wantN, tc.reason)
			}
			if s.Converged != (tc.reason == StopConverged) {
				t.Errorf("Converged = %v with reason %q", s.Converged, s.StopReason)
			}
			if tc.warn == "" && tc.reason == StopConverged && len(s.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", s.Warnings)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(s.Warnings, "\n"), tc.warn) {
				t.Errorf("warnings %q lack %q", s.Warnings, tc.warn)
			}
		})
	}
}

// The loop stops at the first n where the interval is within target: the
// summary of the first N samples passes and that of the first N−1 fails.
func TestTimeStopsAtFirstConvergedRun(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	var samples []float64
	durs := []time.Duration{9 * time.Millisecond, 11 * time.Millisecond, 10 * time.Millisecond, 12 * time.Millisecond, 8 * time.Millisecond}
	i := 0
	s, err := timeWith(context.Background(), TimingOptions{MinRuns: 3, MaxRuns: 1000}, func() error {
		d := durs[i%len(durs)]
		i++
		samples = append(samples, float64(d)/float64(time.Millisecond))
		clk.advance(d)
		return nil
	}, clk.now)
	if err != nil || !s.Converged {
		t.Fatalf("err=%v converged=%v", err, s.Converged)
	}
	if !Summarize(samples[:s.N], 0.95).Within(0.05) {
		t.Errorf("first %d samples not within 5%%", s.N)
	}
	if Summarize(samples[:s.N-1], 0.95).Within(0.05) {
		t.Errorf("already within 5%% after %d samples; loop ran one too many", s.N-1)
	}
	if s.RelHalfWidth > 0.05 || math.Abs(s.Mean-10) > 1 {
		t.Errorf("summary %+v", s)
	}
}

func TestTimeWarmupIsNotTimed(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	calls := 0
	s, err := timeWith(context.Background(), TimingOptions{Warmup: 3, MinRuns: 4, MaxRuns: 10}, func() error {
		calls++
		if calls <= 3 {
			clk.advance(time.Second) // cold start
		} else {
			clk.advance(5 * time.Millisecond)
		}
		return nil
	}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3+s.N || s.N != 4 {
		t.Errorf("calls=%d N=%d, want 3 warmup + 4 timed", calls, s.N)
	}
	if s.Max != 5 || s.Mean != 5 {
		t.Errorf("warmup leaked into samples: max %v mean %v", s.Max, s.Mean)
	}
}

func TestTimeWarmupError(t *testing.T) {
	sentinel := errors.New("model failed to load")
	_, err := Time(context.Background(), TimingOptions{Warmup: 2}, func() error { return sentinel })
	if !errors.Is(err, sentinel) || !strings.Contains(err.Error(), "warmup run 1") {
		t.Errorf("err = %v", err)
	}
}

func TestTimeRejectsBadOptions(t *testing.T) {
	tests := []TimingOptions{
		{Confidence: 1.5},
		{Confidence: -0.1},
		{RelHalfWidth: -1},
		{Warmup: -1},
		{MinRuns: -1},
		{MaxRuns: -3},
		{MinRuns: 10, MaxRuns: 5},
		{MaxDuration: -time.Second},
	}
	for _, o := range tests {
		calls := 0
		if _, err := Time(context.Background(), o, func() error { calls++; return nil }); err == nil || calls > 0 {
			t.Errorf("%+v: err=%v calls=%d, want an error before any call", o, err, calls)
		}
	}
}

// On the real clock only consistency is checked, never speed.
func TestTimeRealClock(t *testing.T) {
	opts := DefaultTimingOptions()
	opts.MaxRuns = 200
	x := 0.0
	s, err := Time(context.Background(), opts, func() error {
		for i := range 1000 {
			x += math.Sqrt(float64(i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.N < opts.MinRuns || s.N > opts.MaxRuns {
		t.Errorf("N = %d outside [%d, %d]", s.N, opts.MinRuns, opts.MaxRuns)
	}
	if !(s.Min >= 0 && s.Min <= s.Median && s.Median <= s.Max && s.Min <= s.Mean && s.Mean <= s.Max) {
		t.Errorf("inconsistent summary %+v", s)
	}
	if s.Converged && !s.Within(opts.RelHalfWidth) {
		t.Errorf("converged but final summary not within target: %+v", s)
	}
	if !s.Converged && len(s.Warnings) == 0 {
		t.Errorf("not converged and no warning: %+v", s)
	}
	_ = x
}

func TestSummarizeKnownValues(t *testing.T) {
	s := Summarize([]float64{4, 2, 9, 1, 3, 6, 5, 8, 7, 10}, 0.95)
	// t(0.975, 9) = 2.2621571628 (standard tables).
	wantHW := 2.2621571628 * math.Sqrt(55.0/6) / math.Sqrt(10)
	checks := []struct {
		name      string
		got, want float64
	}{
		{"mean", s.Mean, 5.5},
		{"std", s.Std, math.Sqrt(55.0 / 6)}, // sum of squares 82.5 over 9
		{"median", s.Median, 5.5},
		{"p95", s.P95, 9.55}, // 9 + 0.55 × (10 − 9)
		{"min", s.Min, 1},
		{"max", s.Max, 10},
		{"half width", s.HalfWidth, wantHW},
		{"ci low", s.CILow, 5.5 - wantHW},
		{"ci high", s.CIHigh, 5.5 + wantHW},
		{"rel half width", s.RelHalfWidth, wantHW / 5.5},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-8 {
			t.Errorf("%s = %.10g, want %.10g", c.name, c.got, c.want)
		}
	}
	if s.N != 10 || s.Confidence != 0.95 || len(s.Warnings) != 0 || s.Converged {
		t.Errorf("summary %+v", s)
	}
}

func TestTQuantile(t *testing.T) {
	tests := []struct {
		conf float64
		df   int
		want float64 // standard t tables
	}{
		{0.95, 1, 12.7062047},
		{0.95, 4, 2.7764451},
		{0.95, 30, 2.0422725},
		{0.99, 10, 3.1692727},
		{0.90, 20, 1.7247182},
	}
	for _, tc := range tests {
		if got := tQuantile(tc.conf, tc.df); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("t(%v, %d) = %.7f, want %.7f", tc.conf, tc.df, got, tc.want)
		}
	}
}

func TestSummarizeEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		samples []float64
		conf    float64
		warn    string
		check   func(Summary) bool
	}{
		{"empty", nil, 0.95, "no samples", func(s Summary) bool { return s.N == 0 && s.Mean == 0 }},
		{"one sample", []float64{3}, 0.95, "no confidence interval",
			func(s Summary) bool {
				return s.Mean == 3 && s.CILow == 3 && s.CIHigh == 3 && s.HalfWidth == 0 && !s.Within(1)
			}},
		{"bad confidence", []float64{1, 2, 3}, 2, "used 0.95", func(s Summary) bool { return s.Confidence == 0.95 }},
		{"zero mean", []float64{0, 0, 0}, 0.95, "", func(s Summary) bool { return s.RelHalfWidth == 0 && s.Within(0.05) }},
		{"even median", []float64{1, 2}, 0.95, "", func(s Summary) bool { return s.Median == 1.5 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Summarize(tc.samples, tc.conf)
			if !tc.check(s) {
				t.Errorf("summary %+v", s)
			}
			joined := strings.Join(s.Warnings, "\n")
			if (tc.warn == "") != (joined == "") || !strings.Contains(joined, tc.warn) {
				t.Errorf("warnings %q, want %q", s.Warnings, tc.warn)
			}
			// Every summary must encode: no NaN or Inf anywhere.
			if _, err := json.Marshal(s); err != nil {
				t.Errorf("json: %v", err)
			}
		})
	}
}

func TestSummaryJSONFields(t *testing.T) {
	b, err := json.Marshal(Summarize([]float64{1, 2, 3}, 0.95))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"n":3`, `"mean_ms":2`, `"ci_low_ms"`, `"half_width_ms"`, `"confidence":0.95`, `"converged":false`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s lacks %s", b, key)
		}
	}
}

func TestQuantileSorted(t *testing.T) {
	xs := []float64{10, 20, 30, 40, 50}
	tests := []struct{ p, want float64 }{{0, 10}, {0.5, 30}, {0.25, 20}, {0.95, 48}, {1, 50}}
	for _, tc := range tests {
		if got := quantileSorted(xs, tc.p); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("q(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

// TestTimeInterleaved checks the rotation, the shared stopping rule and the
// per-call summaries on a scripted clock.
func TestTimeInterleaved(t *testing.T) {
	ms := time.Millisecond
	c := &fakeClock{t: time.Unix(0, 0)}
	var calls []int
	mk := func(k int, d func(i int) time.Duration) func() error {
		i := 0
		return func() error {
			calls = append(calls, k)
			c.advance(d(i))
			i++
			return nil
		}
	}
	fast := mk(0, func(int) time.Duration { return 1 * ms })
	// The slow call alternates 9 and 11 ms: its interval needs more runs.
	slow := mk(1, alternating(9*ms, 11*ms))
	sums, err := timeInterleavedWith(context.Background(), TimingOptions{Warmup: 1, MinRuns: 4, MaxRuns: 1000, RelHalfWidth: 0.05},
		[]func() error{fast, slow}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	// Warm-up: 0, 1; then rounds alternate their order: 0 1, 1 0, 0 1, ...
	if want := []int{0, 1, 0, 1, 1, 0, 0, 1}; len(calls) < len(want) || !slices.Equal(calls[:len(want)], want) {
		t.Errorf("call order %v, want it to start %v", calls, want)
	}
	if sums[0].N != sums[1].N || sums[0].N < 4 {
		t.Errorf("runs %d and %d: every call runs once per round, at least MinRuns", sums[0].N, sums[1].N)
	}
	if !sums[0].Converged || !sums[1].Converged || sums[1].StopReason != StopConverged {
		t.Errorf("not converged: %+v", sums)
	}
	if sums[0].Median != 1 || sums[1].Mean < 9 || sums[1].Mean > 11 || sums[1].MedianLow > sums[1].Median || sums[1].MedianHigh < sums[1].Median {
		t.Errorf("summaries %+v", sums)
	}
	// An error stops every call's timing and is returned.
	bad := errors.New("boom")
	_, err = timeInterleavedWith(context.Background(), TimingOptions{MinRuns: 4},
		[]func() error{fast, func() error { return bad }}, c.now)
	if !errors.Is(err, bad) {
		t.Errorf("error %v, want %v", err, bad)
	}
}

// TestMedianCI checks the median's interval on known samples.
func TestMedianCI(t *testing.T) {
	xs := make([]float64, 101)
	for i := range xs {
		xs[i] = float64((i*37)%101 + 1) // 1..101, shuffled
	}
	med, lo, hi := MedianCI(xs)
	// n = 101: ranks floor(50.5 - 9.85) = 40 and ceil(1 + 50.5 + 9.85) = 62.
	if med != 51 || lo != 40 || hi != 62 {
		t.Errorf("median %g [%g, %g], want 51 [40, 62]", med, lo, hi)
	}
	if med, lo, hi := MedianCI([]float64{3, 1}); med != 2 || lo != 1 || hi != 3 {
		t.Errorf("two samples: %g [%g, %g], want 2 [1, 3]", med, lo, hi)
	}
	if med, lo, hi := MedianCI(nil); med != 0 || lo != 0 || hi != 0 {
		t.Errorf("no samples: %g [%g, %g]", med, lo, hi)
	}
}
