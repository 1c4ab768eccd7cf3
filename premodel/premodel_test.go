package premodel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/store"
)

func TestLoadRefusesIncompleteStores(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cases := []struct {
		name  string
		w     world
		crit  Criterion
		names []string
		want  string
	}{
		{"no costs", world{n: 20, seed: 1, dataset: "a", noCosts: true}, Top1, nil, "modelpick profile"},
		{"no features", world{n: 20, seed: 2, dataset: "b", noFeats: true}, Top1, nil, "modelpick features"},
		{"a feature missing", world{n: 20, seed: 3, dataset: "c", skipName: "hue1"}, Top1, nil, "no values of hue1"},
		{"top-1-only profile", world{n: 20, seed: 4, dataset: "d", top1Only: true}, Top5, nil, "-criterion top1"},
		{"unknown criterion", world{n: 20, seed: 5, dataset: "e"}, "top3", nil, "want top1 or top5"},
		{"no such feature", world{n: 20, seed: 6, dataset: "f"}, Top1, []string{"contrast", "edge_length1"}, "no values of edge_length1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, _ := makeStore(t, dir, c.w)
			st, err := store.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			names := c.names
			if names == nil {
				names = testNames
			}
			_, err = Load(ctx, st, SetOptions{ProfileOptions: ProfileOptions{Criterion: c.crit}, Names: names, ConfigKey: testKey(t)})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	t.Run("empty store", func(t *testing.T) {
		st, err := store.Open(filepath.Join(dir, "empty.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, err = Load(ctx, st, SetOptions{ProfileOptions: ProfileOptions{Criterion: Top1}, Names: testNames, ConfigKey: testKey(t)})
		if err == nil || !strings.Contains(err.Error(), "no predictions") || !strings.Contains(err.Error(), "modelpick profile") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no image with both", func(t *testing.T) {
		// Features stored for other images than the profiled ones.
		path, _ := makeStore(t, dir, world{n: 10, seed: 7, dataset: "g", noFeats: true})
		st, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.PutFeatures(ctx, []store.FeatureRow{{SHA256: "elsewhere", Version: testKey(t), Name: "contrast", Value: 1},
			{SHA256: "elsewhere", Version: testKey(t), Name: "hue1", Value: 1}}); err != nil {
			t.Fatal(err)
		}
		_, err = Load(ctx, st, SetOptions{ProfileOptions: ProfileOptions{Criterion: Top1}, Names: testNames, ConfigKey: testKey(t)})
		if err == nil || !strings.Contains(err.Error(), "no image") || !strings.Contains(err.Error(), "features not extracted") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestTrainAlgorithm1AndDecisions(t *testing.T) {
	path, _ := makeStore(t, t.TempDir(), world{n: 300, seed: 1, dataset: "train"})
	s := loadSet(t, path, Top1)
	p, err := Train(s, Options{Learner: "knn-cascade", Theta: DefaultTheta, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Algorithm 1: small is the optimum most often; on the rest big is
	// the most accurate; mid then rescues nothing.
	if want := []string{"small", "big"}; !slices.Equal(p.Candidates, want) {
		t.Fatalf("candidates %v, want %v", p.Candidates, want)
	}
	if p.Fallback != "small" {
		t.Errorf("default fallback %q, want the cheapest candidate small", p.Fallback)
	}
	if p.Confidence.Model != "big" {
		t.Errorf("escalation model %q, want the most accurate, big", p.Confidence.Model)
	}
	for _, c := range []struct {
		x      []float64
		model  string
		reason string
	}{
		{[]float64{0.2, 0.3 * (0.8*0.2 + 0.1)}, "small", ReasonPremodel},
		{[]float64{0.6, 0.3 * (0.8*0.6 + 0.1)}, "big", ReasonPremodel},
		{[]float64{0.97, 0.3 * (0.8*0.97 + 0.1)}, "small", ReasonFallback},
	} {
		d, err := p.Decide(c.x)
		if err != nil {
			t.Fatal(err)
		}
		if d.Model != c.model || d.Reason != c.reason || len(d.Scores) != 2 || d.MeanDist < 0 || d.Far {
			t.Errorf("Decide(%v) = %+v, want %s (%s), near", c.x, d, c.model, c.reason)
		}
	}

	none, err := Train(s, Options{Learner: "knn-cascade", Theta: DefaultTheta, Fallback: FallbackNone})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := none.Decide([]float64{0.97, 0.3 * (0.8*0.97 + 0.1)})
	if d.Model != "" || d.Reason != ReasonNoPrediction || d.Class != learners.None {
		t.Errorf("fallback none: %+v, want no prediction", d)
	}
	named, err := Train(s, Options{Learner: "knn-cascade", Theta: DefaultTheta, Fallback: "mid"})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := named.Decide([]float64{0.97, 0.3 * (0.8*0.97 + 0.1)}); d.Model != "mid" || d.Reason != ReasonFallback {
		t.Errorf("fallback mid: %+v", d)
	}
	if _, err := Train(s, Options{Learner: "knn", Fallback: "huge"}); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("unknown fallback: %v", err)
	}

	// An image unlike any training image: far, and escalated when asked.
	odd := []float64{0.05, 0.3}
	if d, _ := p.Decide(odd); !d.Far || d.Reason == ReasonEscalated {
		t.Errorf("odd image without escalation: %+v, want far and not escalated", d)
	}
	if d, _ := p.WithEscalation(true).Decide(odd); d.Model != "big" || d.Reason != ReasonEscalated {
		t.Errorf("odd image with escalation: %+v, want big (escalated)", d)
	}
}

func TestConfidenceThresholdIsCalibrated(t *testing.T) {
	if got := conformalQuantile([]float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}, 0.5); got != 6 {
		t.Errorf("conformal quantile = %v, want the ceil(11*0.5) = 6th smallest, 6", got)
	}
	if got := conformalQuantile([]float64{3, 1, 2}, 0.99); got != 3 {
		t.Errorf("rank beyond n = %v, want the largest", got)
	}
	path, _ := makeStore(t, t.TempDir(), world{n: 400, seed: 2, dataset: "train"})
	p, err := Train(loadSet(t, path, Top1), Options{Learner: "dt", Quantile: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	// Leave-one-out distances agree with a brute-force search.
	k := p.Confidence.K
	for _, i := range []int{0, 17, 399} {
		var ds []float64
		for j, y := range p.TrainX {
			if j != i {
				ds = append(ds, math.Hypot(p.TrainX[i][0]-y[0], p.TrainX[i][1]-y[1]))
			}
		}
		slices.Sort(ds)
		if want := mean(ds[:k]); math.Abs(p.LOODist[i]-want) > 1e-12 {
			t.Errorf("row %d: leave-one-out distance %v, brute force %v", i, p.LOODist[i], want)
		}
	}
	above := 0
	for _, d := range p.LOODist {
		if d > p.Confidence.Threshold {
			above++
		}
	}
	if share := float64(above) / float64(len(p.LOODist)); share > 0.1 {
		t.Errorf("%.1f%% of training rows beyond the 0.9 threshold", 100*share)
	}
	// Fresh images from the same distribution are far about 10% of the time.
	test, _ := makeStore(t, t.TempDir(), world{n: 400, seed: 9, dataset: "test"})
	ts := loadSet(t, test, Top1)
	far := 0
	for _, x := range ts.X {
		d, err := p.Decide(x)
		if err != nil {
			t.Fatal(err)
		}
		if d.Far {
			far++
		}
	}
	if share := float64(far) / float64(len(ts.X)); share > 0.2 {
		t.Errorf("%.1f%% of fresh in-distribution images are far (threshold at the 0.9 quantile)", 100*share)
	}
	if _, err := Train(ts, Options{Learner: "dt", Quantile: 1}); err == nil {
		t.Error("quantile 1 accepted")
	}
}

func TestLearnerChoiceByName(t *testing.T) {
	path, _ := makeStore(t, t.TempDir(), world{n: 200, seed: 3, dataset: "train"})
	s := loadSet(t, path, Top1)
	three := []string{"small", "mid", "big"}
	for _, c := range []struct {
		learner    string
		candidates []string
		want       string // error substring, "" for success
	}{
		{"knn", nil, ""},
		{"knn-cascade", nil, ""},
		{"dt", nil, ""},
		{"svm", nil, ""},
		{"knn.dt", nil, ""},
		{"svm.knn.dt", three, ""},
		{"knn.dt.svm", nil, "has 3 levels, but there are 2 candidates"},
		{"knn.forest", nil, "unknown level learner"},
		{"forest", nil, "unknown learner"},
		{"knn-cascade.knn", nil, "cannot be a hierarchy level"},
		{"knn", []string{"small", "tiny"}, `candidate "tiny"`},
	} {
		t.Run(c.learner, func(t *testing.T) {
			p, err := Train(s, Options{Learner: c.learner, Theta: DefaultTheta, Candidates: c.candidates, Seed: 1})
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, want an error mentioning %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Learner().Name() != c.learner {
				t.Errorf("learner %q, want %q", p.Learner().Name(), c.learner)
			}
			if c.candidates != nil && !slices.Equal(p.Candidates, c.candidates) {
				t.Errorf("candidates %v, want %v", p.Candidates, c.candidates)
			}
			// Every learner separates this world well.
			hits := 0
			for i, x := range s.X {
				d, err := p.Decide(x)
				if err != nil {
					t.Fatal(err)
				}
				if d.Class == p.TrainY[i] {
					hits++
				}
			}
			if acc := float64(hits) / float64(len(s.X)); acc < 0.85 {
				t.Errorf("training selection accuracy %.2f", acc)
			}
		})
	}
}

func TestBundleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path, specs := makeStore(t, dir, world{n: 150, seed: 4, dataset: "train"})
	s := loadSet(t, path, Top5)
	r := rand.New(rand.NewPCG(5, 5))
	probe := make([][]float64, 50)
	for i := range probe {
		probe[i] = []float64{1.2*r.Float64() - 0.1, 0.4 * r.Float64()}
	}
	for _, name := range []string{"knn", "knn-cascade", "dt", "svm", "dt.knn"} {
		t.Run(name, func(t *testing.T) {
			p, err := Train(s, Options{Learner: name, Theta: DefaultTheta, Seed: 7, Escalate: true, Fallback: FallbackNone,
				Params: learners.Params{K: 3}})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "bundle-"+name)
			labels := []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}
			if err := WriteBundle(out, p, BundleInput{Set: s, Specs: specs, Labels: labels, LabelsSource: "test"}); err != nil {
				t.Fatal(err)
			}
			b, err := LoadBundle(out)
			if err != nil {
				t.Fatal(err)
			}
			q := b.Premodel
			if q.Criterion != Top5 || q.LearnerName != name || q.Seed != 7 || q.Fallback != "" || !q.Confidence.Escalate ||
				!slices.Equal(q.Candidates, p.Candidates) || !slices.Equal(q.FeatureNames, testNames) || q.Params.K != 3 ||
				q.Confidence != p.Confidence || !reflect.DeepEqual(q.Scaler, p.Scaler) {
				t.Errorf("loaded premodel differs: %+v\nwant %+v", q, p)
			}
			if !slices.Equal(b.Labels, labels) || b.Manifest.Fallback != "none" || b.Manifest.Version != BundleVersion {
				t.Errorf("labels %v, manifest %+v", b.Labels, b.Manifest)
			}
			var names []string
			for _, sp := range b.Specs {
				names = append(names, sp.Name)
				if !strings.HasPrefix(sp.FilePath(0), out) {
					t.Errorf("spec %s reads %s, outside the bundle", sp.Name, sp.FilePath(0))
				}
			}
			if !slices.Equal(names, p.Models()) {
				t.Errorf("bundle models %v, want %v", names, p.Models())
			}
			for _, x := range append(slices.Clone(s.X), probe...) {
				a, err1 := p.Decide(x)
				c, err2 := q.Decide(x)
				if err1 != nil || err2 != nil || !reflect.DeepEqual(a, c) {
					t.Fatalf("Decide(%v): %+v (%v) before, %+v (%v) after", x, a, err1, c, err2)
				}
			}
		})
	}
}

func writeTestBundle(t *testing.T) (string, *Premodel) {
	t.Helper()
	dir := t.TempDir()
	path, specs := makeStore(t, dir, world{n: 100, seed: 5, dataset: "train"})
	s := loadSet(t, path, Top1)
	p, err := Train(s, Options{Learner: "knn-cascade", Theta: DefaultTheta})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bundle")
	if err := WriteBundle(out, p, BundleInput{Set: s, Specs: specs}); err != nil {
		t.Fatal(err)
	}
	return out, p
}

func TestBundleRefusesTampering(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(dir string) error
		want   string
	}{
		{"model file", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "models", "big", "big.onnx"), []byte("another model"), 0o644)
		}, "models/big/big.onnx"},
		{"learner", func(dir string) error {
			b, _ := os.ReadFile(filepath.Join(dir, learnerFile))
			b[len(b)-1] ^= 1
			return os.WriteFile(filepath.Join(dir, learnerFile), b, 0o644)
		}, learnerFile},
		{"missing array", func(dir string) error { return os.Remove(filepath.Join(dir, trainXFile)) }, trainXFile},
		{"training rows", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, trainYFile), npyInts([]int{0, 1}), 0o644)
		}, trainYFile},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := writeTestBundle(t)
			if err := c.change(dir); err != nil {
				t.Fatal(err)
			}
			_, err := LoadBundle(dir)
			if err == nil || !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrBundle naming %s", err, c.want)
			}
		})
	}
}

