package premodel

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/store"
)

func TestCascadeBundleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path, specs := makeStore(t, dir, world{n: 20, seed: 5, dataset: "train"})
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := LoadProfile(context.Background(), st, ProfileOptions{Criterion: Top1})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := &SoftmaxCascade{Levels: []string{"small", "mid", "big"}, Thresholds: []float64{0.6, 0.4}}
	out := filepath.Join(dir, "cascade")
	cal := baselines.Calibration{Rule: baselines.RuleGreedy, Objective: baselines.Objective{BudgetMS: 3}, Met: true}
	if err := WriteCascadeBundle(out, c, CascadeInput{Profile: prof, Calibration: cal, Specs: specs,
		Labels: []string{"x", "y"}, LabelsSource: "test"}); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBundle(out)
	if err != nil {
		t.Fatal(err)
	}
	if b.Premodel != nil || b.Cascade == nil || b.Router != Router(b.Cascade) || !reflect.DeepEqual(*b.Cascade, *c) {
		t.Fatalf("loaded %+v, want cascade %+v", b, c)
	}
	m := b.Manifest
	if m.Router != RouterSoftmaxCascade || m.Version != BundleVersion || m.Cascade.Calibration.Rule != baselines.RuleGreedy ||
		len(m.Models) != 3 || len(b.Specs) != 3 || b.Specs[0].Name != "small" || !reflect.DeepEqual(b.Labels, []string{"x", "y"}) {
		t.Errorf("manifest %+v, specs %v", m, b.Specs)
	}
	if got := c.Features(); got != nil {
		t.Errorf("features %v", got)
	}
	d, err := b.Router.Route(Input{})
	if err != nil || d.Model != "small" || d.Reason != ReasonCascade {
		t.Errorf("route %+v %v", d, err)
	}
	for _, tc := range []struct {
		level int
		top1  float64
		want  string
	}{{0, 0.59, "mid"}, {0, 0.6, ""}, {1, 0.39, "big"}, {1, 0.9, ""}, {2, 0, ""}} {
		if got := c.Next(tc.level, tc.top1); got != tc.want {
			t.Errorf("Next(%d, %v) = %q, want %q", tc.level, tc.top1, got, tc.want)
		}
	}

	// Evaluated on the store: every model scores 0.5 top-1, so small
	// (threshold 0.6) always escalates and mid (threshold 0.4) answers.
	st, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	bp, err := baselines.LoadProfile(context.Background(), st, baselines.LoadOptions{Criterion: "top1", Costs: testCost})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := EvaluateCascade(b.Cascade, Top1, bp)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Cascade; rep.Images != 20 || r.MeanMS != 3 || r.Share["mid"] != 100 || r.Runs != 2 ||
		r.Accuracy != rep.Singles["mid"].Accuracy || rep.Oracle.Accuracy < r.Accuracy {
		t.Errorf("evaluated on the store: %+v", rep)
	}

	// A tampered model file is refused; a manifest without levels too.
	mf := filepath.Join(out, "models", "mid", "mid.onnx")
	if err := os.WriteFile(mf, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBundle(out); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "mid.onnx") {
		t.Errorf("tampered: %v", err)
	}
	if _, err := rebuildCascade(&Manifest{Router: RouterSoftmaxCascade, Criterion: Top1}); !errors.Is(err, ErrBundle) {
		t.Errorf("no cascade entry: %v", err)
	}
	if _, err := rebuildCascade(&Manifest{Router: RouterSoftmaxCascade, Criterion: Top1,
		Cascade: &CascadeInfo{Levels: []string{"a", "b"}}}); !errors.Is(err, ErrBundle) {
		t.Errorf("missing threshold: %v", err)
	}
}

// A bundle written before the router field existed loads as a learner.
func TestBundleWithoutRouterIsLearner(t *testing.T) {
	out, _ := writeTestBundle(t)
	mf := filepath.Join(out, manifestFile)
	raw, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(raw), `"router": "learner",`, "", 1)
	if s == string(raw) {
		t.Fatal("no router field in the manifest")
	}
	if err := os.WriteFile(mf, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBundle(out)
	if err != nil || b.Premodel == nil || b.Router != Router(b.Premodel) || b.Manifest.Router != RouterLearner {
		t.Fatalf("old bundle: %v", err)
	}
}

