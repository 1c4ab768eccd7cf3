package routers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/bundle"
	"github.com/modelpick/modelpick/committee"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/premodeltest"
	"github.com/modelpick/modelpick/method"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/store"
)

// handVectors are two models' vectors on n images (no label offset, 4
// classes; image i's label is i%4): "cheap" is right with top probability
// 0.9 on the first half and wrong (0.3 on the next class) on the second;
// "big" is right everywhere with 0.6.
func handVectors(n int) []*committee.Probs {
	mk := func(name string, fill func(i int, row []float32)) *committee.Probs {
		p := &committee.Probs{Model: name, Dataset: "hand", Outputs: 4, NumClasses: 4, Files: make([]string, n), Labels: make([]int, n),
			Errors: make([]string, n), P: make([]float32, 4*n), Inputs: map[string]string{"files_sha256": name}}
		for i := range n {
			p.Files[i], p.Labels[i] = "img"+string(rune('a'+i)), i%4
			fill(i, p.Row(i))
		}
		return p
	}
	cheap := mk("cheap", func(i int, row []float32) {
		if i < n/2 {
			row[i%4], row[(i+2)%4] = 0.9, 0.1
		} else {
			row[(i+1)%4], row[(i+2)%4], row[(i+3)%4] = 0.3, 0.25, 0.25
			row[i%4] = 0.2
		}
	})
	big := mk("big", func(i int, row []float32) { row[i%4], row[(i+1)%4] = 0.6, 0.4 })
	return []*committee.Probs{cheap, big}
}

