package committee

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/internal/onnxtest"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/store"
)

// fixture: a tiny labelled set and three tiny models that disagree, in a
// spec with two committees of them.
type fixture struct {
	dir  string
	set  *datasets.Set
	spec *inference.SpecFile
}

const fixtureSpec = `models:
  - {name: a, files: [a.onnx], input_size: 8, std: [255, 255, 255], label_offset: 1, num_classes: 10}
  - {name: b, files: [b.onnx], input_size: 8, std: [255, 255, 255], label_offset: 1, num_classes: 10}
  - {name: c, files: [c.onnx], input_size: 8, std: [255, 255, 255], label_offset: 1, num_classes: 10}
  - {name: a+b, members: [a, b]}
  - {name: a+b+c, members: [a, b, c]}
`

// weights gives a tiny classifier (11 outputs, background at 0, so output
// o is class o-1) the logit per unit of each colour channel:
// w[channel] = {output: weight}.
func weights(w [3]map[int]float32) [][]float32 {
	out := make([][]float32, 3)
	for c := range out {
		out[c] = make([]float32, 11)
		for o, v := range w[c] {
			out[c][o] = v
		}
	}
	return out
}

func newFixture(t *testing.T, n int) fixture {
	t.Helper()
	dir := t.TempDir()
	// The set cycles red, green, blue, yellow (imgtest.Palette), labelled
	// classes 2, 4, 6, 9. On red, a says class 0 and b class 1, each with
	// class 2 a close second, so a+b says class 2 and is right where
	// neither is. On green a is right and surer than b is wrong; on blue
	// both are right; on yellow nobody is. c is right on blue only.
	labels := []int{2, 4, 6, 9}
	if _, err := imgtest.WriteSet(filepath.Join(dir, "set"), n, 24, func(i int) int { return labels[i%len(labels)] }); err != nil {
		t.Fatal(err)
	}
	for name, w := range map[string][][]float32{
		"a.onnx": weights([3]map[int]float32{{1: 6, 3: 5.7}, {5: 7}, {7: 6}}),
		"b.onnx": weights([3]map[int]float32{{2: 6, 3: 5.7}, {6: 6}, {7: 6}}),
		"c.onnx": weights([3]map[int]float32{{}, {}, {7: 6}}),
	} {
		b, err := onnxtest.Classifier{Size: 8, Outputs: 11, Weights: w}.Build()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := onnxtest.Write(dir, name, b); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "models.yaml")
	if err := os.WriteFile(p, []byte(fixtureSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	sf, err := inference.ParseSpecFile(p)
	if err != nil {
		t.Fatal(err)
	}
	set, err := datasets.Load(filepath.Join(dir, "set"))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{dir: dir, set: set, spec: sf}
}

func (f fixture) singles() []inference.Spec { return f.spec.Models[:3] }

func (f fixture) probsOptions() ProbsOptions {
	return ProbsOptions{Load: inference.Options{CacheDir: filepath.Join(f.dir, "onnx")}, CacheDir: filepath.Join(f.dir, "cache")}
}

// profileStore profiles every model of the spec (correctness and cost).
func (f fixture) profileStore(t *testing.T, name string) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(f.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o := profile.Options{Specs: f.spec.Models, Load: inference.Options{CacheDir: filepath.Join(f.dir, "onnx")}, Set: f.set, Store: st,
		Correctness: true, Cost: true,
		Timing: measure.TimingOptions{Warmup: 1, MinRuns: 5, MaxRuns: 30, Confidence: 0.95, RelHalfWidth: 0.5, MaxDuration: 2 * time.Second}}
	if _, err := profile.Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestProbsCache(t *testing.T) {
	f := newFixture(t, 8)
	ctx := context.Background()
	o := f.probsOptions()
	ps, err := ComputeProbs(ctx, f.singles(), f.set, o)
	if err != nil {
		t.Fatal(err)
	}
	// Each row is the model's own output on that image.
	for k, s := range f.singles() {
		m, err := inference.Load(s, o.Load)
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range f.set.Items {
			img, err := inference.DecodeImageFile(filepath.Join(f.set.Dir, it.File))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Classify(img, 1); err != nil {
				t.Fatal(err)
			}
			img.Close()
			for c, v := range m.Scores() {
				if ps[k].Row(i)[c] != v {
					t.Fatalf("%s image %d output %d: cached %g, model %g", s.Name, i, c, ps[k].Row(i)[c], v)
				}
			}
		}
		m.Close()
	}
	// A second call reads the cache: a damaged entry is refused, by name.
	data := CachePath(o.CacheDir, ps[1])
	raw, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	raw[7] ^= 0xff
	if err := os.WriteFile(data, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ComputeProbs(ctx, f.singles(), f.set, o); err == nil || !strings.Contains(err.Error(), data) || !strings.Contains(err.Error(), "hash differs") {
		t.Fatalf("damaged cache entry: %v", err)
	}
	// Deleted, it is recomputed, equal to the first.
	os.Remove(data)
	os.Remove(strings.TrimSuffix(data, ".f32") + ".json")
	again, err := ComputeProbs(ctx, f.singles(), f.set, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range again[1].P {
		if v != ps[1].P[i] {
			t.Fatalf("recomputed vectors differ at %d", i)
		}
	}
	// Other image bytes: another key.
	if err := imgtest.WriteJPEG(filepath.Join(f.set.Dir, f.set.Items[0].File), imgtest.Solid(24, 24, imgtest.Palette[2])); err != nil {
		t.Fatal(err)
	}
	changed, err := ComputeProbs(ctx, f.singles()[:1], f.set, o)
	if err != nil {
		t.Fatal(err)
	}
	if changed[0].Key == ps[0].Key {
		t.Error("a changed image kept the cache key")
	}
	if _, err := ComputeProbs(ctx, f.singles(), f.set, ProbsOptions{Load: o.Load}); err == nil || !strings.Contains(err.Error(), "no cache folder") {
		t.Errorf("no cache folder: %v", err)
	}
	if _, err := ComputeProbs(ctx, f.spec.Models[3:4], f.set, o); err == nil || !strings.Contains(err.Error(), "a+b is a committee") {
		t.Errorf("committee vectors: %v", err)
	}
}

// The trace's level l answers exactly as the committee of the first l+1
// models does when it is profiled as a model.
func TestTraceMatchesProfiledCommittees(t *testing.T) {
	f := newFixture(t, 16)
	st := f.profileStore(t, "s.db")
	ps, err := ComputeProbs(context.Background(), f.singles(), f.set, f.probsOptions())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrace(ps, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	preds, err := st.Predictions(context.Background(), f.set.Name)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ model, file string }
	stored := map[key]store.PredictionRow{}
	for _, p := range preds {
		stored[key{p.Model, p.File}] = p
	}
	differ := 0
	for l, model := range []string{"a", "a+b", "a+b+c"} {
		for i, file := range tr.Files {
			lv, p := tr.Levels[l][i], stored[key{model, file}]
			if lv.Correct1 != p.Correct1 || lv.Correct5 != p.Correct5 || lv.Top1 != p.Top5Idx[0] || float32(lv.MaxProb) != float32(p.Top5Score[0]) {
				t.Fatalf("level %d %s: trace %+v, profiled %s %+v", l, file, lv, model, p)
			}
			if math.Abs(lv.Margin-(p.Top5Score[0]-p.Top5Score[1])) > 1e-6 {
				t.Errorf("level %d %s: margin %g, stored top-2 gap %g", l, file, lv.Margin, p.Top5Score[0]-p.Top5Score[1])
			}
			if lv.Entropy < 0 || lv.Entropy > math.Log(10)+1e-9 || lv.Agree < 0 || lv.Agree > 1 || (l == 0 && lv.Agree != 1) {
				t.Errorf("level %d %s: statistics out of range %+v", l, file, lv)
			}
			if l > 0 && lv.Correct1 != tr.Levels[0][i].Correct1 {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Error("committees never answer differently from their first member: the fixture tests nothing")
	}
	// Red images (every fourth): a+b is right with a class neither member
	// chose, so no member agrees with it.
	if lv := tr.Levels[1][0]; !lv.Correct1 || lv.Agree != 0 || tr.Levels[0][0].Correct1 {
		t.Errorf("red image: a %+v, a+b %+v", tr.Levels[0][0], lv)
	}
	top1, _ := tr.Accuracy(0)
	if top1 <= 0 || top1 >= 1 {
		t.Errorf("level 0 top-1 %g: the fixture should be partly right", top1)
	}
	for _, bad := range []struct {
		order []string
		want  string
	}{
		{nil, "empty level order"},
		{[]string{"a", "zz"}, `no vectors for model "zz"`},
		{[]string{"a", "b", "a"}, `"a" is already level 0's model`},
	} {
		if _, err := NewTrace(ps, bad.order); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("order %v: %v, want %q", bad.order, err, bad.want)
		}
	}
	other := *ps[1]
	other.Files = other.Files[:3]
	if _, err := NewTrace([]*Probs{ps[0], &other}, []string{"a", "b"}); err == nil || !strings.Contains(err.Error(), "compute them on the same set") {
		t.Errorf("vectors of other images: %v", err)
	}
}

// handProbs makes vectors for two classes (no background) on four images
// whose label is class 0; rows give each image's class-0 probability.
func handProbs(model string, class0 ...float32) *Probs {
	p := &Probs{Model: model, Dataset: "hand", Outputs: 2, NumClasses: 2,
		Files: []string{"0", "1", "2", "3"}, Labels: []int{0, 0, 0, 0}, Errors: make([]string, 4),
		Inputs: map[string]string{"images_sha256": "h"}}
	for _, v := range class0 {
		p.P = append(p.P, v, 1-v)
	}
	return p
}

func TestSelectKeepsTheParetoFront(t *testing.T) {
	// x and y are each right on two images and disagree; z is right on
	// three. x+y is right on all four at cost 2; x+z is no better than z
	// and dearer; y+z and x+y+z equal x+y's top-1 at a higher cost.
	probs := []*Probs{
		handProbs("x", 0.9, 0.9, 0.4, 0.4),
		handProbs("y", 0.4, 0.4, 0.95, 0.95),
		handProbs("z", 0.7, 0.7, 0.7, 0.2),
	}
	cost := map[string]float64{"x": 1, "y": 1, "z": 5}
	sel, err := Select(probs, cost, []int{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		top1, cost float64
		by         string
	}{
		"x": {0.5, 1, ""}, "y": {0.5, 1, ""}, "z": {0.75, 5, ""},
		"x+y": {1, 2, ""}, "x+z": {0.75, 6, "x+y"}, "y+z": {1, 6, "x+y"}, "x+y+z": {1, 7, "x+y"},
	}
	if len(sel.Candidates) != len(want) {
		t.Fatalf("%d candidates, want %d: %+v", len(sel.Candidates), len(want), sel.Candidates)
	}
	for _, c := range sel.Candidates {
		w := want[c.Name]
		if c.Top1 != w.top1 || c.CostMS != w.cost || c.DominatedBy != w.by || c.Chosen != (len(c.Members) > 1 && w.by == "") {
			t.Errorf("%s: %+v, want top-1 %g cost %g dominated by %q", c.Name, c, w.top1, w.cost, w.by)
		}
	}
	if ch := sel.Chosen(); len(ch) != 1 || ch[0].Name != "x+y" || sel.Images != 4 {
		t.Errorf("chosen %+v on %d images", ch, sel.Images)
	}
	for _, bad := range []struct {
		sizes []int
		cost  map[string]float64
		want  string
	}{
		{[]int{1}, cost, "size 1"},
		{[]int{4}, cost, "size 4"},
		{[]int{2, 2}, cost, "given twice"},
		{nil, cost, "no committee sizes"},
		{[]int{2}, map[string]float64{"x": 1, "y": 1}, "no measured cost for z"},
	} {
		if _, err := Select(probs, bad.cost, bad.sizes); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("sizes %v: %v, want %q", bad.sizes, err, bad.want)
		}
	}
}

func TestChooseWritesASpecAndCompare(t *testing.T) {
	f := newFixture(t, 16)
	ctx := context.Background()
	singles := filepath.Join(f.dir, "singles.yaml")
	if err := os.WriteFile(singles, []byte(strings.Join(strings.Split(fixtureSpec, "\n")[:4], "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sf, err := inference.ParseSpecFile(singles)
	if err != nil {
		t.Fatal(err)
	}
	st := f.profileStore(t, "train.db")
	sel, err := Choose(ctx, ChooseOptions{Spec: sf, Set: f.set, Costs: st, Sizes: []int{2, 3}, Probs: f.probsOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if agree := sel.Inputs["store_top1_agreement"].(map[string]string); agree["a"] != "16/16" || agree["c"] != "16/16" {
		t.Errorf("store and vectors disagree: %v", agree)
	}
	if ch := sel.Chosen(); len(ch) != 1 || ch[0].Name != "a+b" {
		t.Errorf("chosen %+v, want a+b alone (right on red where a and b are wrong; a+b+c no better and dearer)", ch)
	}
	out := filepath.Join(f.dir, "committees.yaml")
	if err := sel.WriteSpec(singles, out, []string{"test header"}); err != nil {
		t.Fatal(err)
	}
	written, err := inference.ParseSpecFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range written.Models[3:] {
		got = append(got, m.Name)
	}
	var want []string
	for _, c := range sel.Chosen() {
		want = append(want, c.Name)
	}
	if len(written.Models) != 3+len(want) || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("written spec has %v, chosen %v", got, want)
	}
	if err := sel.WriteSpec(out, filepath.Join(f.dir, "again.yaml"), nil); err == nil || !strings.Contains(err.Error(), "already has committee") {
		t.Errorf("a source with committees: %v", err)
	}
	// A store that profiled other files under a model's name is refused.
	other := filepath.Join(f.dir, "other.yaml")
	if err := os.WriteFile(other, []byte(strings.Replace(fixtureSpec, "files: [a.onnx]", "files: [c.onnx]", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	osf, err := inference.ParseSpecFile(other)
	if err != nil {
		t.Fatal(err)
	}
	osf.Models = osf.Models[:3]
	if _, err := Choose(ctx, ChooseOptions{Spec: osf, Set: f.set, Costs: st, Sizes: []int{2}, Probs: f.probsOptions()}); err == nil || !strings.Contains(err.Error(), "profiled a with other files") {
		t.Errorf("store of other files: %v", err)
	}

	// The report: the fixture's spec (singles and two committees) on the
	// profiled store, chosen on it too.
	c, err := Compare(ctx, CompareOptions{Spec: f.spec, Train: st, Stores: []*store.Store{st}, Resamples: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sets[0]
	var ref, best ModelResult
	for _, m := range s.Models {
		if m.Name == s.Reference {
			ref = m
		}
		if m.Name == c.Best {
			best = m
		}
	}
	if ref.LatencyRatio != 1 || s.Gain.N != 16 || math.Abs(s.Gain.Estimate-(best.Top1-ref.Top1)) > 1e-12 || s.Gain.Low > s.Gain.Estimate || s.Gain.High < s.Gain.Estimate {
		t.Errorf("reference %+v, best %+v, gain %+v", ref, best, s.Gain)
	}
	if !strings.Contains(c.Best, "+") || strings.Contains(s.Reference, "+") {
		t.Errorf("reference %s must be a single model and best %s a committee", s.Reference, c.Best)
	}
	var md strings.Builder
	c.Markdown(&md)
	if !strings.Contains(md.String(), "| **"+c.Best+"** | ") || !strings.Contains(md.String(), "paired bootstrap over 16 images, 200 resamples, seed 1") {
		t.Errorf("markdown:\n%s", md.String())
	}
}
