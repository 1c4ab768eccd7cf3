package measure

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDeductIdle(t *testing.T) {
	measured := Reading{Meter: "x", Joules: 10, MeanWatts: 5, Duration: 2 * time.Second, Status: StatusMeasured}
	tests := []struct {
		name    string
		in      Reading
		idle    float64
		wantNet float64
	}{
		{"1.5 W idle over 2 s", measured, 1.5, 7},
		{"no idle", measured, 0, 10},
		// Kept negative: clamping at zero would bias averages of many
		// short runs upwards.
		{"idle above the run", measured, 6, -2},
		{"250 ms at 4 W idle", Reading{Joules: 1.25, Duration: 250 * time.Millisecond, Status: StatusMeasured}, 4, 0.25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.DeductIdle(tc.idle)
			if math.Abs(got.NetJoules-tc.wantNet) > 1e-12 || got.IdleWatts != tc.idle || got.Joules != tc.in.Joules {
				t.Errorf("got net %v idle %v joules %v, want net %v", got.NetJoules, got.IdleWatts, got.Joules, tc.wantNet)
			}
		})
	}
}

func TestMeterKindsOrder(t *testing.T) {
	if got, want := MeterKinds(), []string{KindINA3221, KindRAPL, KindNone}; !reflect.DeepEqual(got, want) {
		t.Errorf("MeterKinds() = %v, want %v", got, want)
	}
}

func TestNewMeterChoosesKind(t *testing.T) {
	tx2 := t.TempDir()
	fakeTX2(t, tx2, [6]int{1, 1, 1, 1, 1, 1})
	rapl := t.TempDir()
	fakeRAPLZone(t, rapl, "0", "package-0", 5, 100)
	both := t.TempDir()
	fakeTX2(t, both, [6]int{1, 1, 1, 1, 1, 1})
	fakeRAPLZone(t, both, "0", "package-0", 5, 100)
	empty := t.TempDir()

	tests := []struct {
		name     string
		opts     MeterOptions
		wantKind string
		errHas   string // "" for success
	}{
		{"auto finds TX2 rails", MeterOptions{SysfsRoot: tx2}, KindINA3221, ""},
		{"auto prefers INA3221 over RAPL", MeterOptions{Kind: KindAuto, SysfsRoot: both}, KindINA3221, ""},
		{"auto falls back to RAPL", MeterOptions{SysfsRoot: rapl}, KindRAPL, ""},
		{"auto falls back to none", MeterOptions{SysfsRoot: empty}, KindNone, ""},
		{"explicit rapl", MeterOptions{Kind: KindRAPL, SysfsRoot: both}, KindRAPL, ""},
		{"explicit none", MeterOptions{Kind: KindNone, SysfsRoot: both}, KindNone, ""},
		{"explicit ina3221 missing names the path", MeterOptions{Kind: KindINA3221, SysfsRoot: empty}, "",
			"0-0041/iio:device1/in_power0_input"},
		{"explicit rapl missing names the path", MeterOptions{Kind: KindRAPL, SysfsRoot: empty}, "",
			"/sys/class/powercap/intel-rapl:*"},
		{"explicit rail missing names the path", MeterOptions{Kind: KindINA3221, SysfsRoot: tx2,
			Rails: []Rail{{Name: "VDD_IN", PowerFile: "/sys/nope/in_power0_input"}}}, "", "/sys/nope/in_power0_input"},
		{"unknown kind", MeterOptions{Kind: "joulescope"}, "", `unknown kind "joulescope"`},
		{"negative rate", MeterOptions{RateHz: -1}, "", "negative rate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMeter(tc.opts)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Name() != tc.wantKind {
				t.Errorf("kind %q, want %q", m.Name(), tc.wantKind)
			}
			if tc.opts.Kind == "" || tc.opts.Kind == KindAuto {
				if d := DetectMeter(tc.opts); d.Name() != m.Name() {
					t.Errorf("DetectMeter chose %q, NewMeter %q", d.Name(), m.Name())
				}
			}
		})
	}
}

// With constant power the trapezoid rule is exact whatever the sample
// times, so these figures are checked to rounding error.
func TestMeasureEnergyAndIdleConstantPower(t *testing.T) {
	root := t.TempDir()
	fakeTX2(t, root, [6]int{500, 400, 100, 3000, 900, 300}) // VDD_IN = 3 W
	m, err := NewMeter(MeterOptions{Kind: KindINA3221, SysfsRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	idle, err := MeasureIdle(ctx, m, 30*time.Millisecond)
	if err != nil || math.Abs(idle-3) > 1e-9 {
		t.Fatalf("idle = %v, %v; want 3 W", idle, err)
	}
	r, err := MeasureEnergy(ctx, m, 1, func() error { time.Sleep(30 * time.Millisecond); return nil })
	if err != nil {
		t.Fatal(err)
	}
	sec := r.Duration.Seconds()
	if math.Abs(r.Joules-3*sec) > 1e-9 || math.Abs(r.NetJoules-2*sec) > 1e-9 || r.IdleWatts != 1 || math.Abs(r.MeanWatts-3) > 1e-9 {
		t.Errorf("reading %+v: want joules 3×%v s, net 2×%v s", r, sec, sec)
	}
	if len(r.Rails) != 6 {
		t.Fatalf("rails %+v, want the six TX2 rails", r.Rails)
	}
	for _, rail := range r.Rails {
		if rail.Counted != (rail.Name == "VDD_IN") {
			t.Errorf("rail %s counted=%v; only VDD_IN feeds the total", rail.Name, rail.Counted)
		}
	}

	// An error from the measured call is returned and the meter is stopped.
	boom := errors.New("boom")
	if _, err := MeasureEnergy(ctx, m, 1, func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
	if err := m.Start(ctx); err != nil {
		t.Errorf("meter left running after a failed call: %v", err)
	} else {
		_, _ = m.Stop()
	}
}

func TestMeasureEnergyWithoutMeter(t *testing.T) {
	ran := false
	r, err := MeasureEnergy(context.Background(), NewNone(), 1.5, func() error { ran = true; return nil })
	if err != nil || !ran {
		t.Fatalf("err=%v ran=%v", err, ran)
	}
	if r.Measured() || r.Joules != 0 || r.NetJoules != 0 || r.IdleWatts != 0 {
		t.Errorf("reading %+v invents figures", r)
	}
}

func TestMeasureIdleCanceled(t *testing.T) {
	root := t.TempDir()
	fakeTX2(t, root, [6]int{1, 1, 1, 1, 1, 1})
	m, err := NewINA3221(MeterOptions{SysfsRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := MeasureIdle(ctx, m, time.Minute); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, err := MeasureIdle(context.Background(), m, 0); err == nil {
		t.Errorf("zero duration accepted")
	}
}
