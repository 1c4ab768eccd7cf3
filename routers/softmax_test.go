package routers

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/bundle"
	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/internal/premodeltest"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/store"
)

func TestCascadeBundleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path, specs := premodeltest.MakeStore(t, dir, premodeltest.World{N: 20, Seed: 5, Dataset: "train"})
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := profileview.Load(context.Background(), st, profileview.Options{Criterion: profileview.Top1})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := &SoftmaxCascade{Levels: []string{"small", "mid", "big"}, Thresholds: []float64{0.6, 0.4}}
	out := filepath.Join(dir, "cascade")
	cal := baselines.Calibration{Rule: baselines.RuleGreedy, Objective: baselines.Objective{BudgetMS: 3}, Met: true}
	if err := Write(out, mustCascade(t, c, prof, cal), WriteOptions{Specs: specs, Labels: []string{"x", "y"}, LabelsSource: "test"}); err != nil {
		t.Fatal(err)
	}
	b, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := b.Router.(*SoftmaxCascade)
	if !ok || !reflect.DeepEqual(*got, *c) {
		t.Fatalf("loaded %+v, want cascade %+v", b.Router, c)
	}
	var settings cascadeSettings
	if err := b.Settings(&settings); err != nil {
		t.Fatal(err)
	}
	m := b.Manifest
	if m.Router != KindSoftmax || m.Version != bundle.Version || settings.Cascade.Calibration.Rule != baselines.RuleGreedy ||
		len(m.Models) != 3 || len(b.Specs) != 3 || b.Specs[0].Name != "small" || !reflect.DeepEqual(b.Labels, []string{"x", "y"}) {
		t.Errorf("manifest %+v, specs %v", m, b.Specs)
	}
	if got := c.Needs(); !reflect.DeepEqual(got, route.Needs{}) {
		t.Errorf("needs %+v", got)
	}
	// Levels escalate while the top-1 score is below their threshold.
	for _, tc := range []struct {
		top1 map[string]float32
		want []string
	}{
		{map[string]float32{"small": 0.59, "mid": 0.39}, []string{"small", "mid", "big"}},
		{map[string]float32{"small": 0.6}, []string{"small"}},
		{map[string]float32{"small": 0.1, "mid": 0.9}, []string{"small", "mid"}},
	} {
		d, err := b.Router.Route(fakeInput{top1: tc.top1})
		if err != nil || !slices.Equal(d.Ran, tc.want) || d.Model != tc.want[len(tc.want)-1] || d.Reason != route.ReasonCascade {
			t.Errorf("scores %v: %+v %v, want runs %v", tc.top1, d, err, tc.want)
		}
	}

	// Evaluated on the store: every model scores 0.5 top-1, so small
	// (threshold 0.6) always escalates and mid (threshold 0.4) answers.
	st, err = store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	bp, err := profileview.Load(context.Background(), st, profileview.Options{Criterion: profileview.Top1})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := EvaluateCascade(got, bp)
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
	if _, err := Open(out); !errors.Is(err, bundle.ErrBundle) || !strings.Contains(err.Error(), "mid.onnx") {
		t.Errorf("tampered: %v", err)
	}
	// A manifest without the cascade's levels, or short of a threshold.
	out2 := filepath.Join(dir, "cascade2")
	if err := Write(out2, mustCascade(t, c, prof, cal), WriteOptions{Specs: specs}); err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(out2, bundle.ManifestFile)
	orig, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	for name, cascade := range map[string]string{
		"no cascade entry":  `null`,
		"missing threshold": `{"levels": ["small", "mid"], "thresholds": []}`,
	} {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(orig, &m); err != nil {
			t.Fatal(err)
		}
		m["cascade"] = json.RawMessage(cascade)
		raw, _ := json.Marshal(m)
		if err := os.WriteFile(mp, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(out2); !errors.Is(err, bundle.ErrBundle) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A bundle written before the router field existed loads as a learner.
func TestBundleWithoutRouterIsLearner(t *testing.T) {
	out, _ := writeTestBundle(t)
	mf := filepath.Join(out, bundle.ManifestFile)
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
	b, err := Open(out)
	if err != nil || premodelOf(t, b) == nil || b.Manifest.Router != "" {
		t.Fatalf("old bundle: %v", err)
	}
}

// TestEvaluateCascade checks the figures on a hand-made test profile.
func TestEvaluateCascade(t *testing.T) {
	// Columns: big (3 ms), cheap (1 ms). Cascade cheap > big, threshold 0.5.
	p := &profileview.View{
		Items:    make([]profileview.Item, 4),
		Models:   []string{"big", "cheap"},
		Cost:     []float64{3, 1},
		Correct1: [][]bool{{true, true}, {true, false}, {true, false}, {false, true}},
		Score:    [][]float64{{0.9, 0.9}, {0.9, 0.3}, {0.9, 0.8}, {0.9, 0.2}},
	}
	c := &SoftmaxCascade{Levels: []string{"cheap", "big"}, Thresholds: []float64{0.5}}
	rep, err := EvaluateCascade(c, p)
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
	if _, err := EvaluateCascade(&SoftmaxCascade{Levels: []string{"cheap", "huge"}, Thresholds: []float64{0.5}}, p); err == nil ||
		!strings.Contains(err.Error(), `no model "huge"`) {
		t.Errorf("unknown level: %v", err)
	}
}

// TestCNNBundleRoundTrip writes a cnn premodel on a (hand-made) backbone
// embedding and reads it back; a backbone whose files differ is refused.
func TestCNNBundleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path, specs := premodeltest.MakeStore(t, dir, premodeltest.World{N: 60, Seed: 5, Dataset: "train"})
	s := premodeltest.LoadSet(t, path, profileview.Top1)
	sha, err := specs[2].FilesSHA256() // small
	if err != nil {
		t.Fatal(err)
	}
	bb := &premodel.Backbone{Model: "small", FilesSHA256: sha, Dims: 2}
	s.Names, s.ConfigKey = embedding.Names(2), embedding.ConfigKey("small", sha)
	p, err := premodel.Train(s, premodel.Options{Learner: "cnn", Candidates: []string{"mid", "big"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "cnn")
	if err := writePremodel(out, p, s, WriteOptions{Specs: specs}); err == nil {
		t.Error("a premodel on embedding names written without its backbone")
	}
	p.Backbone = bb
	if err := writePremodel(out, p, s, WriteOptions{Specs: specs}); err != nil {
		t.Fatal(err)
	}
	b, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Router != KindCNN || !reflect.DeepEqual(premodelOf(t, b).Backbone, bb) || premodelOf(t, b).BackboneModel() != "small" ||
		len(b.Specs) != 3 || b.Specs[len(b.Specs)-1].Name != "small" {
		t.Fatalf("router %q backbone %+v specs %d", b.Manifest.Router, premodelOf(t, b).Backbone, len(b.Specs))
	}
	for _, x := range s.X[:10] {
		d1, err1 := p.Decide(x)
		d2, err2 := premodelOf(t, b).Decide(x)
		if err1 != nil || err2 != nil || d1.Model != d2.Model || !reflect.DeepEqual(d1.Scores, d2.Scores) {
			t.Errorf("decisions differ: %+v %v / %+v %v", d1, err1, d2, err2)
		}
	}
	// A manifest naming another backbone hash is refused.
	mf := filepath.Join(out, bundle.ManifestFile)
	raw, err := os.ReadFile(mf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mf, []byte(strings.Replace(string(raw), `"files_sha256": "`+sha, `"files_sha256": "0`+sha[1:], 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(out); !errors.Is(err, bundle.ErrBundle) {
		t.Errorf("changed backbone hash: %v", err)
	}
}

// fakeInput answers Run with an output whose top-1 score is top1[model]
// (0.5 when not given), and counts nothing else.
type fakeInput struct{ top1 map[string]float32 }

func (fakeInput) Features([]string) ([]float64, error) { return nil, errors.New("no features") }
func (fakeInput) Embedding(string) ([]float64, error)  { return nil, errors.New("no embedding") }
func (f fakeInput) Run(model string) (route.Output, error) {
	s, ok := f.top1[model]
	if !ok {
		s = 0.5
	}
	return route.Output{Model: model, Scores: []float32{s / 2, s}}, nil
}

func mustCascade(t *testing.T, c *SoftmaxCascade, v *profileview.View, cal baselines.Calibration) *Trained {
	t.Helper()
	tr, err := FromCascade(c, v, cal)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
