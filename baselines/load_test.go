package baselines

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelpick/modelpick/store"
)

func TestLoadProfile(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, m := range []string{"b", "a"} {
		if err := st.RegisterModel(ctx, m, `{"name":"`+m+`"}`, "sha-"+m); err != nil {
			t.Fatal(err)
		}
	}
	images := []store.ImageRow{
		{Dataset: "d", File: "1.jpg", SHA256: "h1", Label: 3},
		{Dataset: "d", File: "2.jpg", SHA256: "h2", Label: 4},
		{Dataset: "d", File: "3.jpg", SHA256: "h3", Label: 5},     // only model a: left out
		{Dataset: "d", File: "4.jpg", Error: "corrupt", Label: 1}, // unreadable: left out
	}
	preds := []store.PredictionRow{
		{Dataset: "d", File: "1.jpg", Model: "a", Top5Idx: []int{3, 1}, Top5Score: []float64{0.9, 0.05}, Correct1: true, Correct5: true},
		{Dataset: "d", File: "1.jpg", Model: "b", Top5Idx: []int{1, 3}, Top5Score: []float64{0.6, 0.3}, Correct1: false, Correct5: true},
		{Dataset: "d", File: "2.jpg", Model: "a", Top5Idx: []int{0, 1}, Top5Score: []float64{0.4, 0.3}},
		{Dataset: "d", File: "2.jpg", Model: "b", Top5Idx: []int{4, 1}, Top5Score: []float64{0.7, 0.1}, Correct1: true, Correct5: true},
		{Dataset: "d", File: "3.jpg", Model: "a", Top5Idx: []int{5}, Top5Score: []float64{1}, Correct1: true, Correct5: true},
	}
	if err := st.WriteBatch(ctx, images, preds); err != nil {
		t.Fatal(err)
	}

	// No costs yet: the error names the fix.
	if _, err := LoadProfile(ctx, st, LoadOptions{Criterion: "top1"}); err == nil || !strings.Contains(err.Error(), "-cost") {
		t.Errorf("no costs: %v", err)
	}
	for m, ms := range map[string]float64{"a": 1.5, "b": 3} {
		for _, th := range []int{1, 2} {
			if err := st.PutCost(ctx, store.CostRow{Model: m, Threads: th, N: 30, MeanMS: ms / float64(th),
				EnergyStatus: "not measured", MeasuredAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	costs, note, err := CostsOf(ctx, st)
	if err != nil || costs["a"] != 1.5 || costs["b"] != 3 || !strings.Contains(note, "1 thread") {
		t.Errorf("CostsOf = %v, %q, %v", costs, note, err)
	}

	p, err := LoadProfile(ctx, st, LoadOptions{Criterion: "top1"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Models, ",") != "a,b" || len(p.Images) != 2 || p.Cost[0] != 1.5 || p.Cost[1] != 3 {
		t.Fatalf("profile %+v", p)
	}
	if !p.Hit[0][0] || p.Hit[0][1] || p.Hit[1][0] || !p.Hit[1][1] || p.Score[0][1] != 0.6 || p.Score[1][0] != 0.4 {
		t.Errorf("hits %v scores %v", p.Hit, p.Score)
	}
	p5, err := LoadProfile(ctx, st, LoadOptions{Criterion: "top5", Costs: map[string]float64{"a": 1, "b": 2}})
	if err != nil || !p5.Hit[0][1] || p5.Cost[1] != 2 {
		t.Errorf("top5 with given costs: %+v %v", p5, err)
	}
	if _, err := LoadProfile(ctx, st, LoadOptions{Criterion: "top3"}); err == nil {
		t.Error("criterion top3 accepted")
	}
	if _, err := LoadProfile(ctx, st, LoadOptions{Criterion: "top1", Datasets: []string{"other"}}); err == nil {
		t.Error("missing data set accepted")
	}
	if _, err := LoadProfile(ctx, st, LoadOptions{Criterion: "top1", Costs: map[string]float64{"a": 1}}); err == nil {
		t.Error("missing cost accepted")
	}

	// Features join by content hash; an image lacking one is flagged.
	if err := st.PutFeatures(ctx, []store.FeatureRow{
		{SHA256: "h1", Version: "k", Name: "f", Value: 1}, {SHA256: "h1", Version: "k", Name: "g", Value: 2},
		{SHA256: "h2", Version: "k", Name: "f", Value: 3},
		{SHA256: "h2", Version: "other", Name: "g", Value: 9},
	}); err != nil {
		t.Fatal(err)
	}
	x, ok, err := Features(ctx, st, p, "k", []string{"g", "f"})
	if err != nil {
		t.Fatal(err)
	}
	if !ok[0] || ok[1] || x[0][0] != 2 || x[0][1] != 1 {
		t.Errorf("features %v ok %v", x, ok)
	}
	if k := p.Keep(ok); len(k.Images) != 1 || k.Images[0].File != "1.jpg" || len(k.Hit) != 1 {
		t.Errorf("Keep: %+v", k)
	}
}
