package premodel

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/internal/premodeltest"
	"github.com/modelpick/modelpick/method"
	"github.com/modelpick/modelpick/route"

	"github.com/modelpick/modelpick/profileview"

	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/store"
)

func TestLoadRefusesIncompleteStores(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cases := []struct {
		name  string
		w     premodeltest.World
		crit  profileview.Criterion
		names []string
		want  string
	}{
		{"no costs", premodeltest.World{N: 20, Seed: 1, Dataset: "a", NoCosts: true}, profileview.Top1, nil, "modelpick profile"},
		{"no features", premodeltest.World{N: 20, Seed: 2, Dataset: "b", NoFeats: true}, profileview.Top1, nil, "modelpick features"},
		{"a feature missing", premodeltest.World{N: 20, Seed: 3, Dataset: "c", SkipName: "hue1"}, profileview.Top1, nil, "no values of hue1"},
		{"top-1-only profile", premodeltest.World{N: 20, Seed: 4, Dataset: "d", Top1Only: true}, profileview.Top5, nil, "-criterion top1"},
		{"unknown criterion", premodeltest.World{N: 20, Seed: 5, Dataset: "e"}, "top3", nil, "want top1 or top5"},
		{"no such feature", premodeltest.World{N: 20, Seed: 6, Dataset: "f"}, profileview.Top1, []string{"contrast", "edge_length1"}, "no values of edge_length1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, _ := premodeltest.MakeStore(t, dir, c.w)
			st, err := store.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			names := c.names
			if names == nil {
				names = premodeltest.Names
			}
			_, err = profileview.LoadTable(ctx, st, profileview.Options{Criterion: c.crit}, premodeltest.Key(t), names)
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
		_, err = profileview.LoadTable(ctx, st, profileview.Options{Criterion: profileview.Top1}, premodeltest.Key(t), premodeltest.Names)
		if err == nil || !strings.Contains(err.Error(), "no predictions") || !strings.Contains(err.Error(), "modelpick profile") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("no image with both", func(t *testing.T) {
		// Features stored for other images than the profiled ones.
		path, _ := premodeltest.MakeStore(t, dir, premodeltest.World{N: 10, Seed: 7, Dataset: "g", NoFeats: true})
		st, err := store.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.PutFeatures(ctx, []store.FeatureRow{{SHA256: "elsewhere", Version: premodeltest.Key(t), Name: "contrast", Value: 1},
			{SHA256: "elsewhere", Version: premodeltest.Key(t), Name: "hue1", Value: 1}}); err != nil {
			t.Fatal(err)
		}
		_, err = profileview.LoadTable(ctx, st, profileview.Options{Criterion: profileview.Top1}, premodeltest.Key(t), premodeltest.Names)
		if err == nil || !strings.Contains(err.Error(), "no image") || !strings.Contains(err.Error(), "features not extracted") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestTrainAlgorithm1AndDecisions(t *testing.T) {
	path, _ := premodeltest.MakeStore(t, t.TempDir(), premodeltest.World{N: 300, Seed: 1, Dataset: "train"})
	s := premodeltest.LoadSet(t, path, profileview.Top1)
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
		{[]float64{0.2, 0.3 * (0.8*0.2 + 0.1)}, "small", route.ReasonPremodel},
		{[]float64{0.6, 0.3 * (0.8*0.6 + 0.1)}, "big", route.ReasonPremodel},
		{[]float64{0.97, 0.3 * (0.8*0.97 + 0.1)}, "small", route.ReasonFallback},
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
	if d.Model != "" || d.Reason != route.ReasonNoPrediction || d.Class != learners.None {
		t.Errorf("fallback none: %+v, want no prediction", d)
	}
	named, err := Train(s, Options{Learner: "knn-cascade", Theta: DefaultTheta, Fallback: "mid"})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := named.Decide([]float64{0.97, 0.3 * (0.8*0.97 + 0.1)}); d.Model != "mid" || d.Reason != route.ReasonFallback {
		t.Errorf("fallback mid: %+v", d)
	}
	if _, err := Train(s, Options{Learner: "knn", Fallback: "huge"}); err == nil || !strings.Contains(err.Error(), "huge") {
		t.Errorf("unknown fallback: %v", err)
	}

	// An image unlike any training image: far, and escalated when asked.
	odd := []float64{0.05, 0.3}
	if d, _ := p.Decide(odd); !d.Far || d.Reason == route.ReasonEscalated {
		t.Errorf("odd image without escalation: %+v, want far and not escalated", d)
	}
	if d, _ := p.WithEscalation(true).Decide(odd); d.Model != "big" || d.Reason != route.ReasonEscalated {
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
	path, _ := premodeltest.MakeStore(t, t.TempDir(), premodeltest.World{N: 400, Seed: 2, Dataset: "train"})
	p, err := Train(premodeltest.LoadSet(t, path, profileview.Top1), Options{Learner: "dt", Quantile: 0.9})
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
	test, _ := premodeltest.MakeStore(t, t.TempDir(), premodeltest.World{N: 400, Seed: 9, Dataset: "test"})
	ts := premodeltest.LoadSet(t, test, profileview.Top1)
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
	path, _ := premodeltest.MakeStore(t, t.TempDir(), premodeltest.World{N: 200, Seed: 3, Dataset: "train"})
	s := premodeltest.LoadSet(t, path, profileview.Top1)
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

func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	trainPath, _ := premodeltest.MakeStore(t, dir, premodeltest.World{N: 300, Seed: 7, Dataset: "train"})
	testPath, _ := premodeltest.MakeStore(t, dir, premodeltest.World{N: 200, Seed: 8, Dataset: "test"})
	p, err := Train(premodeltest.LoadSet(t, trainPath, profileview.Top1), Options{Learner: "knn-cascade", Theta: DefaultTheta})
	if err != nil {
		t.Fatal(err)
	}
	ts := premodeltest.LoadSet(t, testPath, profileview.Top1)
	r, err := Evaluate(context.Background(), p, ts, EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[method.Name]Method{}
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
	// Recorded times (a device profile's) replace the timing, and the
	// decisions stay the same.
	dec, feat := 0.25, 1.5
	rec, err := Evaluate(context.Background(), p, ts, EvalOptions{DecisionMS: &dec,
		FeatureMS: func(profileview.Item) (float64, error) { return feat, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if o := rec.Overhead; o.DecisionMeanMS != dec || o.FeaturesMeanMS != feat || !o.FeaturesMeasured || rec.Methods[0].OverheadMS != dec+feat {
		t.Errorf("recorded overhead %+v, premodel overhead %v: want decisions %v ms and features %v ms", o, rec.Methods[0].OverheadMS, dec, feat)
	}
	if rec.Methods[0].Top1 != r.Methods[0].Top1 || rec.SelectionAccuracy != r.SelectionAccuracy {
		t.Errorf("recorded times changed the decisions: top-1 %v vs %v", rec.Methods[0].Top1, r.Methods[0].Top1)
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
	q := *ts.View
	q.Models = []string{"a", "b", "c"}
	if _, err := Evaluate(context.Background(), p, &profileview.Table{View: &q, Names: ts.Names, ConfigKey: ts.ConfigKey, X: ts.X},
		EvalOptions{}); err == nil || !strings.Contains(err.Error(), "no predictions of small") {
		t.Errorf("missing model: %v", err)
	}
}

func TestSelectModelsRecords(t *testing.T) {
	dir := t.TempDir()
	path, _ := premodeltest.MakeStore(t, dir, premodeltest.World{N: 200, Seed: 9, Dataset: "train", NoFeats: true})
	st, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	prof, err := profileview.Load(context.Background(), st, profileview.Options{Criterion: profileview.Top1})
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
