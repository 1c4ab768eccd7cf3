package featsel

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/selection"
	"github.com/modelpick/modelpick/store"
)

// fixtureStore writes three models (mmacs: big 100, small 10, mid 50), six
// images and two features under key "k". Image i's correctness is given by
// rows; image 4 has a feature error, image 5 no features.
func fixtureStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for name, mmacs := range map[string]float64{"big": 100, "small": 10, "mid": 50} {
		if err := st.RegisterModel(ctx, name, fmt.Sprintf(`{"name":%q,"mmacs":%v}`, name, mmacs), "x"); err != nil {
			t.Fatal(err)
		}
	}
	// correct@1 / correct@5 of big, mid, small per image.
	rows := []struct{ c1, c5 [3]bool }{
		{[3]bool{true, true, true}, [3]bool{true, true, true}},      // small
		{[3]bool{true, true, false}, [3]bool{true, true, true}},     // mid | small
		{[3]bool{true, false, false}, [3]bool{true, false, false}},  // big
		{[3]bool{false, false, false}, [3]bool{false, true, false}}, // none | mid
		{[3]bool{true, true, true}, [3]bool{true, true, true}},      // feature error
		{[3]bool{true, true, true}, [3]bool{true, true, true}},      // no features
	}
	var ims []store.ImageRow
	var preds []store.PredictionRow
	var feats []store.FeatureRow
	for i, r := range rows {
		file, sha := fmt.Sprintf("f%d.jpg", i), fmt.Sprintf("sha%d", i)
		ims = append(ims, store.ImageRow{Dataset: "d", File: file, SHA256: sha, Label: 1, Width: 9, Height: 9})
		for m, name := range []string{"big", "mid", "small"} {
			preds = append(preds, store.PredictionRow{Dataset: "d", File: file, Model: name, Top5Idx: []int{1, 2, 3, 4, 5}, Top5Score: []float64{1, 0, 0, 0, 0},
				Correct1: r.c1[m], Correct5: r.c5[m]})
		}
		if i < 5 {
			feats = append(feats, store.FeatureRow{SHA256: sha, Version: "k", Name: "a", Value: float64(i)},
				store.FeatureRow{SHA256: sha, Version: "k", Name: "b", Value: float64(i * i)})
		}
	}
	if err := st.WriteBatch(ctx, ims, preds); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteFeatures(ctx, feats, []store.FeatureErrorRow{{SHA256: "sha4", Version: "k", Error: "corrupt"}}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestTableOf(t *testing.T) {
	ctx := context.Background()
	st := fixtureStore(t)
	o := profileview.Options{Criterion: profileview.Top1, MMACs: true}
	load := func(o profileview.Options, key string) (Table, LoadInfo, error) {
		p, err := profileview.LoadTable(ctx, st, o, key, []string{"b", "a"})
		if err != nil {
			return Table{}, LoadInfo{}, err
		}
		return TableOf(p)
	}
	tab, info, err := load(o, "k")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Models, []string{"big", "mid", "small"}) || !strings.Contains(info.CostSource, "mmacs") {
		t.Fatalf("info %+v", info)
	}
	// Models sorted by name: big 0, mid 1, small 2.
	if !slices.Equal(tab.Y, []int{2, 1, 0, selection.None}) || tab.Classes != 3 {
		t.Errorf("top-1 targets %v", tab.Y)
	}
	if !slices.Equal(tab.X[3], []float64{9, 3}) || !slices.Equal(tab.Names, []string{"b", "a"}) {
		t.Errorf("row 3 %v names %v", tab.X[3], tab.Names)
	}
	if info.Excluded["feature error"] != 1 || info.Excluded["features not extracted"] != 1 || info.Images != 4 {
		t.Errorf("excluded %v", info.Excluded)
	}
	if info.TargetCounts["none"] != 1 || info.TargetCounts["small"] != 1 {
		t.Errorf("target counts %v", info.TargetCounts)
	}

	o.Criterion = profileview.Top5
	tab, _, _ = load(o, "k")
	if !slices.Equal(tab.Y, []int{2, 2, 0, 1}) {
		t.Errorf("top-5 targets %v", tab.Y)
	}

	// Measured latencies win over MMACs: here mid is the fastest at 1 thread.
	for name, ms := range map[string]float64{"big": 9, "mid": 1, "small": 5} {
		for _, th := range []int{1, 4} {
			if err := st.PutCost(ctx, store.CostRow{Model: name, PlatformJSON: "{}", Threads: th, N: 10, MeanMS: ms * float64(th),
				EnergyStatus: "not measured", MeasuredAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	o.Criterion = profileview.Top1
	tab, info, err = load(o, "k")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info.CostSource, "at 1 thread") || !slices.Equal(info.Cost, []float64{9, 1, 5}) {
		t.Errorf("cost %v from %q", info.Cost, info.CostSource)
	}
	if !slices.Equal(tab.Y, []int{1, 1, 0, selection.None}) {
		t.Errorf("targets by latency %v", tab.Y)
	}

	for _, bad := range []struct {
		o   profileview.Options
		key string
	}{
		{profileview.Options{Criterion: "top3"}, "k"},
		{profileview.Options{Criterion: profileview.Top1}, "other"},
		{profileview.Options{Criterion: profileview.Top1, Datasets: []string{"nope"}}, "k"},
	} {
		if _, _, err := load(bad.o, bad.key); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
