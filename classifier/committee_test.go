package classifier

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/modelpick/modelpick/committee"
	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/routers"
)

// committeeModels are three ladder models of rising cost, the levels of
// the real committee cascade below.
var committeeModels = []string{"mobilenet_v1_0.25_128", "mobilenet_v1_0.5_160", "tf2_mobilenet_v2_1.0_224"}

// TestRealCommitteeCascade routes 16 real imagenet-val-dev images with a
// committee cascade bundle through the classifier, and offline from the
// images' cached probability vectors (routers.RouteVectors, as evaluate
// and the frontier experiment do): the models run, the answer, its top-5
// classes and scores and the stop scores agree exactly, for both stop
// rules. The thresholds are the medians of the images' own stop scores,
// so every level answers some images. It fails, never skips, without the
// shared assets.
func TestRealCommitteeCascade(t *testing.T) {
	const n = 16
	assets := settings.Assets()
	dir := filepath.Join(assets, "images", "imagenet-val-dev")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared assets missing at %s (set %s): %v", assets, settings.EnvAssets, err)
	}
	sf, err := inference.ParseSpecFile(filepath.Join(settings.RepoRoot(), "experiments", "models", "ladder.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var specs []inference.Spec
	for _, name := range committeeModels {
		i := slices.IndexFunc(sf.Models, func(s inference.Spec) bool { return s.Name == name })
		specs = append(specs, sf.Models[i])
	}
	set, err := datasets.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	load := inference.Options{Threads: 1, CacheDir: settings.Cache()}
	vecs, err := committee.ComputeProbs(ctx, specs, set, committee.ProbsOptions{Load: load, CacheDir: t.TempDir(), Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	cost := []float64{0.3, 0.5, 1.7}
	s, err := routers.NewCommitteeSearch(vecs, rows, cost, routers.CommitteeSearchOptions{Criterion: profileview.Top1, Seed: 1, StopFolds: 4})
	if err != nil {
		t.Fatal(err)
	}
	view := &profileview.View{Store: "vectors of " + set.Name, Criterion: profileview.Top1, Datasets: []string{set.Name},
		Models: committeeModels, Cost: cost}
	for _, sp := range specs {
		sha, err := sp.FilesSHA256()
		if err != nil {
			t.Fatal(err)
		}
		view.FilesSHA256 = append(view.FilesSHA256, sha)
	}
	for _, stop := range []string{routers.StopThreshold, routers.StopLearned} {
		t.Run(stop, func(t *testing.T) {
			c, err := s.Router(routers.Setting{Levels: committeeModels, Stop: stop, Thresholds: []float64{2, 2}})
			if err != nil {
				t.Fatal(err)
			}
			// Thresholds at the medians of each level's stop scores.
			var scores [2][]float64
			for _, r := range rows {
				d, err := c.Route(routers.VectorInput(vecs, r))
				if err != nil {
					t.Fatal(err)
				}
				scores[0], scores[1] = append(scores[0], d.Scores[0]), append(scores[1], d.Scores[1])
			}
			for l := range scores {
				sort.Float64s(scores[l])
				c.Thresholds[l] = scores[l][n/2]
			}
			tr, err := routers.FromCommittee(c, view, routers.CommitteeInfo{})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "bundle")
			if err := routers.Write(out, tr, routers.WriteOptions{Specs: specs}); err != nil {
				t.Fatal(err)
			}
			cl, err := Open(out, Options{Load: load})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			costMS := map[string]float64{}
			for j, m := range committeeModels {
				costMS[m] = cost[j]
			}
			offline, err := routers.RouteVectors(c, vecs, rows, costMS, 0)
			if err != nil {
				t.Fatal(err)
			}
			levels := map[int]int{}
			for i, r := range rows {
				data, err := os.ReadFile(filepath.Join(dir, vecs[0].Files[r]))
				if err != nil {
					t.Fatal(err)
				}
				got, err := cl.Classify(ctx, data)
				if err != nil {
					t.Fatal(err)
				}
				want := offline[i]
				d, err := c.Route(routers.VectorInput(vecs, r))
				if err != nil {
					t.Fatal(err)
				}
				answer := d.Answer
				if answer == nil {
					o, _ := routers.VectorInput(vecs, r).Run(d.Model)
					answer = o.Scores
				}
				top := inference.Top(answer, TopK, 0, len(answer))
				var ran []string
				for _, run := range got.Runs {
					ran = append(ran, run.Model)
				}
				var idx []int
				for _, l := range got.Labels {
					idx = append(idx, l.Index)
				}
				if got.Model != want.Answer || !slices.Equal(ran, want.Ran) || !slices.Equal(idx, top.Index) || !slices.Equal(got.Scores, top.Score) ||
					!slices.Equal(got.Decision.Scores, d.Scores) || got.Decision.Class != want.Level {
					t.Errorf("%s: classifier %s after %v, top-5 %v %v, stop scores %v; offline %s after %v, top-5 %v %v, stop scores %v",
						vecs[0].Files[r], got.Model, ran, idx, got.Scores, got.Decision.Scores, want.Answer, want.Ran, top.Index, top.Score, d.Scores)
				}
				pred := profile.Prediction(set.Name, datasets.Item{File: vecs[0].Files[r], Label: vecs[0].Labels[r]}, "", top)
				if pred.Correct1 != want.Correct1 {
					t.Errorf("%s: correctness %v offline, %v from the classifier's answer", vecs[0].Files[r], want.Correct1, pred.Correct1)
				}
				levels[want.Level]++
			}
			if len(levels) != 3 {
				t.Errorf("images stopping at each level: %v, want every level used", levels)
			}
		})
	}
}
