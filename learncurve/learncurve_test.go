package learncurve

import (
	"context"
	"math"
	"testing"

	"github.com/modelpick/modelpick/internal/premodeltest"
	"github.com/modelpick/modelpick/profileview"
)

// In premodeltest's world the first feature decides which models are
// right, so the premodel on it nears the oracle, the same features
// shuffled across images fall to about the most frequent optimum, and a
// few training images do worse than many.
func TestRunOnAWorldWhoseFeaturesDecide(t *testing.T) {
	ctx := context.Background()
	path, _ := premodeltest.MakeStore(t, t.TempDir(), premodeltest.World{N: 400, Seed: 5, Dataset: "train"})
	tab := premodeltest.LoadSet(t, path, profileview.Top1)
	o := Options{Learner: "knn-cascade", K: 5, Theta: 0.5, Folds: 5, Seeds: []int64{1, 2, 3}}
	run := func(o Options) Outcome {
		t.Helper()
		out, err := Run(ctx, tab, o)
		if err != nil {
			t.Fatal(err)
		}
		if out.Images != 400 || len(out.Hits) != 400 || len(out.AccuracyPct) != 3 || len(out.SelectionPct) != 3 {
			t.Fatalf("outcome shape: %d images, %d hits, %d/%d seeds", out.Images, len(out.Hits), len(out.AccuracyPct), len(out.SelectionPct))
		}
		// The per-seed accuracies are the per-image hits, pooled.
		sum := 0
		for _, h := range out.Hits {
			if h < 0 || h > 3 {
				t.Fatalf("hits %d of 3 seeds", h)
			}
			sum += h
		}
		mean := (out.AccuracyPct[0] + out.AccuracyPct[1] + out.AccuracyPct[2]) / 3
		if math.Abs(mean-100*float64(sum)/1200) > 1e-9 {
			t.Errorf("seeds' accuracy %v, hits say %v", out.AccuracyPct, 100*float64(sum)/1200)
		}
		return out
	}
	full := run(o)
	if full.BestSingle != "big" || full.TrainImages != 320 {
		t.Errorf("best single %s, %v training images per fold", full.BestSingle, full.TrainImages)
	}
	acc := func(out Outcome) float64 { iv, _ := Bootstrap(out.Rates(), 200, 1); return iv.Value }
	if a := acc(full); a < full.OraclePct-5 || a > full.OraclePct+1e-9 {
		t.Errorf("premodel %.1f%%, oracle %.1f%%", a, full.OraclePct)
	}
	o.Shuffle = true
	shuffled := run(o)
	o.Shuffle, o.NoFeatures = false, true
	none := run(o)
	o.NoFeatures, o.TrainSize = false, 15
	few := run(o)
	if !(acc(shuffled) < acc(full)-10 && acc(few) < acc(full) && few.TrainImages == 15) {
		t.Errorf("full %.1f, shuffled %.1f, 15 images %.1f (%v trained)", acc(full), acc(shuffled), acc(few), few.TrainImages)
	}
	// Without features every image runs one model: here the cheapest,
	// right whenever any model is right at low contrast.
	if none.SelectionPct[0] != none.SelectionPct[1] || acc(none) > acc(full) {
		t.Errorf("no features: selection %v, accuracy %.1f", none.SelectionPct, acc(none))
	}
	if _, err := Run(ctx, tab, Options{Learner: "knn", K: 5, Folds: 5}); err == nil {
		t.Error("no seeds accepted")
	}
}

func TestBootstrapAndCombine(t *testing.T) {
	x := make([]float64, 200)
	for i := range x {
		if i%4 == 0 {
			x[i] = 100
		}
	}
	iv, err := Bootstrap(x, 1000, 7)
	if err != nil || iv.Value != 25 || !(iv.Lo < 25 && iv.Hi > 25) || iv.Hi-iv.Lo > 20 {
		t.Fatalf("%+v %v", iv, err)
	}
	// 95% of a rate of 0.25 on 200 images: about ±1.96 standard errors.
	se := 100 * math.Sqrt(0.25*0.75/200)
	if w := (iv.Hi - iv.Lo) / 2; w < 1.5*se || w > 2.5*se {
		t.Errorf("half-width %.2f, want about %.2f", w, 1.96*se)
	}
	if again, _ := Bootstrap(x, 1000, 7); again != iv {
		t.Error("same seed, another interval")
	}
	d, err := Combine([]float64{1, -1}, x, x)
	if err != nil {
		t.Fatal(err)
	}
	if iv, _ := Bootstrap(d, 500, 1); iv.Value != 0 || iv.Lo != 0 || iv.Hi != 0 {
		t.Errorf("a series minus itself: %+v", iv)
	}
	if _, err := Combine([]float64{1}, x, x); err == nil {
		t.Error("one weight for two series accepted")
	}
	if _, err := Combine([]float64{1, 1}, x, x[:3]); err == nil {
		t.Error("series over different images accepted")
	}
	if _, err := Bootstrap(nil, 10, 1); err == nil {
		t.Error("no images accepted")
	}
}