func TestBundleRefusesOtherVersions(t *testing.T) {
	dir, _ := writeTestBundle(t)
	mp := filepath.Join(dir, manifestFile)
	orig, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) {
		var m map[string]any
		if err := json.Unmarshal(orig, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		if err := os.WriteFile(mp, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit(func(m map[string]any) { m["version"] = BundleVersion + 1 })
	if _, err := LoadBundle(dir); err == nil || !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "bundle version 2") ||
		!strings.Contains(err.Error(), "retrain") {
		t.Errorf("other version: %v", err)
	}
	edit(func(m map[string]any) { m["format"] = "something-else" })
	if _, err := LoadBundle(dir); err == nil || !strings.Contains(err.Error(), "not a modelpick bundle") {
		t.Errorf("other format: %v", err)
	}
	edit(func(m map[string]any) {
		f := m["features"].(map[string]any)
		f["config_key"] = "features-v0;max_side=256"
	})
	if _, err := LoadBundle(dir); err == nil || !strings.Contains(err.Error(), "features-v0") {
		t.Errorf("other feature version: %v", err)
	}
	edit(func(m map[string]any) { m["files"] = m["files"].([]any)[1:] }) // drop one file's hash
	if _, err := LoadBundle(dir); err == nil || !strings.Contains(err.Error(), "not listed") {
		t.Errorf("unlisted file: %v", err)
	}
	if err := os.WriteFile(mp, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBundle(dir); err != nil {
		t.Errorf("restored manifest: %v", err)
	}
}

func TestWriteBundleChecks(t *testing.T) {
	dir := t.TempDir()
	path, specs := makeStore(t, dir, world{n: 60, seed: 6, dataset: "train"})
	s := loadSet(t, path, Top1)
	p, err := Train(s, Options{Learner: "knn"})
	if err != nil {
		t.Fatal(err)
	}
	busy := filepath.Join(dir, "busy")
	if err := os.MkdirAll(busy, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(busy, "thesis.tex"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteBundle(busy, p, BundleInput{Set: s, Specs: specs}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-bundle folder overwritten: %v", err)
	}
	// A model file that changed since profiling is refused.
	if err := os.WriteFile(filepath.Join(dir, "small.onnx"), []byte("retrained"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteBundle(filepath.Join(dir, "b"), p, BundleInput{Set: s, Specs: specs}); err == nil ||
		!strings.Contains(err.Error(), "not the ones profiled") {
		t.Errorf("changed model file: %v", err)
	}
	if err := WriteBundle(filepath.Join(dir, "c"), p, BundleInput{Set: s, Specs: specs[:1]}); err == nil ||
		!strings.Contains(err.Error(), "no spec for model") {
		t.Errorf("missing spec: %v", err)
	}
	if err := WriteBundle(filepath.Join(dir, "d"), p, BundleInput{Set: s, Specs: specs, MaxSide: 64}); err == nil ||
		!strings.Contains(err.Error(), "-max-side") {
		t.Errorf("wrong max side: %v", err)
	}
}

func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	trainPath, _ := makeStore(t, dir, world{n: 300, seed: 7, dataset: "train"})
	testPath, _ := makeStore(t, dir, world{n: 200, seed: 8, dataset: "test"})
	p, err := Train(loadSet(t, trainPath, Top1), Options{Learner: "knn-cascade", Theta: DefaultTheta})
	if err != nil {
		t.Fatal(err)
	}
	ts := loadSet(t, testPath, Top1)
	r, err := Evaluate(context.Background(), p, ts, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Method{}
	for _, m := range r.Methods {
		by[m.Name] = m
		total := 0.0
		for _, v := range m.Share {
			total += v
		}
		if math.Abs(total-100) > 1e-6 {
			t.Errorf("%s: shares sum to %v", m.Name, total)
		}
	}
	pm, oracle, big := by["premodel knn-cascade"], by["oracle (all models)"], by["big"]
	if len(r.Methods) != 2+3+2 || r.Images != 200 || len(r.Records) != 200 || r.BestSingle != "big" {
		t.Fatalf("report: %d methods, %d images, %d records, best %s", len(r.Methods), r.Images, len(r.Records), r.BestSingle)
	}
	if _, ok := by["premodel knn-cascade + escalation"]; !ok {
		t.Errorf("no escalation variant in %v", r.Methods)
	}
	// Here big is right whenever any model is: the oracle matches it, and
	// the premodel comes close at a fraction of its latency.
	if oracle.Top1 != big.Top1 || pm.Top1 > oracle.Top1 || pm.Top1 < oracle.Top1-5 {
		t.Errorf("top-1: premodel %.1f, oracle %.1f, big %.1f", pm.Top1, oracle.Top1, big.Top1)
	}
	if !(pm.MeanMS < big.MeanMS) || pm.OverheadMS <= 0 || pm.MeanMS < pm.ModelMS {
		t.Errorf("latency: premodel %+v, big %+v", pm, big)
	}
	if big.MeanMS != 4 || big.P95MS != 4 || big.Share["big"] != 100 {
		t.Errorf("single model: %+v", big)
	}
	if r.SelectionAccuracy < 90 || math.Abs(pm.OfOracle-100*pm.Top1/oracle.Top1) > 1e-9 {
		t.Errorf("selection accuracy %.1f, share of oracle %.1f", r.SelectionAccuracy, pm.OfOracle)
	}
	if r.Overhead.FeaturesMeasured || !strings.Contains(strings.Join(r.Notes, " "), "not timed") {
		t.Errorf("overhead %+v, notes %v", r.Overhead, r.Notes)
	}
	if md := r.Markdown(); !strings.Contains(md, "| premodel knn-cascade |") || !strings.Contains(md, "oracle (candidates)") {
		t.Errorf("markdown:\n%s", md)
	}
	// A test store without a model the premodel may run is refused.
	q := *ts.Profile
	q.Models = []string{"a", "b", "c"}
	if _, err := Evaluate(context.Background(), p, &Set{Profile: &q, Names: ts.Names, ConfigKey: ts.ConfigKey, X: ts.X},
		EvalOptions{}); err == nil || !strings.Contains(err.Error(), "no predictions of small") {
		t.Errorf("missing model: %v", err)
	}
}

func TestSelectModelsRecords(t *testing.T) {
	dir := t.TempDir()
	path, _ := makeStore(t, dir, world{n: 200, seed: 9, dataset: "train", noFeats: true})
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	prof, err := LoadProfile(context.Background(), st, ProfileOptions{Criterion: Top1})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := SelectModels(prof, DefaultTheta)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.Chosen, []string{"small", "big"}) || len(rec.Trace.Steps) != 3 || rec.Trace.Steps[2].Added {
		t.Fatalf("chosen %v, steps %+v", rec.Chosen, rec.Trace.Steps)
	}
	out := filepath.Join(dir, "sel")
	if err := WriteSelection(out, rec); err != nil {
		t.Fatal(err)
	}
	fig5, _ := os.ReadFile(filepath.Join(out, "fig5_optimum_share.csv"))
	fig6, _ := os.ReadFile(filepath.Join(out, "fig6_steps.csv"))
	if strings.Count(string(fig5), "\n") != 1+3+1 || !strings.Contains(string(fig5), "small,1,") {
		t.Errorf("fig5:\n%s", fig5)
	}
	if strings.Count(string(fig6), "\n") != 1+3*3 {
		t.Errorf("fig6:\n%s", fig6)
	}
	var back SelectionRecord
	b, _ := os.ReadFile(filepath.Join(out, "selection.json"))
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back.Chosen, rec.Chosen) {
		t.Errorf("selection.json: %v %v", err, back.Chosen)
	}
}

func TestNPYRoundTrip(t *testing.T) {
	x := [][]float64{{1, 2.5, -3}, {math.Pi, 0, 1e-300}}
	got, err := npyReadMatrix(npyMatrix(x, 3))
	if err != nil || !reflect.DeepEqual(got, x) {
		t.Errorf("matrix: %v %v", got, err)
	}
	ints := []int{-1, 0, 7}
	if got, err := npyReadInts(npyInts(ints)); err != nil || !slices.Equal(got, ints) {
		t.Errorf("ints: %v %v", got, err)
	}
	b := npyFloats([]float64{1, 2})
	if (len(b)-16)%64 != 0 && len(b)%8 != 0 {
		t.Errorf("data not aligned: %d bytes", len(b))
	}
	if _, err := npyReadInts(b); err == nil {
		t.Error("float array read as ints")
	}
	if _, err := npyReadFloats(b[:len(b)-3]); err == nil {
		t.Error("truncated array accepted")
	}
}

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, want string }{
		{"n01440764 tench, Tinca tinca\nn01443537 goldfish\n", "tench, Tinca tinca|goldfish"},
		{"background\ntench, Tinca tinca\ngoldfish\n", "tench, Tinca tinca|goldfish"},
		{"cat\ndog", "cat|dog"},
	} {
		p := filepath.Join(dir, "l.txt")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadLabels(p)
		if err != nil || strings.Join(got, "|") != c.want {
			t.Errorf("%q: %v %v", c.text, got, err)
		}
	}
	p := filepath.Join(dir, "gap.txt")
	_ = os.WriteFile(p, []byte("a\n\nb\n"), 0o644)
	if _, err := ReadLabels(p); err == nil {
		t.Error("blank line accepted")
	}
}

func TestNPYRefusesForgedShapes(t *testing.T) {
	for _, shape := range [][]int{{1 << 62, 0}, {0, 1 << 62}, {1 << 40, 1 << 40}, {3, 2}} {
		b := npyEncode("<f8", shape, func(*bytes.Buffer) {})
		if _, err := npyReadMatrix(b); err == nil {
			t.Errorf("shape %v with no data accepted", shape)
		}
	}
}
