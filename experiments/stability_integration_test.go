package experiments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/device"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/store"
)

// TestRecordedProfileRanksStably checks the tie rule on the recorded device
// profile (experiments/device/) and the real ladder's answers on the first
// 150 validation images: with every recorded latency drawn within its 95%
// interval (30 seeded draws), no target, no step of Algorithm 1, no cost
// order and no order of Table 1's models changes. It fails, naming make
// measure, when the profile no longer matches the models or the code.
func TestRecordedProfileRanksStably(t *testing.T) {
	assets := settings.Assets()
	if _, err := os.Stat(assets); err != nil {
		t.Fatalf("shared assets missing at %s (set %s): %v", assets, settings.EnvAssets, err)
	}
	path, err := device.Find("device")
	if err != nil {
		t.Fatal(err)
	}
	p, err := device.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	key, err := DeviceKey(settings.ORTLibrary())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(key); err != nil {
		t.Fatal(err)
	}
	sf, err := inference.ParseSpecFile(filepath.Join("models", "ladder.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := datasets.Load(filepath.Join(assets, "images", "imagenet-val-dev"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "ladder.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := profile.Run(ctx, profile.Options{Specs: sf.Models, Load: inference.Options{Threads: 1, CacheDir: settings.Cache()},
		Set: set, Store: st, Limit: 150, Correctness: true}); err != nil {
		t.Fatal(err)
	}
	for _, s := range sf.Models {
		var files []string
		for j := range s.Files {
			b, err := os.ReadFile(s.FilePath(j))
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256(b)
			files = append(files, "sha256:"+hex.EncodeToString(h[:]))
		}
		m, err := p.ModelCost(s.Name, files, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.PutCost(ctx, store.CostRow{Model: m.Model, Threads: m.Threads, N: m.N, MeanMS: m.MeanMS, CILowMS: m.CILowMS,
			CIHighMS: m.CIHighMS, EnergyStatus: m.EnergyStatus, MeasuredAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := stages.StabilityOf(ctx, st, stages.StabilityIn{Datasets: []string{set.Name}, Theta: 0.5, Draws: 30, Seed: 1,
		Study: []string{"mobilenet_v1_0.25_128", "mobilenet_v1_0.5_160", "mobilenet_v1_0.75_192", "mobilenet_edgetpu_0.75_224"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Rows {
		t.Logf("%s, %s: %d draws; with the tie rule / by latency alone: order changed %d / %d, targets changed in %d (<= %d images) / %d (<= %d), "+
			"Algorithm 1 %d / %d, Table 1's order %d / %d", r.Criterion, r.Scenario, r.Draws, r.OrderChanged, r.OrderRawChanged,
			r.TargetsChanged, r.MaxTargetsChanged, r.TargetsRawChanged, r.MaxTargetsRawChanged, r.ChosenChanged, r.ChosenRawChanged,
			r.StudyOrderChanged, r.StudyOrderRawChanged)
		if r.Scenario != stages.ScenarioInterval {
			continue
		}
		if r.OrderChanged+r.TargetsChanged+r.ChosenChanged+r.TopChanged+r.StudyOrderChanged > 0 {
			t.Errorf("%s: latencies moved within their recorded intervals changed the ranking: %+v", r.Criterion, r)
		}
	}
}
