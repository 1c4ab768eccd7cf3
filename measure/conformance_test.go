package measure

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// conformanceRoot builds one fake tree in which every registered meter can
// open: TX2 rails and a RAPL package zone.
func conformanceRoot(t *testing.T) string {
	root := t.TempDir()
	fakeTX2(t, root, [6]int{900, 800, 100, 4000, 1200, 600})
	fakeRAPLZone(t, root, "0", "package-0", 1_000_000, 262_143_328_850)
	return root
}

// TestMeterConformance runs every registered meter through the same checks
// (restic's pattern): the Start/Stop protocol, non-negative readings, a
// non-empty name, and "not measured" from meters that are not available.
func TestMeterConformance(t *testing.T) {
	for _, k := range meterKinds() {
		t.Run(k.name, func(t *testing.T) {
			opts := MeterOptions{Kind: k.name, SysfsRoot: conformanceRoot(t), RateHz: 200}
			m, err := k.open(opts)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			if m.Name() == "" || m.Name() != k.name {
				t.Errorf("Name() = %q, registered as %q", m.Name(), k.name)
			}
			ctx := context.Background()

			if _, err := m.Stop(); !errors.Is(err, ErrNotStarted) {
				t.Errorf("Stop without Start: err = %v, want ErrNotStarted", err)
			}
			canceled, cancel := context.WithCancel(ctx)
			cancel()
			if err := m.Start(canceled); err == nil {
				t.Errorf("Start with a canceled context succeeded")
				_, _ = m.Stop()
			}

			for round := 1; round <= 2; round++ { // a meter can be reused
				if err := m.Start(ctx); err != nil {
					t.Fatalf("round %d: Start: %v", round, err)
				}
				if err := m.Start(ctx); !errors.Is(err, ErrAlreadyStarted) {
					t.Errorf("round %d: second Start: err = %v, want ErrAlreadyStarted", round, err)
				}
				time.Sleep(20 * time.Millisecond)
				r, err := m.Stop()
				if err != nil {
					t.Fatalf("round %d: Stop: %v", round, err)
				}
				checkReading(t, m, r)
				if _, err := m.Stop(); !errors.Is(err, ErrNotStarted) {
					t.Errorf("round %d: second Stop: err = %v, want ErrNotStarted", round, err)
				}
			}

			idle, err := MeasureIdle(ctx, m, 20*time.Millisecond)
			if m.Available() && (err != nil || idle < 0) {
				t.Errorf("MeasureIdle = %v, %v", idle, err)
			}
			if !m.Available() && !errors.Is(err, ErrNotAvailable) {
				t.Errorf("MeasureIdle on unavailable meter: err = %v, want ErrNotAvailable", err)
			}

			// A context that ends during a measurement must not yield a
			// reading that silently covers only part of the interval.
			runCtx, stopRun := context.WithCancel(ctx)
			if err := m.Start(runCtx); err != nil {
				t.Fatalf("Start: %v", err)
			}
			stopRun()
			time.Sleep(10 * time.Millisecond)
			r, err := m.Stop()
			if m.Available() && !errors.Is(err, context.Canceled) {
				t.Errorf("Stop after cancel: reading %+v, err %v; want context.Canceled", r, err)
			}
			if err := m.Start(ctx); err != nil {
				t.Fatalf("Start after a canceled run: %v", err)
			}
			if _, err := m.Stop(); err != nil {
				t.Errorf("Stop after a canceled run: %v", err)
			}
		})
	}
}

func checkReading(t *testing.T, m Meter, r Reading) {
	t.Helper()
	if r.Meter != m.Name() {
		t.Errorf("reading names meter %q, want %q", r.Meter, m.Name())
	}
	if r.Duration < 0 || r.Samples < 0 || r.Joules < 0 || r.MeanWatts < 0 || r.NetJoules < 0 {
		t.Errorf("negative figure in %+v", r)
	}
	if !m.Available() {
		if r.Measured() || !strings.HasPrefix(r.Status, "not measured: ") {
			t.Errorf("unavailable meter: status %q", r.Status)
		}
		if r.Joules != 0 || r.MeanWatts != 0 || r.NetJoules != 0 || r.Samples != 0 || len(r.Rails) != 0 {
			t.Errorf("unavailable meter invented a figure: %+v", r)
		}
		return
	}
	if r.Status != StatusMeasured {
		t.Errorf("status %q, want %q", r.Status, StatusMeasured)
	}
	if r.Samples < 2 { // one at Start, one at Stop
		t.Errorf("samples = %d, want at least 2", r.Samples)
	}
	if r.NetJoules != r.Joules || r.IdleWatts != 0 {
		t.Errorf("no idle deducted yet, but net %v != joules %v (idle %v)", r.NetJoules, r.Joules, r.IdleWatts)
	}
}

func TestNoneStatus(t *testing.T) {
	m := NewNone()
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := m.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if want := "not measured: no energy meter on this platform"; r.Status != want {
		t.Errorf("status %q, want %q", r.Status, want)
	}
	if got := r.DeductIdle(2); got.NetJoules != 0 || got.IdleWatts != 0 || got.Status != r.Status {
		t.Errorf("deducting idle from an unmeasured reading invented figures: %+v", got)
	}
}
