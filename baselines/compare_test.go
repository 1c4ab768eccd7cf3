package baselines

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/profileview"
)

// synthetic makes a profile of three models (1, 2, 4 ms) whose correctness
// follows a 2-d feature: images near (0.2, 0.2) are easy (every model
// right), near (0.8, 0.2) need the middle model, near (0.5, 0.8) only the
// big one. Scores are confident where a model is right, mostly.
func synthetic(n int, seed uint64) (*profileview.View, [][]float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	p := &profileview.View{Models: []string{"big", "mid", "small"}, Cost: []float64{4, 2, 1}}
	centres := [][]float64{{0.2, 0.2}, {0.8, 0.2}, {0.5, 0.8}}
	var x [][]float64
	for i := range n {
		kind := i % 3
		x = append(x, []float64{centres[kind][0] + 0.08*r.NormFloat64(), centres[kind][1] + 0.08*r.NormFloat64()})
		hit := []bool{true, kind <= 1, kind == 0} // columns: big, mid, small
		score := make([]float64, 3)
		for j := range score {
			score[j] = 0.2 + 0.3*r.Float64()
			if hit[j] {
				score[j] += 0.4 * r.Float64()
			}
		}
		p.Items = append(p.Items, profileview.Item{File: string(rune('a' + i%26))})
		p.Correct1 = append(p.Correct1, hit)
		p.Score = append(p.Score, score)
	}
	return p, x
}

func TestCompare(t *testing.T) {
	train, xTrain := synthetic(150, 1)
	test, xTest := synthetic(90, 2)
	o := Options{
		Train: train, Test: test, Candidates: []string{"small", "big", "mid"},
		Objectives: []Objective{{BudgetMS: 2.5}, {TargetAcc: 90}},
		Sources: map[string]Source{
			"features":  {Train: xTrain, Test: xTest, OverheadMS: 0.1},
			"embedding": {Train: xTrain, Test: xTest, OverheadMS: 1, Reuses: "small"},
		},
		Premodels: []PremodelSpec{{Learner: "knn", Source: "features"}, {Learner: "cnn", Source: "embedding"}},
		Folds:     5, Seed: 3,
	}
	rep, err := Compare(o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rep.Candidates, ",") != "small,mid,big" {
		t.Errorf("candidates %v, want cost order", rep.Candidates)
	}
	byName := map[string][]Entry{}
	for _, e := range rep.Methods {
		byName[e.Method] = append(byName[e.Method], e)
	}
	for name, n := range map[string]int{
		"softmax-cascade/shared": 2, "softmax-cascade/greedy": 2,
		"premodel/knn@features": 1, "knob/knn@features": 2,
		"premodel/cnn@embedding": 1, "knob/cnn@embedding": 2,
	} {
		if len(byName[name]) != n {
			t.Errorf("%d entries of %s, want %d", len(byName[name]), name, n)
		}
	}
	// The features predict the optimum almost perfectly: the premodel and
	// its knob beat the oracle's accuracy minus a little, at low latency.
	if e := byName["premodel/knn@features"][0]; *e.SelectionAcc < 90 || e.Test.Accuracy < 90 || e.Test.MeanMS > 2.6 {
		t.Errorf("kNN premodel on separable features: %+v (selection %v)", e.Test, *e.SelectionAcc)
	}
	for _, e := range byName["knob/knn@features"] {
		if e.Objective.BudgetMS > 0 && (!*e.Met || e.Train.MeanMS > 2.5) {
			t.Errorf("knob budget not met on training: %+v", e.Train)
		}
		if e.Random == nil || e.RandomResult.Images != len(test.Items) {
			t.Errorf("no random routing beside %s", e.Method)
		}
	}
	// Reuse: choosing the backbone's own model costs only the overhead.
	for _, e := range byName["premodel/cnn@embedding"] {
		if e.Test.MeanMS < 1 || e.OverheadMS != 1 {
			t.Errorf("cnn premodel: %+v overhead %v", e.Test, e.OverheadMS)
		}
	}
	sum := 0.0
	for _, v := range rep.TestTargets {
		sum += v
	}
	if math.Abs(sum-100) > 1e-9 || math.Abs(rep.TestTargets["small"]-100.0/3) > 1e-9 {
		t.Errorf("test targets %v", rep.TestTargets)
	}
	if rep.Oracle.Test.Accuracy != 100 {
		t.Errorf("oracle %v", rep.Oracle.Test.Accuracy)
	}
	sets := map[string]bool{}
	for _, c := range rep.Curves {
		sets[c.Method+"/"+c.Set] = true
	}
	for _, want := range []string{"softmax-cascade/train", "softmax-cascade/test", "knob/knn@features/train", "knob/cnn@embedding/test", "oracle/test", "single/big/test"} {
		if !sets[want] {
			t.Errorf("no curve %s", want)
		}
	}

	// Deterministic under the seed (decisions are not timed).
	again, err := Compare(o)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(rep)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Error("two runs with the same seed differ")
	}

	dir := t.TempDir()
	if err := WriteRecords(dir, rep, map[string]any{"seed": 3}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.json", "report.md", "curves.csv", "methods.csv", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "| knob/cnn@embedding | mean latency <= 2.5 ms |") {
		t.Errorf("report.md:\n%s", md)
	}

	// Bad options.
	bad := o
	bad.Premodels = []PremodelSpec{{Learner: "knn", Source: "pixels"}}
	if _, err := Compare(bad); err == nil {
		t.Error("unknown source accepted")
	}
	bad = o
	bad.Objectives = nil
	if _, err := Compare(bad); err == nil {
		t.Error("no objective accepted")
	}
	bad = o
	bad.Candidates = []string{"small", "huge"}
	if _, err := Compare(bad); err == nil {
		t.Error("unknown candidate accepted")
	}
	bad = o
	bad.Sources = map[string]Source{"features": {Train: xTrain[:3], Test: xTest}}
	bad.Premodels = bad.Premodels[:1]
	if _, err := Compare(bad); err == nil {
		t.Error("short source accepted")
	}
}
