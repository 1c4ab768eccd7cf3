package measure

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCounterDelta(t *testing.T) {
	const maxUJ = 262_143_328_850 // a common max_energy_range_uj
	tests := []struct {
		name            string
		prev, cur, want uint64
	}{
		{"no change", 5, 5, 0},
		{"forward", 1_000, 4_500, 3_500},
		{"wrap", maxUJ - 100, 400, 500},
		{"wrap to zero", maxUJ - 1, 0, 1},
		{"previous above range (reset)", maxUJ + 10, 7, 7},
	}
	for _, tc := range tests {
		if got := counterDelta(tc.prev, tc.cur, maxUJ); got != tc.want {
			t.Errorf("%s: delta(%d, %d) = %d, want %d", tc.name, tc.prev, tc.cur, got, tc.want)
		}
	}
}

// RAPL counters are cumulative, so given the values written and the polls
// that observed them the energy is known exactly, wrap-arounds included.
func TestRAPLWrapAroundExact(t *testing.T) {
	const maxUJ = 10_000_000 // a 10 J range makes wraps easy to script
	root := t.TempDir()
	pkg := fakeRAPLZone(t, root, "0", "package-0", 9_000_000, maxUJ)
	core := fakeRAPLZone(t, root, "0:0", "core", 100, maxUJ)
	dram := fakeRAPLZone(t, root, "0:1", "dram", 1_000, maxUJ)
	psys := fakeRAPLZone(t, root, "1", "psys", 0, maxUJ)

	m, err := NewRAPL(MeterOptions{SysfsRoot: root, RateHz: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Each value is polled explicitly; the background poller may observe
	// more often, which splits intervals but cannot change the sum.
	for _, uj := range []uint64{9_900_000, 300_000 /* wrap */, 9_950_000, 50_000 /* wrap again */} {
		setCounter(t, pkg, uj)
		if err := m.st.poll(); err != nil {
			t.Fatal(err)
		}
	}
	setCounter(t, core, 2_100)
	setCounter(t, dram, 2_001_000)
	setCounter(t, psys, 5_000_000)
	r, err := m.Stop()
	if err != nil {
		t.Fatal(err)
	}
	// package: 0.9 J, then (10 − 9.9) + 0.3 = 0.4 J, then 9.65 J, then
	// (10 − 9.95) + 0.05 = 0.1 J: 11.05 J. dram: 2 J. core (part of the
	// package) and psys (overlaps the packages) are not counted.
	if want := 13.05; r.Joules != want {
		t.Errorf("joules = %v, want exactly %v", r.Joules, want)
	}
	wantRails := map[string]struct {
		j       float64
		counted bool
	}{
		"package-0": {11.05, true}, "core": {0.002, false}, "dram": {2, true}, "psys": {5, false},
	}
	for _, z := range r.Rails {
		w, ok := wantRails[z.Name]
		if !ok || math.Abs(z.Joules-w.j) > 1e-12 || z.Counted != w.counted {
			t.Errorf("zone %+v, want %+v", z, w)
		}
	}
	if len(r.Rails) != len(wantRails) || r.Samples < 6 || r.Status != StatusMeasured {
		t.Errorf("reading %+v", r)
	}
}

// A single wrap between Start and Stop needs no intermediate poll at all.
func TestRAPLSingleWrapWithoutPolls(t *testing.T) {
	root := t.TempDir()
	pkg := fakeRAPLZone(t, root, "0", "package-0", 999_000, 1_000_000)
	m, err := NewRAPL(MeterOptions{SysfsRoot: root, RateHz: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	setCounter(t, pkg, 2_000)
	r, err := m.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if r.Joules != 0.003 { // 1,000 µJ to the wrap and 2,000 after it
		t.Errorf("joules = %v, want 0.003", r.Joules)
	}
}

func TestRAPLWithoutPackageZonesCountsTopLevel(t *testing.T) {
	root := t.TempDir()
	fakeRAPLZone(t, root, "0", "psys", 0, 1_000_000)
	fakeRAPLZone(t, root, "0:0", "core", 0, 1_000_000)
	m, err := NewRAPL(MeterOptions{SysfsRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	if !m.zones[0].counted || m.zones[1].counted {
		t.Errorf("zones %+v: want psys counted, core not", m.zones)
	}
}

func TestNewRAPLErrors(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, root string)
		errHas string
	}{
		{"no zones", func(*testing.T, string) {}, "/sys/class/powercap/intel-rapl:*"},
		{"no range file", func(t *testing.T, root string) {
			fakeRAPLZone(t, root, "0", "package-0", 1, 2)
			if err := os.Remove(filepath.Join(root, powercapClass, "intel-rapl:0", "max_energy_range_uj")); err != nil {
				t.Fatal(err)
			}
		}, "max_energy_range_uj"},
		{"unreadable counter", func(t *testing.T, root string) {
			// A folder in place of the file fails to read even as root,
			// unlike a chmod.
			writeFile(t, root, powercapClass+"/intel-rapl:0/name", "package-0\n")
			writeFile(t, root, powercapClass+"/intel-rapl:0/max_energy_range_uj", "100\n")
			if err := os.MkdirAll(filepath.Join(root, powercapClass, "intel-rapl:0", "energy_uj"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "energy_uj"},
		{"garbage counter", func(t *testing.T, root string) {
			fakeRAPLZone(t, root, "0", "package-0", 1, 2)
			writeFile(t, root, powercapClass+"/intel-rapl:0/energy_uj", "-5\n")
		}, "energy_uj"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.setup(t, root)
			_, err := NewRAPL(MeterOptions{SysfsRoot: root})
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("err = %v, want one containing %q", err, tc.errHas)
			}
		})
	}
}
