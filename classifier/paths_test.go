package classifier

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/route"
)

// featureRouter records the features it is given and chooses no model.
type featureRouter struct{ got []float64 }

func (*featureRouter) Needs() route.Needs { return route.Needs{Features: keptFeatures} }
func (*featureRouter) Models() []string   { return nil }
func (r *featureRouter) Route(in route.Input) (route.Decision, error) {
	x, err := in.Features(keptFeatures)
	if err != nil {
		return route.Decision{}, err
	}
	r.got = slices.Clone(x)
	return route.Decision{Class: -1, Reason: route.ReasonNoPrediction}, nil
}

// TestServingFeaturesAreTrainingFeatures checks, on every shared image,
// that the features the classifier routes on are bit for bit those the
// premodel was trained on (Extractor.ExtractBytes, the canonical path:
// JPEG decoded at Reduction's scale), whether it decodes once or twice:
// a premodel deployed on other values than it learned from is silently
// worse. It also measures what serving from one full-resolution decode
// (the model's, Extract(Decode)) would change instead: feature values and
// the decisions of the paper's kNN cascade trained on imagenet-val-dev.
// It fails, never skips, without the shared assets.
func TestServingFeaturesAreTrainingFeatures(t *testing.T) {
	if testing.Short() {
		t.Skip("profiles two models on 663 images: skipped in -short mode")
	}
	assets := settings.Assets()
	dev, err := datasets.Load(filepath.Join(assets, "images", "imagenet-val-dev"))
	if err != nil {
		t.Fatalf("shared assets missing at %s (set %s): %v", assets, settings.EnvAssets, err)
	}
	sample, err := datasets.Load(filepath.Join(assets, "images", "imagenet-sample"))
	if err != nil {
		t.Fatal(err)
	}
	pm := trainKeptPremodel(t, dev, ladderSpecs(t, "mobilenet_v1_0.25_128", "mobilenet_edgetpu_0.75_224"))
	rr := &featureRouter{}
	c, err := New(Config{Router: rr}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ex, err := features.NewExtractor(keptFeatures, features.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []*datasets.Set{dev, sample} {
		var reduced, sameDecision, sameValues int
		worst := make([]float64, len(keptFeatures))
		for i := range set.Items {
			data, err := os.ReadFile(set.Path(i))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ex.ExtractBytes(data)
			if err != nil {
				t.Fatal(err)
			}
			rr.got = nil
			if _, err := c.Classify(context.Background(), data); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rr.got, want) {
				t.Fatalf("%s: the classifier routes on %v, the premodel was trained on %v", set.Items[i].File, rr.got, want)
			}
			full, err := features.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			alt, err := ex.Extract(full)
			full.Close()
			if err != nil {
				t.Fatal(err)
			}
			p, _ := c.plan(data)
			if p.feat > 1 {
				reduced++
			}
			if slices.Equal(alt, want) {
				sameValues++
			}
			for k := range want {
				worst[k] = max(worst[k], math.Abs(alt[k]-want[k]))
			}
			d1, err1 := pm.Decide(want)
			d2, err2 := pm.Decide(alt)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if d1.Model == d2.Model {
				sameDecision++
			}
		}
		n := len(set.Items)
		t.Logf("%s: %d images, %d decoded at reduced scale for the features; serving = training features on all %d. "+
			"From one full decode instead: identical values on %d (%.1f%%), identical kNN-cascade decisions on %d (%.1f%%); largest differences by feature %v: %.3g",
			set.Name, n, reduced, n, sameValues, 100*float64(sameValues)/float64(n), sameDecision, 100*float64(sameDecision)/float64(n), keptFeatures, worst)
	}
}
