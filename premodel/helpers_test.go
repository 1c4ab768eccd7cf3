package premodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

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
	testModels = []string{"big", "mid", "small"} // store order: by name
	testCost   = map[string]float64{"small": 1, "mid": 2, "big": 4}
	testNames  = []string{"contrast", "hue1"}
)

func testKey(t testing.TB) string {
	t.Helper()
	ex, err := features.NewExtractor(testNames, features.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ex.ConfigKey()
}

func rightOn(model string, contrast float64) bool {
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

// world describes what a test store holds.
type world struct {
	n        int
	seed     uint64
	dataset  string
	noCosts  bool
	noFeats  bool
	top1Only bool
	skipName string // a feature left out of the store
}

// testSpecs writes one dummy model file per model (its bytes are only
// hashed and copied here, never run) and returns their specs.
func testSpecs(t testing.TB, dir string) []inference.Spec {
	t.Helper()
	yaml := "models:\n"
	for _, m := range testModels {
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

// makeStore builds a store for w in dir and returns its path and the specs.
func makeStore(t testing.TB, dir string, w world) (string, []inference.Spec) {
	t.Helper()
	ctx := context.Background()
	specs := testSpecs(t, dir)
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.db", w.dataset, w.seed))
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, s := range specs {
		sha, err := s.FilesSHA256()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.RegisterModel(ctx, s.Name, s.JSON(), sha); err != nil {
			t.Fatal(err)
		}
		if !w.noCosts {
			if err := st.PutCost(ctx, store.CostRow{Model: s.Name, Threads: 1, N: 30, MeanMS: testCost[s.Name],
				MedianMS: testCost[s.Name], P95MS: testCost[s.Name] * 1.1, CILowMS: testCost[s.Name], CIHighMS: testCost[s.Name],
				EnergyStatus: "not measured: test", MeasuredAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := rand.New(rand.NewPCG(w.seed, 3))
	key := testKey(t)
	var images []store.ImageRow
	var preds []store.PredictionRow
	var feats []store.FeatureRow
	for i := range w.n {
		file := fmt.Sprintf("img_%04d.jpg", i)
		sha := fmt.Sprintf("%s-%d-%d", w.dataset, w.seed, i)
		// hue1 follows contrast, so the corner (contrast 0, hue1 high) of
		// the scaled feature space holds no training image.
		contrast := r.Float64()
		hue := 0.3 * (0.8*contrast + 0.2*r.Float64())
		images = append(images, store.ImageRow{Dataset: w.dataset, File: file, SHA256: sha, Label: 3, Width: 8, Height: 8})
		for _, m := range testModels {
			ok := rightOn(m, contrast)
			top := []int{3, 1, 2, 4, 5}
			if !ok {
				top = []int{1, 2, 4, 5, 6}
			}
			if w.top1Only {
				top = top[:1]
			}
			score := make([]float64, len(top))
			for k := range score {
				score[k] = 0.5 / float64(k+1)
			}
			preds = append(preds, store.PredictionRow{Dataset: w.dataset, File: file, Model: m, Top5Idx: top, Top5Score: score,
				Correct1: ok, Correct5: ok})
		}
		if !w.noFeats {
			for j, name := range testNames {
				if name == w.skipName {
					continue
				}
				feats = append(feats, store.FeatureRow{SHA256: sha, Version: key, Name: name, Value: []float64{contrast, hue}[j]})
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

// loadSet opens a store and loads its training set.
func loadSet(t testing.TB, path string, crit Criterion) *Set {
	t.Helper()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := Load(context.Background(), st, SetOptions{ProfileOptions: ProfileOptions{Criterion: crit},
		Names: testNames, ConfigKey: testKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
