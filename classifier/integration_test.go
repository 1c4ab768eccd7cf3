package classifier

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/routers"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/extract"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/store"
)

// realModels are the ladder models the integration test profiles: the
// cheapest, a middle one and the two int8 224 px ones (fast in ONNX
// Runtime), enough for Algorithm 1 to have a choice.
var realModels = []string{"mobilenet_v1_0.25_128", "mobilenet_v1_0.5_160", "tf2_mobilenet_v2_1.0_224", "mobilenet_edgetpu_0.75_224"}

// realFeatures is a small feature set of Table 2.
var realFeatures = []string{"n_keypoints", "avg_perceived_brightness", "contrast", "edge_length1", "hue1"}

// realStore profiles the first n images of a shared image set with the
// real models (correctness and a short cost run) and extracts features.
func realStore(t *testing.T, specs []inference.Spec, set *datasets.Set, n int) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), set.Name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := profile.Run(ctx, profile.Options{Specs: specs, Load: inference.Options{Threads: 1, CacheDir: settings.Cache()}, Set: set, Store: st, Limit: n,
		Correctness: true, Cost: true, Meter: measure.NewNone(),
		Timing: measure.TimingOptions{Warmup: 2, MinRuns: 10, MaxRuns: 40, Confidence: 0.95, RelHalfWidth: 0.1, MaxDuration: 3 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	sum, err := extract.Run(ctx, extract.Options{Set: set, Store: st, Names: realFeatures, Workers: 2, Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	return st, sum.ConfigKey
}

// TestRealPremodel trains a premodel on 80 profiled imagenet-val-dev
// images, classifies real images with its bundle, and evaluates it on 40
// imagenet-sample images profiled apart. It fails, never skips, without
// the shared assets.
func TestRealPremodel(t *testing.T) {
	assets := settings.Assets()
	if _, err := os.Stat(filepath.Join(assets, "images", "imagenet-val-dev")); err != nil {
		t.Fatalf("shared assets missing at %s (set %s): %v", assets, settings.EnvAssets, err)
	}
	ctx := context.Background()
	sf, err := inference.ParseSpecFile(filepath.Join(settings.RepoRoot(), "experiments", "models", "ladder.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var specs []inference.Spec
	for _, s := range sf.Models {
		if slices.Contains(realModels, s.Name) {
			specs = append(specs, s)
		}
	}
	dev, err := datasets.Load(filepath.Join(assets, "images", "imagenet-val-dev"))
	if err != nil {
		t.Fatal(err)
	}
	sample, err := datasets.Load(filepath.Join(assets, "images", "imagenet-sample"))
	if err != nil {
		t.Fatal(err)
	}
	trainStore, key := realStore(t, specs, dev, 80)
	set, err := profileview.LoadTable(ctx, trainStore, profileview.Options{Criterion: profileview.Top1}, key, realFeatures)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.X) != 80 || len(set.Models) != len(realModels) {
		t.Fatalf("training set: %d rows, models %v", len(set.X), set.Models)
	}
	p, err := premodel.Train(set, premodel.Options{Learner: "knn-cascade", Theta: premodel.DefaultTheta, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := trainStore.DatasetDirs(ctx, set.Datasets...)
	if err != nil {
		t.Fatal(err)
	}
	labelsFile := datasets.ClassNamesFile(dirs, "")
	if filepath.Base(labelsFile) != "synset_words.txt" {
		t.Errorf("labels from %s, want the set's synset_words.txt", labelsFile)
	}
	names, err := datasets.ReadLabels(labelsFile)
	if err != nil || len(names) != 1000 || names[0] != "tench, Tinca tinca" {
		t.Fatalf("labels: %d names, first %q, %v", len(names), names[0], err)
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	if err := writeBundle(bundle, p, set, routers.WriteOptions{Specs: specs, Labels: names, LabelsSource: labelsFile}); err != nil {
		t.Fatal(err)
	}
	c, err := Open(bundle, Options{Workers: 2, Load: inference.Options{CacheDir: settings.Cache()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// On profiled images the classifier answers what the profile recorded
	// for the model it chose: the same preprocessing and runtime.
	preds, err := trainStore.Predictions(ctx, dev.Name)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range dev.Items[:10] {
		data, err := os.ReadFile(filepath.Join(dev.Dir, it.File))
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Classify(ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(p.Models(), r.Model) || len(r.Labels) != TopK || r.Labels[0].Name != names[r.Labels[0].Index] {
			t.Fatalf("%s: %+v", it.File, r)
		}
		i := slices.IndexFunc(preds, func(pr store.PredictionRow) bool { return pr.File == it.File && pr.Model == r.Model })
		got := make([]int, len(r.Labels))
		for k, l := range r.Labels {
			got[k] = l.Index
		}
		if i < 0 || !reflect.DeepEqual(got, preds[i].Top5Idx) {
			t.Errorf("%s by %s: classifier top-5 %v, profile %v", it.File, r.Model, got, preds[i].Top5Idx)
		}
	}

	testStore, _ := realStore(t, specs, sample, 40)
	ts, err := profileview.LoadTable(ctx, testStore, profileview.Options{Criterion: profileview.Top1}, key, realFeatures)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := premodel.Evaluate(ctx, p, ts, premodel.EvalOptions{Image: func(it profileview.Item) ([]byte, error) {
		return os.ReadFile(filepath.Join(sample.Dir, it.File))
	}})
	if err != nil {
		t.Fatal(err)
	}
	var oracle, pm premodel.Method
	for _, m := range rep.Methods {
		switch m.Name {
		case "oracle (all models)":
			oracle = m
		case "premodel knn-cascade":
			pm = m
		}
	}
	for _, m := range rep.Methods {
		if m.Top1 > oracle.Top1 {
			t.Errorf("%s top-1 %.1f above the oracle's %.1f", m.Name, m.Top1, oracle.Top1)
		}
	}
	if rep.Images != 40 || pm.OverheadMS <= 0 || !rep.Overhead.FeaturesMeasured || pm.MeanMS <= pm.ModelMS {
		t.Errorf("report: %d images, premodel %+v, overhead %+v", rep.Images, pm, rep.Overhead)
	}
	t.Logf("\n%s", rep.Markdown())
}
