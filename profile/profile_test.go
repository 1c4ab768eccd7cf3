package profile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/internal/onnxtest"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/store"
)

// fixture is a tiny labelled set and two tiny models that disagree: "a"
// uses the default weights, "b" swaps which class wins for red and green.
type fixture struct {
	dir   string
	set   *datasets.Set
	specs []inference.Spec
}

func newFixture(t *testing.T, n int) fixture {
	t.Helper()
	dir := t.TempDir()
	// Labels follow model a: red→8, green→9, blue→7, yellow→9.
	labels := []int{8, 9, 7, 9}
	if _, err := imgtest.WriteSet(filepath.Join(dir, "set"), n, 24, func(i int) int { return labels[i%4] }); err != nil {
		t.Fatal(err)
	}
	a, err := onnxtest.Classifier{Size: 8, Outputs: 11}.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := onnxtest.DefaultWeights(11)
	w[0][9], w[1][9] = 0, 10 // green now wins output 9 (class 8)
	w[1][10], w[0][10] = 0, 11
	b, err := onnxtest.Classifier{Size: 8, Outputs: 11, Weights: w}.Build()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"a.onnx": a, "b.onnx": b} {
		if _, err := onnxtest.Write(dir, name, data); err != nil {
			t.Fatal(err)
		}
	}
	spec := `models:
  - {name: a, files: [a.onnx], input_size: 8, label_offset: 1, num_classes: 10, crop_fraction: 0.875}
  - {name: b, files: [b.onnx], input_size: 8, label_offset: 1, num_classes: 10}
`
	sf, err := inference.ParseSpec([]byte(spec), dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := datasets.Load(filepath.Join(dir, "set"))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{dir: dir, set: set, specs: sf.Models}
}

func (f fixture) open(t *testing.T, name string) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(f.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func (f fixture) options(st *store.Store) Options {
	return Options{Specs: f.specs, Load: inference.Options{CacheDir: f.dir}, Set: f.set, Store: st,
		Correctness: true, BatchSize: 4}
}

func TestCorrectnessProfile(t *testing.T) {
	f := newFixture(t, 12)
	st := f.open(t, "s.db")
	sum, err := Run(context.Background(), f.options(st))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Images != 12 || sum.Predictions != 24 || sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	preds, err := st.Predictions(context.Background(), f.set.Name)
	if err != nil {
		t.Fatal(err)
	}
	correct := map[string]int{}
	for _, p := range preds {
		if p.Correct1 {
			correct[p.Model]++
		}
		if len(p.Top5Idx) != 5 || len(p.Top5Score) != 5 {
			t.Fatalf("row %+v: want 5 classes and scores", p)
		}
	}
	// Model a is right on every image; b swaps red and green, so it is
	// right on blue and yellow... but yellow's red part now loses: count.
	if correct["a"] != 12 {
		t.Errorf("model a correct on %d of 12, want 12", correct["a"])
	}
	if correct["b"] >= 12 || correct["b"] == 0 {
		t.Errorf("model b correct on %d of 12, want some but not all", correct["b"])
	}
	runs, err := st.Runs(context.Background())
	if err != nil || len(runs) != 1 || !strings.Contains(runs[0].ManifestJSON, f.set.Hash()) {
		t.Fatalf("run manifest not recorded with the data set hash: %v %+v", err, runs)
	}
}

func TestResumeEqualsUninterrupted(t *testing.T) {
	f := newFixture(t, 20)
	ctx := context.Background()
	full := f.open(t, "full.db")
	if _, err := Run(ctx, f.options(full)); err != nil {
		t.Fatal(err)
	}
	part := f.open(t, "part.db")
	o := f.options(part)
	o.Limit = 7
	if _, err := Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	// A model added later is profiled on the images already there.
	o = f.options(part)
	o.Specs = f.specs[:1]
	if _, err := Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	sum, err := Run(ctx, f.options(part))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 7 || sum.Predictions != 13 {
		t.Errorf("resume: %+v, want 7 skipped and 13 new predictions (model b on images 7..19)", sum)
	}
	if diff, err := store.Diff(ctx, full, part); err != nil || len(diff) > 0 {
		t.Fatalf("resumed store differs from an uninterrupted run: %v %v", err, diff)
	}
}

func TestCancelledRunKeepsWhatWasDone(t *testing.T) {
	f := newFixture(t, 8)
	st := f.open(t, "c.db")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, f.options(st)); err == nil {
		t.Fatal("a cancelled run returned no error")
	}
	if _, err := Run(context.Background(), f.options(st)); err != nil {
		t.Fatal(err)
	}
	preds, err := st.Predictions(context.Background(), "")
	if err != nil || len(preds) != 16 {
		t.Fatalf("after resume: %d predictions, err %v", len(preds), err)
	}
}

