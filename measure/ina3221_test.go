package measure

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestINA3221PowerTrace plays a known power trace into a fake sysfs tree —
// 2 W for about 200 ms, then 5 W for about 200 ms — and checks the integral.
//
// Rails: "board" in milliwatts (iio style) and "usb" as millivolts ×
// milliamps (hwmon style) make up the total; "cpu" is a component and must
// not be added.
//
// Tolerance 10%. The expected value uses the test's own clock readings of
// when the step happened, so scheduling delays move both sides together.
// What remains is (a) the sample interval that straddles the step, where
// the trapezoid spreads the 3 W jump over one sampling gap — 1 ms nominal,
// but a loaded 2-core machine can stall the sampler for tens of
// milliseconds: a 40 ms stall costs 3 W × 20 ms = 0.06 J of ~1.4 J (4%);
// and (b) the few microseconds between Start's first sample and the test's
// clock read. 10% covers a stall of about 90 ms while still catching unit
// errors (×1000), a missed rail (−30%..−50%), a counted component (+50%)
// or a rectangle rule on stale samples over a long gap.
func TestINA3221PowerTrace(t *testing.T) {
	root := t.TempDir()
	const (
		board = "/sys/fake/iio:device0/in_power0_input"
		usbV  = "/sys/class/hwmon/hwmon3/in1_input"
		usbI  = "/sys/class/hwmon/hwmon3/curr1_input"
		cpu   = "/sys/fake/iio:device0/in_power1_input"
	)
	setPhase := func(boardMW, usbMA string) error {
		if err := writeAtomic(filepath.Join(root, board), boardMW); err != nil {
			return err
		}
		return writeAtomic(filepath.Join(root, usbI), usbMA)
	}
	writeFile(t, root, board, "1000\n") // 1 W
	writeFile(t, root, usbV, "5000\n")  // 5 V ...
	writeFile(t, root, usbI, "200\n")   // ... × 0.2 A = 1 W; total 2 W
	writeFile(t, root, cpu, "700\n")    // component, 0.7 W throughout
	m, err := NewMeter(MeterOptions{Kind: KindINA3221, SysfsRoot: root, Rails: []Rail{
		{Name: "board", PowerFile: board},
		{Name: "usb", VoltageFile: usbV, CurrentFile: usbI},
		{Name: "cpu", PowerFile: cpu, Component: true},
	}})
	if err != nil {
		t.Fatal(err)
	}

	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	step := make(chan time.Time, 1)
	errc := make(chan error, 1)
	// Phases of half a second keep a scheduler stall of ~100 ms on a loaded
	// 2-core machine (seen in CI-like runs) under 5% of the energy.
	stepBefore := make(chan time.Time, 1)
	go func() { // the power trace
		time.Sleep(500 * time.Millisecond)
		stepBefore <- time.Now()
		err := setPhase("2500\n", "500\n") // 2.5 W + 5 V × 0.5 A = 5 W
		step <- time.Now()
		errc <- err
	}()
	tBefore, tStep := <-stepBefore, <-step
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	t1 := time.Now()
	r, err := m.Stop()
	if err != nil {
		t.Fatal(err)
	}

	// The step happened somewhere between tBefore and tStep (two files are
	// written), so the expected energy is a range; 10% is allowed beyond it.
	lo := 2*tStep.Sub(t0).Seconds() + 5*t1.Sub(tStep).Seconds()
	hi := 2*tBefore.Sub(t0).Seconds() + 5*t1.Sub(tBefore).Seconds()
	t.Logf("%d samples over %v; %.4f J, expected %.4f..%.4f J", r.Samples, r.Duration, r.Joules, lo, hi)
	if r.Joules < 0.9*lo || r.Joules > 1.1*hi {
		t.Errorf("joules %.4f, want %.4f..%.4f ± 10%%", r.Joules, lo, hi)
	}
	if r.MeanWatts < 2 || r.MeanWatts > 5 {
		t.Errorf("mean power %.3f W outside the trace's 2..5 W", r.MeanWatts)
	}
	if r.Duration < t1.Sub(t0) {
		t.Errorf("duration %v shorter than the interval %v between Start and Stop", r.Duration, t1.Sub(t0))
	}
	if r.Samples < 3 {
		t.Errorf("%d samples; the sampler never ran", r.Samples)
	}
	if len(r.Rails) != 3 {
		t.Fatalf("rails %+v", r.Rails)
	}
	cpuRail := r.Rails[2]
	if cpuRail.Counted || math.Abs(cpuRail.Joules-0.7*r.Duration.Seconds()) > 1e-9 {
		t.Errorf("component rail %+v: want uncounted, 0.7 W × %v exactly", cpuRail, r.Duration)
	}
	if sum := r.Rails[0].Joules + r.Rails[1].Joules; math.Abs(sum-r.Joules) > 1e-9 {
		t.Errorf("counted rails sum to %v, total %v", sum, r.Joules)
	}
}

