package classifier

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/routers"

	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/internal/onnxtest"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/tflite/tflitetest"
)

// TestClassifierCNNPremodel trains a cnn head on the embedding of a tiny
// TFLite backbone (tflitetest.PooledClassifier), writes and opens its
// bundle, and checks that the classifier routes as the head decides on
// the backbone's embedding, reusing the backbone's answer when it picks
// the backbone.
func TestClassifierCNNPremodel(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pooled.tflite"),
		tflitetest.Encode(tflitetest.PooledClassifier(), tflitetest.Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	mb, err := onnxtest.Classifier{Size: 8, Outputs: 11}.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnxtest.Write(dir, "a.onnx", mb); err != nil {
		t.Fatal(err)
	}
	sf, err := inference.ParseSpec([]byte(tflitetest.PooledClassifierYAML), dir)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := inference.ParseSpec([]byte("models:\n  - {name: a, files: [a.onnx], input_size: 8, label_offset: 1, num_classes: 10}\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	specs := []inference.Spec{sa.Models[0], sf.Models[0]}
	emb, err := inference.LoadEmbedder(specs[1], inference.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	data := filepath.Join(dir, "set")
	entries, err := imgtest.WriteSet(data, 16, 16, func(i int) int { return i % 4 })
	if err != nil {
		t.Fatal(err)
	}
	// The training set: each image's embedding; the backbone ("pooled",
	// cheaper) is right on even images, a on every image.
	prof := &profileview.View{Store: "hand-made", Criterion: profileview.Top1, Datasets: []string{"set"},
		Models: []string{"a", "pooled"}, Cost: []float64{2, 1}, CostP95: []float64{2, 1},
		CostFrom: profileview.CostSource{Kind: profileview.CostMeasured, Threads: 1}, Excluded: map[string]int{}}
	for _, s := range specs {
		sha, err := s.FilesSHA256()
		if err != nil {
			t.Fatal(err)
		}
		prof.FilesSHA256 = append(prof.FilesSHA256, sha)
	}
	set := &profileview.Table{View: prof}
	var images [][]byte
	for i, e := range entries {
		b := read(t, filepath.Join(data, e.File))
		images = append(images, b)
		v, err := embedding.Vector(emb, b)
		if err != nil {
			t.Fatal(err)
		}
		set.X = append(set.X, v)
		prof.Items = append(prof.Items, profileview.Item{Dataset: "set", File: e.File, SHA256: e.File})
		prof.Correct1 = append(prof.Correct1, []bool{true, i%2 == 0})
		prof.Correct5 = append(prof.Correct5, []bool{true, true})
	}
	dims := len(set.X[0])
	bb := &premodel.Backbone{Model: "pooled", FilesSHA256: prof.FilesSHA256[1], Dims: dims}
	set.Names, set.ConfigKey = embedding.Names(dims), embedding.ConfigKey(bb.Model, bb.FilesSHA256)
	p, err := premodel.Train(set, premodel.Options{Learner: "cnn", Candidates: []string{"pooled", "a"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	p.Backbone = bb
	bundle := filepath.Join(dir, "bundle")
	if err := writeBundle(bundle, p, set, routers.WriteOptions{Specs: specs}); err != nil {
		t.Fatal(err)
	}
	b, err := routers.Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Router != routers.KindCNN || b.Router.Needs().Backbone != bb.Model {
		t.Fatalf("manifest router %q needs %+v", b.Manifest.Router, b.Router.Needs())
	}
	c, err := Open(bundle, Options{Load: inference.Options{CacheDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	single, err := New(Config{Router: route.Fixed{Model: "pooled"}, Specs: specs}, Options{Load: inference.Options{CacheDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	seen := map[string]int{}
	for i, img := range images {
		r, err := c.Classify(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		want, err := p.Decide(set.X[i])
		if err != nil {
			t.Fatal(err)
		}
		if r.Model != want.Model || r.Decision.Class != want.Class {
			t.Errorf("image %d: model %s, the head decides %+v", i, r.Model, want)
		}
		seen[r.Model]++
		if r.Timings.Premodel <= 0 || r.Timings.Features != 0 || len(r.Labels) == 0 {
			t.Errorf("image %d: %+v", i, r)
		}
		if r.Model == "pooled" {
			s, err := single.Classify(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			if r.Timings.Inference != 0 || !reflect.DeepEqual(r.Scores, s.Scores) {
				t.Errorf("image %d: backbone answer not reused: %+v vs %+v", i, r, s)
			}
		} else if r.Timings.Inference <= 0 {
			t.Errorf("image %d: %s ran in no time", i, r.Model)
		}
	}
	t.Logf("routed: %v", seen)
}