func TestCorruptImageRecordedAndSkipped(t *testing.T) {
	f := newFixture(t, 6)
	// Overwrite one image with garbage and truncate another.
	if err := os.WriteFile(filepath.Join(f.set.Dir, f.set.Items[1].File), []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(f.set.Dir, f.set.Items[4].File)
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, b[:20], 0o644); err != nil {
		t.Fatal(err)
	}
	st := f.open(t, "s.db")
	sum, err := Run(context.Background(), f.options(st))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 2 || sum.Predictions != 8 {
		t.Fatalf("summary %+v: want 2 unreadable images and 8 predictions", sum)
	}
	imgs, _ := st.Images(context.Background(), f.set.Name)
	bad := 0
	for _, im := range imgs {
		if im.Error != "" {
			bad++
		}
	}
	if bad != 2 {
		t.Fatalf("%d images recorded with an error, want 2", bad)
	}
	sum, err = Run(context.Background(), f.options(st))
	if err != nil || sum.Skipped != 6 || sum.Predictions != 0 {
		t.Fatalf("rerun: %+v %v: unreadable images must not be retried", sum, err)
	}
}

func TestShardsMergeToSingleRun(t *testing.T) {
	f := newFixture(t, 17)
	ctx := context.Background()
	single := f.open(t, "single.db")
	if _, err := Run(ctx, f.options(single)); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("shard%d.db", i)
		st := f.open(t, name)
		o := f.options(st)
		o.ShardI, o.ShardN = i, 3
		if _, err := Run(ctx, o); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Join(f.dir, name))
	}
	merged := f.open(t, "merged.db")
	if err := store.Merge(ctx, merged, paths...); err != nil {
		t.Fatal(err)
	}
	if diff, err := store.Diff(ctx, single, merged); err != nil || len(diff) > 0 {
		t.Fatalf("merged shards differ from a single run: %v %v", err, diff)
	}
}

func TestCostProfileNotMeasuredWithoutMeter(t *testing.T) {
	f := newFixture(t, 3)
	st := f.open(t, "s.db")
	o := f.options(st)
	o.Correctness, o.Cost = false, true
	o.Timing = measure.TimingOptions{Warmup: 2, MinRuns: 5, MaxRuns: 50, Confidence: 0.95, RelHalfWidth: 0.5, MaxDuration: 5 * time.Second}
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Costs) != 2 {
		t.Fatalf("%d cost rows, want 2", len(sum.Costs))
	}
	for _, c := range sum.Costs {
		if c.N < 5 || c.MeanMS <= 0 || c.CILowMS > c.MeanMS || c.CIHighMS < c.MeanMS {
			t.Errorf("cost row %+v is not a valid summary", c)
		}
		if c.EnergyJ != nil || !strings.HasPrefix(c.EnergyStatus, "not measured") {
			t.Errorf("no meter, but energy %v status %q", c.EnergyJ, c.EnergyStatus)
		}
	}
	rows, err := st.Costs(context.Background())
	if err != nil || len(rows) != 2 {
		t.Fatalf("stored costs: %d, %v", len(rows), err)
	}
}

func TestCostProfileWithFakeINA3221(t *testing.T) {
	f := newFixture(t, 3)
	root := t.TempDir()
	rail := filepath.Join(root, "power0")
	if err := os.WriteFile(rail, []byte("4000\n"), 0o644); err != nil { // a constant 4 W
		t.Fatal(err)
	}
	meter, err := measure.NewMeter(measure.MeterOptions{Kind: measure.KindINA3221,
		Rails: []measure.Rail{{Name: "VDD_IN", PowerFile: rail}}, RateHz: 200})
	if err != nil {
		t.Fatal(err)
	}
	st := f.open(t, "s.db")
	o := f.options(st)
	o.Correctness, o.Cost, o.Meter, o.IdleFor = false, true, meter, 50*time.Millisecond
	o.Timing = measure.TimingOptions{MinRuns: 20, MaxRuns: 200, Confidence: 0.95, RelHalfWidth: 0.5, MaxDuration: 5 * time.Second}
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sum.Costs {
		if c.EnergyJ == nil || c.IdleW == nil || !strings.HasPrefix(c.EnergyStatus, "measured") {
			t.Fatalf("meter present but energy not recorded: %+v", c)
		}
		// Constant power equals idle power, so the net energy per
		// inference is ~0 (within sampling noise of a few mJ).
		if *c.IdleW < 3.9 || *c.IdleW > 4.1 {
			t.Errorf("idle %.3f W, want 4", *c.IdleW)
		}
		if e := *c.EnergyJ; e > 0.01 || e < -0.01 {
			t.Errorf("net energy %.4f J per inference, want ~0 at constant power", e)
		}
	}
}

func TestPredictionIgnoresZeroScoreHits(t *testing.T) {
	it := datasets.Item{File: "x", Label: 2}
	p := Prediction("d", it, "m", inference.TopK{Index: []int{7, 0, 1, 2, 3}, Score: []float32{1, 0, 0, 0, 0}})
	if p.Correct1 || p.Correct5 {
		t.Errorf("a zero-score tie counted as a hit: %+v", p)
	}
	p = Prediction("d", it, "m", inference.TopK{Index: []int{7, 2, 1}, Score: []float32{0.6, 0.3, 0.1}})
	if p.Correct1 || !p.Correct5 {
		t.Errorf("label second: want correct5 only, got %+v", p)
	}
	p = Prediction("d", it, "m", inference.TopK{Index: []int{2, 7}, Score: []float32{0.6, 0.3}})
	if !p.Correct1 || !p.Correct5 {
		t.Errorf("label first: %+v", p)
	}
}