// The integrator is tested on scripted sample times and values, so the
// trapezoid and the bridging of failed reads are checked exactly.
func TestIntegratorTrapezoid(t *testing.T) {
	type step struct {
		at    time.Duration
		watts float64
		fail  bool
	}
	tests := []struct {
		name     string
		steps    []step
		want     float64
		wantN    int
		wantErrs int
		wantDur  time.Duration
	}{
		{"ramp", []step{{0, 0, false}, {time.Second, 2, false}}, 1, 2, 0, time.Second},
		{"constant, uneven gaps", []step{{0, 3, false}, {time.Millisecond, 3, false}, {50 * time.Millisecond, 3, false}, {2 * time.Second, 3, false}}, 6, 4, 0, 2 * time.Second},
		{"step", []step{{0, 2, false}, {100 * time.Millisecond, 2, false}, {101 * time.Millisecond, 5, false}, {200 * time.Millisecond, 5, false}},
			0.2 + 0.0035 + 0.495, 4, 0, 200 * time.Millisecond},
		{"failed read bridged", []step{{0, 1, false}, {time.Second, 99, true}, {2 * time.Second, 3, false}}, 4, 2, 1, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			in := &integrator{joules: make([]float64, 1), read: func(dst []float64) error {
				s := tc.steps[i]
				if s.fail {
					return errors.New("EIO")
				}
				dst[0] = s.watts
				return nil
			}}
			base := time.Unix(1000, 0)
			for i = range tc.steps {
				_ = in.sample(base.Add(tc.steps[i].at))
			}
			if math.Abs(in.joules[0]-tc.want) > 1e-12 || in.n != tc.wantN || in.errs != tc.wantErrs || in.last.Sub(in.first) != tc.wantDur {
				t.Errorf("joules %v n %d errs %d dur %v; want %v %d %d %v",
					in.joules[0], in.n, in.errs, in.last.Sub(in.first), tc.want, tc.wantN, tc.wantErrs, tc.wantDur)
			}
		})
	}
}

func TestINA3221DefaultRails(t *testing.T) {
	tests := []struct {
		name        string
		mw          [6]int
		wantRails   []string
		wantCounted []string
	}{
		{"TX2", [6]int{1, 2, 3, 4, 5, 6},
			[]string{"VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_4V0_WIFI", "VDD_IN", "VDD_SYS_CPU", "VDD_SYS_DDR"}, []string{"VDD_IN"}},
		{"TX2i has no WIFI rail", [6]int{1, 2, -1, 4, 5, 6},
			[]string{"VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_IN", "VDD_SYS_CPU", "VDD_SYS_DDR"}, []string{"VDD_IN"}},
		{"no input rail: count the components", [6]int{1, 2, 3, -1, -1, -1},
			[]string{"VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_4V0_WIFI"}, []string{"VDD_SYS_GPU", "VDD_SYS_SOC", "VDD_4V0_WIFI"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			fakeTX2(t, root, tc.mw)
			m, err := NewINA3221(MeterOptions{SysfsRoot: root})
			if err != nil {
				t.Fatal(err)
			}
			var names, counted []string
			for _, r := range m.Rails() {
				names = append(names, r.Name)
				if !r.Component {
					counted = append(counted, r.Name)
				}
				if !strings.HasPrefix(r.PowerFile, root) {
					t.Errorf("rail path %s not under the root", r.PowerFile)
				}
			}
			if !reflect.DeepEqual(names, tc.wantRails) || !reflect.DeepEqual(counted, tc.wantCounted) {
				t.Errorf("rails %v counted %v; want %v counted %v", names, counted, tc.wantRails, tc.wantCounted)
			}
		})
	}
}

