// Package premodeltest builds the synthetic stores the premodel and router
// tests train on: three models of rising cost, whose correctness an
// image's first feature decides, with costs, features and stored scores.
package premodeltest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelpick/modelpick/committee"
	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/profileview"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/store"
)

// The synthetic world of these tests: three models of rising cost, and an
// image's first feature ("contrast") says which of them are right on it.
//
//	contrast < 0.4        every model is right   -> optimum "small"
//	0.4 <= contrast < 0.7 mid and big are right  -> optimum "mid"
//	0.7 <= contrast < 0.9 only big is right      -> optimum "big"
//	contrast >= 0.9       no model is right      -> none
//
// The second feature ("hue1") follows the first, with noise.
var (
	Models = []string{"big", "mid", "small"} // store order: by name
	Cost   = map[string]float64{"small": 1, "mid": 2, "big": 4}
	Names  = []string{"contrast", "hue1"}
)

// Key is the features configuration key of Names.
func Key(t testing.TB) string {
	t.Helper()
	ex, err := features.NewExtractor(Names, features.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ex.ConfigKey()
}

// RightOn says whether model is right on an image of this contrast.
func RightOn(model string, contrast float64) bool {
	switch {
	case contrast >= 0.9:
		return false
	case contrast >= 0.7:
		return model == "big"
	case contrast >= 0.4:
		return model != "small"
	}
	return true
}

// World describes what a test store holds.
type World struct {
	N        int
	Seed     uint64
	Dataset  string
	NoCosts  bool
	NoFeats  bool
	Top1Only bool
	SkipName string // a feature left out of the store
	// Backbone, when set (one of Models), stores its 4-d embedding of
	// every image (a cnn premodel's input), which follows the features.
	Backbone string
}

// Specs writes one dummy model file per model (its bytes are only
// hashed and copied here, never run) and returns their specs.
func Specs(t testing.TB, dir string) []inference.Spec {
	t.Helper()
	yaml := "models:\n"
	for _, m := range Models {
		if err := os.WriteFile(filepath.Join(dir, m+".onnx"), []byte("not really onnx: "+m), 0o644); err != nil {
			t.Fatal(err)
		}
		yaml += fmt.Sprintf("  - {name: %s, files: [%s.onnx], input_size: 8, label_offset: 1, num_classes: 10}\n", m, m)
	}
	sf, err := inference.ParseSpec([]byte(yaml), dir)
	if err != nil {
		t.Fatal(err)
	}
	return sf.Models
}

// MakeStore builds a store for w in dir and returns its path and the specs.
func MakeStore(t testing.TB, dir string, w World) (string, []inference.Spec) {
	t.Helper()
	ctx := context.Background()
	specs := Specs(t, dir)
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.db", w.Dataset, w.Seed))
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	embKey := ""
	for _, s := range specs {
		sha, err := s.FilesSHA256()
		if err != nil {
			t.Fatal(err)
		}
		if s.Name == w.Backbone {
			embKey = embedding.ConfigKey(s.Name, sha)
		}
		if err := st.RegisterModel(ctx, s.Name, s.JSON(), sha); err != nil {
			t.Fatal(err)
		}
		if !w.NoCosts {
			if err := st.PutCost(ctx, store.CostRow{Model: s.Name, Threads: 1, N: 30, MeanMS: Cost[s.Name],
				MedianMS: Cost[s.Name], P95MS: Cost[s.Name] * 1.1, CILowMS: Cost[s.Name], CIHighMS: Cost[s.Name],
				EnergyStatus: "not measured: test", MeasuredAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := rand.New(rand.NewPCG(w.Seed, 3))
	key := Key(t)
	var images []store.ImageRow
	var preds []store.PredictionRow
	var feats []store.FeatureRow
	for i := range w.N {
		file := fmt.Sprintf("img_%04d.jpg", i)
		sha := fmt.Sprintf("%s-%d-%d", w.Dataset, w.Seed, i)
		// hue1 follows contrast, so the corner (contrast 0, hue1 high) of
		// the scaled feature space holds no training image.
		contrast := r.Float64()
		hue := 0.3 * (0.8*contrast + 0.2*r.Float64())
		images = append(images, store.ImageRow{Dataset: w.Dataset, File: file, SHA256: sha, Label: 3, Width: 8, Height: 8})
		for _, m := range Models {
			ok := RightOn(m, contrast)
			top := []int{3, 1, 2, 4, 5}
			if !ok {
				top = []int{1, 2, 4, 5, 6}
			}
			if w.Top1Only {
				top = top[:1]
			}
			score := make([]float64, len(top))
			for k := range score {
				score[k] = 0.5 / float64(k+1)
			}
			preds = append(preds, store.PredictionRow{Dataset: w.Dataset, File: file, Model: m, Top5Idx: top, Top5Score: score,
				Correct1: ok, Correct5: ok})
		}
		if !w.NoFeats {
			for j, name := range Names {
				if name == w.SkipName {
					continue
				}
				feats = append(feats, store.FeatureRow{SHA256: sha, Version: key, Name: name, Value: []float64{contrast, hue}[j]})
			}
		}
		if embKey != "" {
			for d, name := range embedding.Names(4) {
				v := []float64{contrast, hue, 1 - contrast, 0.5 * contrast * contrast}[d]
				feats = append(feats, store.FeatureRow{SHA256: sha, Version: embKey, Name: name, Value: v})
			}
		}
	}
	if err := st.WriteBatch(ctx, images, preds); err != nil {
		t.Fatal(err)
	}
	if len(feats) > 0 {
		if err := st.PutFeatures(ctx, feats); err != nil {
			t.Fatal(err)
		}
	}
	return path, specs
}

// Vectors are the models' full probability vectors on the images of
// MakeStore(w) (label_offset 1, 10 classes; label 3), agreeing with the
// store: a model right on an image puts its largest probability on class
// 3, a wrong one on class 1, more sharply the lower the contrast and the
// costlier the model, so a committee cascade's statistics carry its
// correctness and the costlier model outvotes the cheaper.
func Vectors(t testing.TB, w World) []*committee.Probs {
	t.Helper()
	r := rand.New(rand.NewPCG(w.Seed, 3)) // the draws of MakeStore, in order
	contrast := make([]float64, w.N)
	for i := range contrast {
		contrast[i] = r.Float64()
		r.Float64() // hue's noise
	}
	base := map[string]float32{"small": 0.7, "mid": 0.8, "big": 0.9}
	var out []*committee.Probs
	for _, m := range Models {
		p := &committee.Probs{Model: m, Dataset: w.Dataset, Outputs: 11, LabelOffset: 1, NumClasses: 10,
			Files: make([]string, w.N), Labels: make([]int, w.N), Errors: make([]string, w.N), P: make([]float32, 11*w.N),
			Inputs: map[string]string{"files_sha256": fmt.Sprintf("%x", sha256.Sum256([]byte("not really onnx: "+m)))}}
		for i, c := range contrast {
			p.Files[i], p.Labels[i] = fmt.Sprintf("img_%04d.jpg", i), 3
			top, second := 1+1, 1+3 // outputs of classes 1 and 3
			if RightOn(m, c) {
				top, second = second, top
			}
			row := p.Row(i)
			row[top] = base[m] - float32(0.5*c)
			row[second] = float32(0.05 + 0.3*c)
			row[1+7] = 1 - row[top] - row[second]
		}
		out = append(out, p)
	}
	return out
}

// LoadSet opens a store and loads its training set.
func LoadSet(t testing.TB, path string, crit profileview.Criterion) *profileview.Table {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := profileview.LoadTable(context.Background(), st, profileview.Options{Criterion: crit}, Key(t), Names)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
