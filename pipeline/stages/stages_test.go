package stages

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/store"
)

// profileStore writes a store where model a (1 ms) is right on images 0-5,
// b (2 ms) on 0-7, c (5 ms) on 0-9 of 12, with the given write order.
func profileStore(t *testing.T, path string, reverse bool) pipeline.File {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	models := []string{"a", "b", "c"}
	right := map[string]int{"a": 6, "b": 8, "c": 10}
	cost := map[string]float64{"a": 1, "b": 2, "c": 5}
	for _, m := range models {
		if err := st.RegisterModel(ctx, m, `{"name":"`+m+`"}`, "sha-"+m); err != nil {
			t.Fatal(err)
		}
	}
	var imgs []store.ImageRow
	var preds []store.PredictionRow
	for i := 0; i < 12; i++ {
		f := string(rune('a'+i)) + ".jpg"
		imgs = append(imgs, store.ImageRow{Dataset: "d", File: f, SHA256: "h" + f, Label: 3})
		for _, m := range models {
			ok := i < right[m]
			pred := 4
			if ok {
				pred = 3
			}
			preds = append(preds, store.PredictionRow{Dataset: "d", File: f, Model: m, Top5Idx: []int{pred, 1, 2, 5, 6},
				Top5Score: []float64{0.9 - float64(i)/100, 0.05, 0.02, 0.02, 0.01}, Correct1: ok, Correct5: ok})
		}
	}
	if reverse {
		for i, j := 0, len(preds)-1; i < j; i, j = i+1, j-1 {
			preds[i], preds[j] = preds[j], preds[i]
		}
	}
	if err := st.WriteBatch(ctx, imgs, preds); err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		if err := st.PutCost(ctx, store.CostRow{Model: m, Threads: 1, N: 30, MeanMS: cost[m], MedianMS: cost[m],
			P95MS: cost[m], CILowMS: cost[m], CIHighMS: cost[m], EnergyStatus: "not measured: test",
			MeasuredAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Digest(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.File{Path: path, SHA256: "bytes-" + path, Digest: d}
}

// TestDigestIsAboutRows: two stores with the same rows written in another
// order have the same digest (and so give downstream stages the same keys).
func TestDigestIsAboutRows(t *testing.T) {
	dir := t.TempDir()
	a := profileStore(t, filepath.Join(dir, "a.db"), false)
	b := profileStore(t, filepath.Join(dir, "b.db"), true)
	if a.Digest != b.Digest || a.Identity() != b.Identity() {
		t.Errorf("equal rows, different digests: %s %s", a.Digest, b.Digest)
	}
}

// TestSelectModelsAndPickImagesAlone calls two stages on a hand-made store,
// without the rest of the pipeline.
func TestSelectModelsAndPickImagesAlone(t *testing.T) {
	dir := t.TempDir()
	r, err := pipeline.NewRunner(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f := profileStore(t, filepath.Join(dir, "p.db"), false)
	out, err := pipeline.Do(ctx, r, SelectModels(), SelectModelsIn{Store: f, Criterion: "top1", Theta: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	// a is optimum for 6 images, b for 2, c for 2, none for 2: Algorithm 1
	// starts from a, then adds the most accurate on the rest (c), then
	// stops (b rescues nothing more).
	if len(out.Trace.Chosen) != 2 || out.Models[out.Trace.Chosen[0]] != "a" || out.Models[out.Trace.Chosen[1]] != "c" {
		t.Errorf("chosen %v of %v", out.Trace.Chosen, out.Models)
	}
	if out.OracleAll < 83.3 || out.OracleAll > 83.4 || out.CostSource == "" {
		t.Errorf("oracle %v, cost source %q", out.OracleAll, out.CostSource)
	}
	if _, err := pipeline.Do(ctx, r, SelectModels(), SelectModelsIn{Store: f, Criterion: "top1", Models: []string{"zz"}}); err == nil {
		t.Error("an unknown model was accepted")
	}
	pick, err := pipeline.Do(ctx, r, PickImages(), PickImagesIn{Store: f, Dataset: "d", Models: []string{"c", "a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pick.Models) != 3 || pick.Models[0] != "a" || pick.Models[2] != "c" {
		t.Errorf("models not in cost order: %v", pick.Models)
	}
	roles := map[string]string{}
	for _, im := range pick.Images {
		roles[im.Role] = im.File
	}
	// Images 0-5: all right (cheap enough); 6-7: b and c (mid needed);
	// 8-9: only c (the largest); clearest first: the highest score.
	if roles[RoleCheap] != "a.jpg" || roles[RoleMid] != "g.jpg" || roles[RoleLargest] != "i.jpg" {
		t.Errorf("roles %v", roles)
	}
}
