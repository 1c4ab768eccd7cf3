package profileview

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelpick/modelpick/store"
)

// fixture writes models a (spec mmacs 10) and b (20); images 1-3 of data
// set d with both models' answers (image 3 with a NaN feature), image 4
// with only a's answer, image 5 unreadable, image 6 with a feature error
// and image 7 of another data set; features "x" and "y" under key "k".
func fixture(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for m, mmacs := range map[string]int{"b": 20, "a": 10} {
		if err := st.RegisterModel(ctx, m, fmt.Sprintf(`{"name":%q,"mmacs":%d}`, m, mmacs), "sha-"+m); err != nil {
			t.Fatal(err)
		}
	}
	top5 := func(first int) []int { return []int{first, 90, 91, 92, 93} }
	score := func(s float64) []float64 { return []float64{s, 0.01, 0.01, 0.01, 0.01} }
	var ims []store.ImageRow
	var preds []store.PredictionRow
	for i := 1; i <= 7; i++ {
		ds, file := "d", fmt.Sprintf("%d.jpg", i)
		if i == 7 {
			ds = "other"
		}
		im := store.ImageRow{Dataset: ds, File: file, SHA256: fmt.Sprintf("h%d", i), Label: i}
		if i == 5 {
			im.Error = "corrupt"
		}
		ims = append(ims, im)
		// a is right on odd images, b on images 1-2; a's top-5 always
		// holds the label.
		preds = append(preds, store.PredictionRow{Dataset: ds, File: file, Model: "a", Top5Idx: top5(i + i%2 - 1),
			Top5Score: score(0.1 * float64(i)), Correct1: i%2 == 1, Correct5: true})
		if i != 4 {
			preds = append(preds, store.PredictionRow{Dataset: ds, File: file, Model: "b", Top5Idx: top5(i),
				Top5Score: score(0.9), Correct1: i <= 2, Correct5: i <= 2})
		}
	}
	if err := st.WriteBatch(ctx, ims, preds); err != nil {
		t.Fatal(err)
	}
	var feats []store.FeatureRow
	for i := 1; i <= 7; i++ {
		x := float64(i)
		if i == 3 {
			x = math.NaN()
		}
		feats = append(feats, store.FeatureRow{SHA256: fmt.Sprintf("h%d", i), Version: "k", Name: "x", Value: x},
			store.FeatureRow{SHA256: fmt.Sprintf("h%d", i), Version: "k", Name: "y", Value: 2 * float64(i)})
	}
	if err := st.WriteFeatures(ctx, feats, []store.FeatureErrorRow{{SHA256: "h6", Version: "k", Error: "bad"}}); err != nil {
		t.Fatal(err)
	}
	return st
}

