package classifier

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/routers"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/onnxtest"
	"github.com/modelpick/modelpick/store"
)

// TestClassifierSoftmaxCascade writes a softmax-cascade bundle over the
// tiny models (b cheap, then a) with a threshold between b's top-1 scores
// on the images, and checks that exactly the images under it escalate.
func TestClassifierSoftmaxCascade(t *testing.T) {
	learnerBundle, images, specs := tinyBundle(t, "knn-cascade", "")
	ctx := context.Background()
	// A soft model (small weights: its top-1 scores differ by colour) is
	// the first level, a the second.
	w := onnxtest.DefaultWeights(11)
	for c := range w {
		for o := range w[c] {
			w[c][o] *= 0.05
		}
	}
	mb, err := onnxtest.Classifier{Size: 8, Outputs: 11, Weights: w}.Build()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(learnerBundle)
	if _, err := onnxtest.Write(dir, "soft.onnx", mb); err != nil {
		t.Fatal(err)
	}
	sf, err := inference.ParseSpec([]byte("models:\n  - {name: soft, files: [soft.onnx], input_size: 8, label_offset: 1, num_classes: 10}\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	specs = append(specs, sf.Models[0])
	first, second := "soft", "a"
	single, err := New(Config{Router: route.Fixed{Model: first}, Specs: specs}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	scores := make([]float32, len(images))
	for i, img := range images {
		r, err := single.Classify(ctx, read(t, img))
		if err != nil {
			t.Fatal(err)
		}
		scores[i] = r.Scores[0]
	}
	single.Close()
	lo, hi := scores[0], scores[0]
	for _, s := range scores {
		lo, hi = min(lo, s), max(hi, s)
	}
	if lo == hi {
		t.Fatalf("%s scores every image %v: no threshold separates them", first, lo)
	}
	threshold := float64(lo+hi) / 2

	st, err := store.Open(filepath.Join(dir, "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	prof, err := profileview.Load(ctx, st, profileview.Options{Criterion: profileview.Top1})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "cascade")
	c := &routers.SoftmaxCascade{Levels: []string{first, second}, Thresholds: []float64{threshold}}
	tr, err := routers.FromCascade(c, prof, baselines.Calibration{Rule: baselines.RuleShared})
	if err != nil {
		t.Fatal(err)
	}
	if err := routers.Write(bundle, tr, routers.WriteOptions{Specs: specs}); err != nil {
		t.Fatal(err)
	}
	cl, err := Open(bundle, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	escalated := 0
	for i, img := range images {
		r, err := cl.Classify(ctx, read(t, img))
		if err != nil {
			t.Fatal(err)
		}
		if r.Decision.Reason != route.ReasonCascade || r.Timings.Features != 0 || r.Timings.Inference <= 0 {
			t.Errorf("%s: %+v", img, r)
		}
		var runs []string
		sum := 0.0
		for _, run := range r.Runs {
			runs = append(runs, run.Model)
			sum += run.MS
		}
		want := []string{first}
		if float64(scores[i]) < threshold {
			want = []string{first, second}
			escalated++
		}
		if !reflect.DeepEqual(runs, want) || r.Model != want[len(want)-1] || r.Runs[0].Top1 != scores[i] {
			t.Errorf("%s (%s scores %v, threshold %v): model %s, runs %+v, want %v", img, first, scores[i], threshold, r.Model, r.Runs, want)
		}
		if d := sum - r.Timings.Inference; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s: runs take %v ms, inference %v ms", img, sum, r.Timings.Inference)
		}
		if len(r.Labels) != TopK {
			t.Errorf("%s: labels %+v", img, r.Labels)
		}
	}
	if escalated == 0 || escalated == len(images) {
		t.Errorf("%d of %d images escalated", escalated, len(images))
	}
}