func allRows(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestCommitteeRouteByHand checks one decision of each kind: a confident
// first level answers alone, an unsure one runs the next level and
// answers with the two models' mean.
func TestCommitteeRouteByHand(t *testing.T) {
	vecs := handVectors(4)
	c := &CommitteeCascade{Levels: []string{"cheap", "big"}, Stop: StopThreshold, Thresholds: []float64{0.6}}
	for row, want := range []struct {
		model string
		ran   []string
		class int
	}{{"cheap", []string{"cheap"}, 0}, {"cheap", []string{"cheap"}, 0}, {"cheap+big", []string{"cheap", "big"}, 1}, {"cheap+big", []string{"cheap", "big"}, 1}} {
		in := vectorInput{by: map[string]*committee.Probs{"cheap": vecs[0], "big": vecs[1]}, row: row}
		d, err := c.Route(in)
		if err != nil {
			t.Fatal(err)
		}
		if d.Model != want.model || !slices.Equal(d.Ran, want.ran) || d.Class != want.class || d.Reason != route.ReasonCascade {
			t.Errorf("image %d: %+v, want model %s after %v", row, d, want.model, want.ran)
		}
		if want.class == 0 {
			if d.Answer != nil || !slices.Equal(d.Scores, []float64{float64(float32(0.9))}) {
				t.Errorf("image %d: a first-level answer %v with scores %v", row, d.Answer, d.Scores)
			}
			continue
		}
		mean := make([]float32, 4)
		inference.MeanScores(mean, vecs[0].Row(row), vecs[1].Row(row))
		if !slices.Equal(d.Answer, mean) || d.Scores[0] != float64(float32(0.3)) {
			t.Errorf("image %d: answer %v, want the mean %v; scores %v", row, d.Answer, mean, d.Scores)
		}
	}
}

// TestCommitteeSearchKnownAnswers: with a budget of 3 ms the cascade
// cheap (1 ms) > big (4 ms) stopping on cheap's confident half is right on
// every image at 1 + 4/2 = 3 ms; under 2.5 ms nothing beats cheap alone;
// for 100% the cascade is cheaper than big alone. The chosen router,
// routed through Route, reproduces the search's training result exactly.
func TestCommitteeSearchKnownAnswers(t *testing.T) {
	const n = 20
	vecs := handVectors(n)
	s, err := NewCommitteeSearch(vecs, allRows(n), []float64{1, 4}, CommitteeSearchOptions{Criterion: profileview.Top1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Singles; got[0].Accuracy != 50 || got[1].Accuracy != 100 || s.BestSingle() != 1 {
		t.Fatalf("singles %+v, best %d", got, s.BestSingle())
	}
	cost := map[string]float64{"cheap": 1, "big": 4}
	for _, c := range []struct {
		stop   string
		obj    baselines.Objective
		levels []string
		acc    float64
		ms     float64
	}{
		{StopThreshold, baselines.Objective{BudgetMS: 3}, []string{"cheap", "big"}, 100, 3},
		{StopThreshold, baselines.Objective{BudgetMS: 2.5}, []string{"cheap"}, 50, 1},
		{StopThreshold, baselines.Objective{TargetAcc: 100}, []string{"cheap", "big"}, 100, 3},
		{StopLearned, baselines.Objective{BudgetMS: 3}, []string{"cheap", "big"}, 100, 3},
	} {
		st, err := s.Choose(c.stop, c.obj)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(st.Levels, c.levels) || st.Train.Accuracy != c.acc || math.Abs(st.Train.MeanMS-c.ms) > 1e-12 || !st.Met {
			t.Errorf("%s %v: chose %+v, want %v at %g%%, %g ms", c.stop, c.obj, st, c.levels, c.acc, c.ms)
		}
		r, err := s.Router(st)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := RouteVectors(r, vecs, allRows(n), cost, 0)
		if err != nil {
			t.Fatal(err)
		}
		hits, ms := 0, 0.0
		for _, o := range outs {
			if o.Correct1 {
				hits++
			}
			ms += o.ModelMS
		}
		if c.stop == StopThreshold && (hits != st.Train.Hits || math.Abs(ms/n-st.Train.MeanMS) > 1e-12) {
			t.Errorf("%v: routed %d hits at %g ms, the search said %d at %g", c.obj, hits, ms/n, st.Train.Hits, st.Train.MeanMS)
		}
	}
	// Every order of 1-2 of the 2 models: 2 + 2; thresholds per first
	// level: the distinct quantiles of its scores and never.
	if len(s.prefixes) != 4 {
		t.Errorf("%d orders, want 4", len(s.prefixes))
	}
	curve, err := s.Curve(StopThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if len(curve) == 0 || curve[0].Train.MeanMS != 1 || curve[len(curve)-1].Train.Accuracy != 100 {
		t.Errorf("curve %+v", curve)
	}
	for i := 1; i < len(curve); i++ {
		if curve[i].Train.MeanMS < curve[i-1].Train.MeanMS || curve[i].Train.Accuracy <= curve[i-1].Train.Accuracy {
			t.Errorf("curve point %d does not improve on %d: %+v %+v", i, i-1, curve[i-1].Train, curve[i].Train)
		}
	}
	if _, err := s.Choose("majority", baselines.Objective{BudgetMS: 3}); err == nil {
		t.Error("an unknown stop rule was accepted")
	}
}

// trainedCommittee trains a committee bundle on the synthetic store and
// returns its folder, the store and its specs.
func trainedCommittee(t *testing.T, stop string) (string, *store.Store, premodeltest.World) {
	t.Helper()
	dir := t.TempDir()
	w := premodeltest.World{N: 90, Seed: 5, Dataset: "train"}
	path, specs := premodeltest.MakeStore(t, dir, w)
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tr, err := committeeKind().Train(context.Background(), TrainOptions{Store: st, Criterion: profileview.Top1, Seed: 1,
		Vectors: premodeltest.Vectors(t, w), Stop: stop})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bundle")
	if err := Write(out, tr, WriteOptions{Specs: specs}); err != nil {
		t.Fatal(err)
	}
	return out, st, w
}

// rewrite replaces a bundle file and its hash in the manifest, as a
// hand edit that keeps the bundle's hashes consistent would.
func rewrite(t *testing.T, dir, rel string, edit func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	var v map[string]any
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	edit(v)
	data, err = json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(dir, bundle.ManifestFile)
	var m map[string]any
	mb, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	for _, f := range m["files"].([]any) {
		if fm := f.(map[string]any); fm["path"] == rel {
			fm["sha256"], fm["bytes"] = hex.EncodeToString(sum[:]), len(data)
		}
	}
	if mb, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mp, mb, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCommitteeBundleBadInput: a stop file that does not fit the levels
// is refused, naming the file and the fix; so are training without
// vectors, vectors of other files, and two objectives.
func TestCommitteeBundleBadInput(t *testing.T) {
	for _, stop := range []string{StopThreshold, StopLearned} {
		t.Run(stop, func(t *testing.T) {
			dir, _, _ := trainedCommittee(t, stop)
			l, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			c := l.Router.(*CommitteeCascade)
			if len(c.Levels) < 2 {
				t.Fatalf("trained a cascade of %v: the test wants two levels or more", c.Levels)
			}
			for _, bad := range []struct {
				name string
				edit func(map[string]any)
				want string
			}{
				{"one threshold short", func(v map[string]any) { v["thresholds"] = v["thresholds"].([]any)[1:] }, "thresholds for"},
				{"other levels", func(v map[string]any) { v["levels"] = []any{"small", "mid", "big", "huge"} }, "fitted for levels"},
				{"other rule", func(v map[string]any) {
					v["stop"] = map[string]string{StopThreshold: StopLearned, StopLearned: StopThreshold}[stop]
				}, "stop rule"},
			} {
				cp := filepath.Join(t.TempDir(), "b")
				copyDir(t, dir, cp)
				rewrite(t, cp, stopFile, bad.edit)
				_, err := Open(cp)
				if !errors.Is(err, bundle.ErrBundle) || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), stopFile) ||
					!strings.Contains(err.Error(), "retrain") {
					t.Errorf("%s: %v", bad.name, err)
				}
			}
		})
	}
	dir := t.TempDir()
	w := premodeltest.World{N: 40, Seed: 2, Dataset: "train"}
	path, _ := premodeltest.MakeStore(t, dir, w)
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other := premodeltest.Vectors(t, w)
	other[0].Inputs["files_sha256"] = "feed"
	gain := 1.0
	for _, c := range []struct {
		name string
		o    TrainOptions
		want string
	}{
		{"no vectors", TrainOptions{}, "no probability vectors"},
		{"other files", TrainOptions{Vectors: other}, "computed with files feed"},
		{"two objectives", TrainOptions{Vectors: premodeltest.Vectors(t, w), TargetGain: &gain, Objective: baselines.Objective{BudgetMS: 2}}, "at most one"},
		{"unknown rule", TrainOptions{Vectors: premodeltest.Vectors(t, w), Stop: "vote"}, "stop rule"},
	} {
		c.o.Store, c.o.Criterion = st, profileview.Top1
		if _, err := committeeKind().Train(context.Background(), c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCommitteeEvaluate evaluates a trained bundle on a test store of
// other synthetic images: the report lists the bundle's row (kind
// premodel), the single models, then the oracle, and its accuracy and
// latency are the routed images' own.
func TestCommitteeEvaluate(t *testing.T) {
	dir, _, _ := trainedCommittee(t, StopThreshold)
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := premodeltest.World{N: 60, Seed: 9, Dataset: "train"}
	path, _ := premodeltest.MakeStore(t, t.TempDir(), w)
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev, err := l.Evaluate(context.Background(), EvalOptions{Store: st, Vectors: premodeltest.Vectors(t, w), Repeats: 1})
	if err != nil {
		t.Fatal(err)
	}
	rep := ev.Report.(CommitteeReport)
	var kinds []method.Kind
	for _, m := range rep.Methods {
		kinds = append(kinds, m.Kind)
	}
	if want := []method.Kind{method.Premodel, method.Single, method.Single, method.Single, method.Oracle}; !slices.Equal(kinds, want) {
		t.Errorf("method kinds %v, want %v", kinds, want)
	}
	hits, ms := 0, 0.0
	for _, r := range rep.Records {
		if r.Correct1 {
			hits++
		}
		ms += r.ModelMS + r.DecisionMS
	}
	row := rep.Methods[0]
	if math.Abs(row.Top1-100*float64(hits)/60) > 1e-9 || math.Abs(row.MeanMS-ms/60) > 1e-9 || len(rep.Records) != 60 {
		t.Errorf("row %+v from %d records: %d hits, %g ms", row, len(rep.Records), hits, ms/60)
	}
	for m, a := range rep.VectorAgreement {
		if a != "60/60" {
			t.Errorf("vectors of %s agree with the store on %s images", m, a)
		}
	}
	if !strings.Contains(ev.Markdown, "committee cascade (threshold)") {
		t.Errorf("markdown:\n%s", ev.Markdown)
	}
	// Vectors of other images are refused.
	other := premodeltest.Vectors(t, premodeltest.World{N: 10, Seed: 9, Dataset: "train"})
	if _, err := l.Evaluate(context.Background(), EvalOptions{Store: st, Vectors: other}); err == nil || !strings.Contains(err.Error(), "no probability vector") {
		t.Errorf("vectors of 10 images for 60: %v", err)
	}
}