func putCosts(t *testing.T, st *store.Store, ms map[string]float64, threads ...int) {
	t.Helper()
	for m, v := range ms {
		for _, th := range threads {
			if err := st.PutCost(context.Background(), store.CostRow{Model: m, Threads: th, N: 30, MeanMS: v / float64(th),
				P95MS: 2 * v / float64(th), EnergyStatus: "not measured: test", MeasuredAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	st := fixture(t)
	o := Options{Criterion: Top1, Datasets: []string{"d"}}
	// No costs: the error names the fix; with MMACs allowed, the specs'.
	if _, err := Load(ctx, st, o); err == nil || !strings.Contains(err.Error(), "-cost") {
		t.Errorf("no costs: %v", err)
	}
	o.MMACs = true
	v, err := Load(ctx, st, o)
	if err != nil {
		t.Fatal(err)
	}
	if v.CostFrom.Kind != CostMMACs || !slices.Equal(v.Cost, []float64{10, 20}) || v.CostFrom.Unit() != "MMACs" {
		t.Errorf("mmacs cost %v from %+v", v.Cost, v.CostFrom)
	}
	// Images 1, 2, 3, 6 (store order); 4 lacks b, 5 is unreadable, 7 is
	// another data set.
	var files []string
	for _, it := range v.Items {
		files = append(files, it.File)
	}
	if !slices.Equal(files, []string{"1.jpg", "2.jpg", "3.jpg", "6.jpg"}) || !slices.Equal(v.Models, []string{"a", "b"}) {
		t.Errorf("items %v models %v", files, v.Models)
	}
	if v.Excluded[ExcludedUnreadable] != 1 || v.Excluded[ExcludedMissing] != 1 || len(v.Excluded) != 2 {
		t.Errorf("excluded %v", v.Excluded)
	}
	if v.Score[1][0] != 0.2 || v.Pred[1][0] != 1 || v.Pred[2][1] != 3 || v.Items[1].Label != 2 || v.FilesSHA256[1] != "sha-b" {
		t.Errorf("scores %v preds %v", v.Score, v.Pred)
	}

	// Measured latencies win, at 1 thread when every model has it.
	putCosts(t, st, map[string]float64{"a": 4, "b": 2}, 1, 2)
	o.MMACs = false
	if v, err = Load(ctx, st, o); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Cost, []float64{4, 2}) || !slices.Equal(v.CostP95, []float64{8, 4}) || v.CostFrom.String() !=
		"measured mean latency (ms) on this device at 1 thread(s)" || v.EnergyStatus != "not measured: test" {
		t.Errorf("cost %v p95 %v from %v, energy %q", v.Cost, v.CostP95, v.CostFrom, v.EnergyStatus)
	}
	o.Threads = 2
	if v, _ = Load(ctx, st, o); v == nil || !slices.Equal(v.Cost, []float64{2, 1}) {
		t.Errorf("at 2 threads: %+v", v)
	}
	o.Threads = 3
	if _, err := Load(ctx, st, o); err == nil || !strings.Contains(err.Error(), "-threads 3") {
		t.Errorf("3 threads: %v", err)
	}
	o.Threads = 0
	// Published latencies win over the costs table; costs from another
	// store over this one's.
	o.Published = &Published{Source: "a paper", MS: map[string]float64{"a": 5, "b": 7}}
	if v, _ = Load(ctx, st, o); v == nil || !slices.Equal(v.Cost, []float64{5, 7}) || v.CostFrom.String() != "published latency (ms): a paper" {
		t.Errorf("published: %+v", v)
	}
	o.Published.MS = map[string]float64{"a": 5}
	if _, err := Load(ctx, st, o); err == nil {
		t.Error("a published source without b accepted")
	}
	o.Published = nil
	other, err := store.Open(filepath.Join(t.TempDir(), "costs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, m := range []string{"a", "b"} {
		if err := other.RegisterModel(ctx, m, `{}`, "x"); err != nil {
			t.Fatal(err)
		}
	}
	putCosts(t, other, map[string]float64{"a": 1, "b": 3}, 1)
	o.CostStore = other
	if v, _ = Load(ctx, st, o); v == nil || !slices.Equal(v.Cost, []float64{1, 3}) {
		t.Errorf("costs from another store: %+v", v)
	}

	for name, bad := range map[string]Options{
		"criterion":     {Criterion: "top3"},
		"no data set":   {Criterion: Top1, Datasets: []string{"nope"}},
		"no such model": {Criterion: Top1, Models: []string{"zz"}},
	} {
		if _, err := Load(ctx, st, bad); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	// Only model a: image 4 counts now.
	if v, err = Load(ctx, st, Options{Criterion: Top1, Datasets: []string{"d"}, Models: []string{"a"}}); err != nil || len(v.Items) != 5 {
		t.Errorf("only a: %v, %v", v, err)
	}
}

func TestTop5NeedsFiveClasses(t *testing.T) {
	ctx := context.Background()
	st := fixture(t)
	putCosts(t, st, map[string]float64{"a": 1, "b": 2}, 1)
	if err := st.WriteBatch(ctx, nil, []store.PredictionRow{{Dataset: "d", File: "1.jpg", Model: "b", Top5Idx: []int{1},
		Top5Score: []float64{1}, Correct1: true, Correct5: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, st, Options{Criterion: Top5}); err == nil || !strings.Contains(err.Error(), "-criterion top1") {
		t.Errorf("short top-5 list: %v", err)
	}
	if _, err := Load(ctx, st, Options{Criterion: Top1}); err != nil {
		t.Errorf("top1 on a short list: %v", err)
	}
}

func TestFeatures(t *testing.T) {
	ctx := context.Background()
	st := fixture(t)
	putCosts(t, st, map[string]float64{"a": 1, "b": 2}, 1)
	tab, err := LoadTable(ctx, st, Options{Criterion: Top1, Datasets: []string{"d"}}, "k", []string{"y", "x"})
	if err != nil {
		t.Fatal(err)
	}
	// Image 3 has a NaN, image 6 a feature error: left out and counted.
	if len(tab.X) != 2 || !slices.Equal(tab.X[1], []float64{4, 2}) || tab.Items[1].File != "2.jpg" ||
		tab.Excluded[ExcludedNonFinite] != 1 || tab.Excluded[ExcludedFeatureErr] != 1 || tab.Excluded[ExcludedMissing] != 1 {
		t.Errorf("table %v %+v excluded %v", tab.X, tab.Items, tab.Excluded)
	}
	v, _ := Load(ctx, st, Options{Criterion: Top1, Datasets: []string{"d"}})
	if len(v.Excluded) != 2 {
		t.Errorf("the join changed the view's counts: %v", v.Excluded)
	}
	for name, c := range map[string]struct {
		key   string
		names []string
		want  string
	}{
		"other key":    {"nope", []string{"x"}, "no features under nope"},
		"absent name":  {"k", []string{"x", "z"}, "no values of z"},
		"named twice":  {"k", []string{"x", "x"}, "named twice"},
		"no names":     {"k", nil, "need feature names"},
		"none has all": {"k", []string{"x"}, ""},
	} {
		_, err := v.Features(ctx, st, c.key, c.names)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	sub := tab.Subset([]int{1})
	if len(sub.X) != 1 || sub.Items[0].File != "2.jpg" || sub.Correct1[0][1] != true {
		t.Errorf("subset %+v", sub)
	}
}

// TestTargetsAndOracle checks the one rule: the cheapest correct model,
// equal costs ordered by the tie rule's key (no MMACs here: the name);
// the oracle falls back to the cheapest.
func TestTargetsAndOracle(t *testing.T) {
	v := &View{Models: []string{"big", "mid", "small", "twin"}, Cost: []float64{4, 2, 1, 1}, Items: make([]Item, 4),
		Correct1: [][]bool{
			{true, true, true, true},
			{true, true, false, false},
			{true, false, false, true},
			{false, false, false, false},
		}}
	if y, err := v.Targets(nil); err != nil || !slices.Equal(y, []int{2, 1, 3, None}) {
		t.Errorf("targets %v, %v", y, err)
	}
	// Over twin, small: the tie goes by name (small), whatever the
	// columns' order.
	if y, _ := v.Targets([]int{3, 2}); !slices.Equal(y, []int{1, None, 0, None}) {
		t.Errorf("targets over twin, small: %v", y)
	}
	if o, _ := v.Oracle([]int{0, 1}); !slices.Equal(o, []int{1, 1, 0, 1}) {
		t.Errorf("oracle over big, mid: %v", o)
	}
	if o, _ := v.Oracle(nil); !slices.Equal(o, []int{2, 1, 3, 2}) {
		t.Errorf("oracle: %v", o)
	}
	if acc := v.Accuracy(); !slices.Equal(acc, []float64{75, 50, 25, 50}) {
		t.Errorf("accuracy %v", acc)
	}
	if _, err := v.Columns([]string{"mid", "nope"}); err == nil {
		t.Error("an unknown model has a column")
	}
	k := v.Keep([]bool{false, true, false, true})
	if len(k.Correct1) != 2 || k.Correct5 != nil || k.Correct1[1][0] {
		t.Errorf("keep %+v", k)
	}
}

// TestCostOrder checks the tie rule on the ladder's latencies (ms, one
// thread, as measured here) and its edges.
func TestCostOrder(t *testing.T) {
	names := []string{"v1_0.25", "v1_0.5", "v1_0.75", "v1_1.0", "v2", "tf2_v2", "edgetpu"}
	mmacs := []float64{13.6, 76.5, 239.3, 568.7, 300.8, 300.8, 624.5}
	cost := []float64{0.43, 0.76, 1.54, 2.64, 2.42, 2.41, 2.68}
	order := func(cost []float64, res float64) []string {
		var out []string
		for _, j := range CostOrder(cost, mmacs, names, res) {
			out = append(out, names[j])
		}
		return out
	}
	ladder := []string{"v1_0.25", "v1_0.5", "v1_0.75", "tf2_v2", "v2", "v1_1.0", "edgetpu"}
	// No resolution: latency alone.
	if got := order(cost, 0); !slices.Equal(got, ladder) {
		t.Errorf("res 0: %v", got)
	}
	// 10%: 2.41-2.68 is one cluster (gaps 0.4%, 9.1%, 1.5%), ordered by
	// MMACs, the twins (equal MMACs) by name ("tf2_v2" < "v2").
	want := []string{"v1_0.25", "v1_0.5", "v1_0.75", "tf2_v2", "v2", "v1_1.0", "edgetpu"}
	if got := order(cost, 0.10); !slices.Equal(got, want) {
		t.Errorf("res 0.10: %v, want %v", got, want)
	}
	// Swapping the near-ties' latencies changes nothing at 10%, and the
	// order at 0 follows the swap.
	swapped := slices.Clone(cost)
	swapped[3], swapped[6] = 2.68, 2.64 // v1_1.0 and edgetpu swap
	swapped[4], swapped[5] = 2.41, 2.42 // v2 and tf2 swap
	if got := order(swapped, 0.10); !slices.Equal(got, want) {
		t.Errorf("res 0.10, swapped: %v, want %v", got, want)
	}
	if got := order(swapped, 0); slices.Equal(got, ladder) {
		t.Errorf("res 0 did not follow the swap: %v", got)
	}
	// Single linkage chains: 1, 1.08, 1.16 are one cluster at 10% though
	// the ends are 16% apart; MMACs order it.
	chain := CostOrder([]float64{1.16, 1.08, 1}, []float64{1, 2, 3}, []string{"a", "b", "c"}, 0.10)
	if !slices.Equal(chain, []int{0, 1, 2}) {
		t.Errorf("chain %v, want by MMACs [0 1 2]", chain)
	}
	// A gap just over the resolution separates; unknown MMACs go last;
	// zero costs compare by value.
	if got := CostOrder([]float64{1, 1.1001}, []float64{5, 1}, nil, 0.10); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("gap over the resolution: %v", got)
	}
	if got := CostOrder([]float64{1, 1.05}, []float64{0, 1}, []string{"a", "b"}, 0.10); !slices.Equal(got, []int{1, 0}) {
		t.Errorf("unknown MMACs: %v", got)
	}
	if got := CostOrder([]float64{0, 0, -1}, nil, []string{"b", "a", "c"}, 0.10); !slices.Equal(got, []int{2, 1, 0}) {
		t.Errorf("non-positive costs: %v", got)
	}
}

// TestRanksFollowTheRule: a view ranks, and so targets, by the tie rule;
// its times stay the measured ones.
func TestRanksFollowTheRule(t *testing.T) {
	v := &View{Models: []string{"big", "small"}, Cost: []float64{1.00, 1.02}, MMACs: []float64{600, 300},
		Resolution: Resolution, Items: make([]Item, 1), Correct1: [][]bool{{true, true}}}
	if y, _ := v.Targets(nil); !slices.Equal(y, []int{1}) {
		t.Errorf("targets %v: the model with fewer MMACs wins a tie within the resolution", y)
	}
	if !v.Cheaper(1, 0) || v.Cheapest([]int{0, 1}) != 1 || !slices.Equal(v.ByCost([]int{0, 1}), []int{1, 0}) {
		t.Errorf("order %v", v.Order())
	}
	v.Resolution = 0
	if y, _ := v.Targets(nil); !slices.Equal(y, []int{0}) {
		t.Errorf("targets %v without resolution: the faster wins", y)
	}
	if v.Cost[0] != 1.00 {
		t.Error("ranking changed a cost")
	}
}