// TestEvaluateCascade checks the figures on a hand-made test profile.
func TestEvaluateCascade(t *testing.T) {
	// Columns: big (3 ms), cheap (1 ms). Cascade cheap > big, threshold 0.5.
	p := baselines.Profile{
		Images: make([]baselines.Image, 4),
		Models: []string{"big", "cheap"},
		Cost:   []float64{3, 1},
		Hit:    [][]bool{{true, true}, {true, false}, {true, false}, {false, true}},
		Score:  [][]float64{{0.9, 0.9}, {0.9, 0.3}, {0.9, 0.8}, {0.9, 0.2}},
	}
	c := &SoftmaxCascade{Levels: []string{"cheap", "big"}, Thresholds: []float64{0.5}}
	rep, err := EvaluateCascade(c, Top1, p)
	if err != nil {
		t.Fatal(err)
	}
	// Image 0: cheap answers right (1 ms); 1: escalates, big right (4 ms);
	// 2: cheap answers wrong (1 ms); 3: escalates, big wrong (4 ms).
	r := rep.Cascade
	if r.Hits != 2 || r.Accuracy != 50 || r.MeanMS != 2.5 || r.Share["cheap"] != 50 || r.Share["big"] != 50 || r.Runs != 1.5 {
		t.Errorf("cascade %+v", r)
	}
	if rep.Singles["big"].Accuracy != 75 || rep.Singles["cheap"].Accuracy != 50 || rep.Singles["big"].MeanMS != 3 {
		t.Errorf("singles %+v", rep.Singles)
	}
	if rep.Oracle.Accuracy != 100 || rep.Oracle.MeanMS != 2 || math.Abs(rep.OfOracle-50) > 1e-9 {
		t.Errorf("oracle %+v, of oracle %v", rep.Oracle, rep.OfOracle)
	}
	if md := rep.Markdown(); !strings.Contains(md, "softmax-cascade | 50.00 | 2.500") {
		t.Errorf("markdown:\n%s", md)
	}
	if _, err := EvaluateCascade(&SoftmaxCascade{Levels: []string{"cheap", "huge"}, Thresholds: []float64{0.5}}, Top1, p); err == nil ||
		!strings.Contains(err.Error(), "profile model huge") {
		t.Errorf("unknown level: %v", err)
	}
}

// TestCNNBundleRoundTrip writes a cnn premodel on a (hand-made) backbone
// embedding and reads it back; a backbone whose files differ is refused.
func TestCNNBundleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path, specs := makeStore(t, dir, world{n: 60, seed: 5, dataset: "train"})
	s := loadSet(t, path, Top1)
	sha, err := specs[2].FilesSHA256() // small
	if err != nil {
		t.Fatal(err)
	}
	bb := &Backbone{Model: "small", FilesSHA256: sha, Dims: 2}
	s.Names, s.ConfigKey = embedding.Names(2), embedding.ConfigKey("small", sha)
	p, err := Train(s, Options{Learner: "cnn", Candidates: []string{"mid", "big"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "cnn")
	if err := WriteBundle(out, p, BundleInput{Set: s, Specs: specs}); err == nil {
		t.Error("a premodel on embedding names written without its backbone")
	}
	p.Backbone = bb
	if err := WriteBundle(out, p, BundleInput{Set: s, Specs: specs}); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBundle(out)
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Router != RouterCNN || !reflect.DeepEqual(b.Premodel.Backbone, bb) || b.Premodel.BackboneModel() != "small" ||
		len(b.Specs) != 3 || b.Specs[len(b.Specs)-1].Name != "small" {
		t.Fatalf("router %q backbone %+v specs %d", b.Manifest.Router, b.Premodel.Backbone, len(b.Specs))
	}
	for _, x := range s.X[:10] {
		d1, err1 := p.Decide(x)
		d2, err2 := b.Premodel.Decide(x)
		if err1 != nil || err2 != nil || d1.Model != d2.Model || !reflect.DeepEqual(d1.Scores, d2.Scores) {
			t.Errorf("decisions differ: %+v %v / %+v %v", d1, err1, d2, err2)
		}
	}
	// A manifest naming another backbone hash is refused.
	mf := filepath.Join(out, manifestFile)
	raw, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mf, []byte(strings.Replace(string(raw), `"files_sha256": "`+sha, `"files_sha256": "0`+sha[1:], 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBundle(out); !errors.Is(err, ErrBundle) {
		t.Errorf("changed backbone hash: %v", err)
	}
}
