package experiments

import (
	"path/filepath"
	"testing"

	"github.com/modelpick/modelpick/device"
)

// TestRecordNewKeepsEarlierModels: make measure once replaced the single
// models' latencies when a later chain (the frontier's committees) was
// measured, so the experiments that ran earlier in the session had cache
// keys, and recorded decision times, that a recorded run never met again.
func TestRecordNewKeepsEarlierModels(t *testing.T) {
	p := device.New(filepath.Join(t.TempDir(), "dev.json"))
	a := device.Model{Model: "a", Files: []string{"fa"}, Threads: 1, MeanMS: 1}
	recordNew(p, []device.Model{a})
	recordNew(p, []device.Model{
		{Model: "a", Files: []string{"fa"}, Threads: 1, MeanMS: 2},
		{Model: "a+b", Files: []string{"fa", "fb"}, Threads: 1, MeanMS: 3},
	})
	for name, want := range map[string]float64{"a": 1, "a+b": 3} {
		m, err := p.ModelCost(name, map[string][]string{"a": {"fa"}, "a+b": {"fa", "fb"}}[name], 1)
		if err != nil {
			t.Fatal(err)
		}
		if m.MeanMS != want {
			t.Errorf("%s: recorded %.0f ms, want %.0f (the first measurement in the session)", name, m.MeanMS, want)
		}
	}
}

func TestWorseDrift(t *testing.T) {
	lo, hi := &device.Drift{MaxRelOrder: 0.02}, &device.Drift{MaxRelOrder: 0.09}
	if worseDrift(nil, lo) != lo || worseDrift(lo, hi) != hi || worseDrift(hi, lo) != hi {
		t.Error("worseDrift must keep the larger order drift")
	}
}