func TestDiscoverHwmonRails(t *testing.T) {
	hw := func(t *testing.T, root, dev, name string, labels []string) {
		writeFile(t, root, hwmonClass+"/"+dev+"/name", name+"\n")
		for i, l := range labels {
			ch := string(rune('1' + i))
			writeFile(t, root, hwmonClass+"/"+dev+"/in"+ch+"_input", "5000\n")
			writeFile(t, root, hwmonClass+"/"+dev+"/curr"+ch+"_input", "100\n")
			if l != "" {
				writeFile(t, root, hwmonClass+"/"+dev+"/in"+ch+"_label", l+"\n")
			}
		}
	}
	t.Run("Orin Nano style with input rail", func(t *testing.T) {
		root := t.TempDir()
		hw(t, root, "hwmon0", "coretemp", []string{"x"}) // not an ina3221
		hw(t, root, "hwmon1", "ina3221", []string{"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"})
		writeFile(t, root, hwmonClass+"/hwmon1/in3_enable", "0\n") // disabled channel
		rails, err := DiscoverHwmonRails(root)
		if err != nil {
			t.Fatal(err)
		}
		want := []Rail{
			{Name: "VDD_IN", VoltageFile: "/sys/class/hwmon/hwmon1/in1_input", CurrentFile: "/sys/class/hwmon/hwmon1/curr1_input"},
			{Name: "VDD_CPU_GPU_CV", VoltageFile: "/sys/class/hwmon/hwmon1/in2_input", CurrentFile: "/sys/class/hwmon/hwmon1/curr2_input", Component: true},
		}
		if !reflect.DeepEqual(rails, want) {
			t.Errorf("rails\n%+v\nwant\n%+v", rails, want)
		}
		// And the meter reads them: 5 V × 0.1 A = 0.5 W on VDD_IN.
		m, err := NewINA3221(MeterOptions{SysfsRoot: root})
		if err != nil {
			t.Fatal(err)
		}
		idle, err := MeasureIdle(context.Background(), m, 20*time.Millisecond)
		if err != nil || math.Abs(idle-0.5) > 1e-9 {
			t.Errorf("idle = %v, %v; want 0.5 W", idle, err)
		}
	})
	t.Run("no input rail, unlabelled and NC channels", func(t *testing.T) {
		root := t.TempDir()
		hw(t, root, "hwmon2", "ina3221", []string{"GPU", "", "NC"})
		rails, err := DiscoverHwmonRails(root)
		if err != nil {
			t.Fatal(err)
		}
		if len(rails) != 2 || rails[0].Name != "GPU" || rails[1].Name != "hwmon2/in2" || rails[0].Component || rails[1].Component {
			t.Errorf("rails %+v", rails)
		}
	})
}

func TestNewINA3221Errors(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "/sys/x/in_power0_input", "not a number\n")
	writeFile(t, root, "/sys/x/in1_input", "5000\n")
	tests := []struct {
		name   string
		rails  []Rail
		errHas string
	}{
		{"no files", []Rail{{Name: "a"}}, "needs a power file"},
		{"both kinds", []Rail{{Name: "a", PowerFile: "/p", VoltageFile: "/v"}}, "not both"},
		{"voltage without current", []Rail{{Name: "a", VoltageFile: "/sys/x/in1_input"}}, "needs a power file"},
		{"missing current file", []Rail{{Name: "a", VoltageFile: "/sys/x/in1_input", CurrentFile: "/sys/x/curr1_input"}}, "/sys/x/curr1_input"},
		{"garbage value", []Rail{{Name: "a", PowerFile: "/sys/x/in_power0_input"}}, "in_power0_input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewINA3221(MeterOptions{SysfsRoot: root, Rails: tc.rails})
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("err = %v, want one containing %q", err, tc.errHas)
			}
		})
	}
}
