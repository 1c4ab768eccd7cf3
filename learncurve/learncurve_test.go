package learncurve

import (
	"context"
	"math"
	"slices"
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
	acc := func(out Outcome) float64 {
		s := 0.0
		for _, v := range out.Rates() {
			s += v / float64(out.Images)
		}
		return s
	}
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

func TestCombine(t *testing.T) {
	x := []float64{100, 0, 50, 0}
	y := []float64{0, 0, 50, 100}
	d, err := Combine([]float64{1, -0.5}, x, y)
	if err != nil || !slices.Equal(d, []float64{100, 0, 25, -50}) {
		t.Errorf("Combine = %v %v", d, err)
	}
	if _, err := Combine([]float64{1}, x, y); err == nil {
		t.Error("one weight for two series accepted")
	}
	if _, err := Combine([]float64{1, 1}, x, y[:3]); err == nil {
		t.Error("series over different images accepted")
	}
	o := Outcome{Seeds: []int64{1, 2}, Hits: []int{2, 1, 0}, BestHits: []bool{true, false, true}}
	if !slices.Equal(o.Rates(), []float64{100, 50, 0}) || !slices.Equal(o.BestRates(), []float64{100, 0, 100}) {
		t.Errorf("rates %v, best %v", o.Rates(), o.BestRates())
	}
}
