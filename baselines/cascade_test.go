package baselines

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/modelpick/modelpick/profileview"
)

// twoModels: a cheap model (1 ms) and a sure one (3 ms). The cheap model's
// top-1 scores are 0.9 (right), 0.8 (wrong), 0.6 (right), 0.3 (wrong).
func twoModels() *profileview.View {
	return &profileview.View{
		Items:    []profileview.Item{{File: "a"}, {File: "b"}, {File: "c"}, {File: "d"}},
		Models:   []string{"small", "big"},
		Cost:     []float64{1, 3},
		Correct1: [][]bool{{true, true}, {false, true}, {true, true}, {false, true}},
		Score:    [][]float64{{0.9, 0.5}, {0.8, 0.5}, {0.6, 0.5}, {0.3, 0.5}},
	}
}

// threeModels: A (1 ms) is overconfident, B (2 ms) underconfident, C
// (4 ms) always right: per-level thresholds beat any shared one.
func threeModels() *profileview.View {
	return &profileview.View{
		Items:  []profileview.Item{{File: "1"}, {File: "2"}, {File: "3"}, {File: "4"}},
		Models: []string{"A", "B", "C"},
		Cost:   []float64{1, 2, 4},
		Correct1: [][]bool{
			{true, false, true},
			{false, true, true},
			{false, false, true},
			{true, true, true},
		},
		Score: [][]float64{
			{0.95, 0.1, 0.9},
			{0.85, 0.35, 0.9},
			{0.80, 0.25, 0.9},
			{0.92, 0.1, 0.9},
		},
	}
}

func TestCascadeThresholdsByHand(t *testing.T) {
	p := twoModels()
	// Threshold -> (mean ms, hits): 0.3 lets all stop at the small model;
	// 0.6 escalates d; 0.8 escalates c and d; 0.9 escalates b, c, d; above
	// 0.9 everything runs both.
	for _, tc := range []struct {
		th   float64
		ms   float64
		hits int
	}{
		{0.3, 1, 2}, {0.6, 1.75, 3}, {0.8, 2.5, 3}, {0.9, 3.25, 4}, {0.95, 4, 4},
	} {
		c, err := NewCascade(p, []int{0, 1}, []float64{tc.th})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Evaluate(p)
		if err != nil {
			t.Fatal(err)
		}
		if r.MeanMS != tc.ms || r.Hits != tc.hits {
			t.Errorf("threshold %v: %v ms, %d hits; want %v ms, %d hits", tc.th, r.MeanMS, r.Hits, tc.ms, tc.hits)
		}
	}
}

func TestCalibrateCascadeKnownAnswers(t *testing.T) {
	p := twoModels()
	for _, tc := range []struct {
		name string
		obj  Objective
		th   float64
		ms   float64
		acc  float64
		met  bool
	}{
		// A budget equal to the mean latency of threshold 0.6 is met exactly.
		{"budget exactly met", Objective{BudgetMS: 1.75}, 0.6, 1.75, 75, true},
		// 0.8 costs more for the same accuracy: never chosen.
		{"budget between settings", Objective{BudgetMS: 3}, 0.6, 1.75, 75, true},
		{"budget of everything", Objective{BudgetMS: 4}, 0.9, 3.25, 100, true},
		{"budget below the cheapest model", Objective{BudgetMS: 0.5}, 0.3, 1, 50, false},
		{"target accuracy", Objective{TargetAcc: 100}, 0.9, 3.25, 100, true},
		{"target accuracy 60", Objective{TargetAcc: 60}, 0.6, 1.75, 75, true},
		{"target 50 is the cheapest", Objective{TargetAcc: 50}, 0.3, 1, 50, true},
	} {
		for _, rule := range []Rule{RuleShared, RuleGreedy} {
			c, cal, err := CalibrateCascade(p, []int{0, 1}, rule, tc.obj)
			if err != nil {
				t.Fatalf("%s/%s: %v", tc.name, rule, err)
			}
			if c.Thresholds[0] != tc.th || cal.Train.MeanMS != tc.ms || cal.Train.Accuracy != tc.acc || cal.Met != tc.met {
				t.Errorf("%s/%s: threshold %v, %v ms, %v%%, met %v; want %v, %v ms, %v%%, met %v", tc.name, rule,
					c.Thresholds[0], cal.Train.MeanMS, cal.Train.Accuracy, cal.Met, tc.th, tc.ms, tc.acc, tc.met)
			}
			// The calibrated cascade reproduces the training result.
			if r, _ := c.Evaluate(p); r.MeanMS != cal.Train.MeanMS || r.Hits != cal.Train.Hits {
				t.Errorf("%s/%s: re-evaluation %+v differs from calibration %+v", tc.name, rule, r, cal.Train)
			}
		}
	}
	// Above every score: the cheapest way to reach an unreachable target
	// is not searched for; the most accurate setting is returned, unmet.
	q := twoModels()
	q.Correct1[1][1] = false
	_, cal, err := CalibrateCascade(q, []int{0, 1}, RuleShared, Objective{TargetAcc: 100})
	if err != nil {
		t.Fatal(err)
	}
	if cal.Met || cal.Train.Hits != 3 || cal.Train.MeanMS != 1.75 {
		t.Errorf("unreachable target: %+v", cal)
	}
}

func TestGreedyBeatsShared(t *testing.T) {
	p := threeModels()
	obj := Objective{TargetAcc: 100}
	shared, sc, err := CalibrateCascade(p, []int{0, 1, 2}, RuleShared, obj)
	if err != nil {
		t.Fatal(err)
	}
	// One threshold must exceed 0.85 to catch image 2 at A, and then image
	// 2 skips B (0.35) too: 1 + 7 + 7 + 1 = 16 ms over 4 images.
	if !sc.Met || sc.Train.MeanMS != 4 || shared.Thresholds[0] != shared.Thresholds[1] {
		t.Errorf("shared: %+v, thresholds %v; want 4 ms, met", sc.Train, shared.Thresholds)
	}
	greedy, gc, err := CalibrateCascade(p, []int{0, 1, 2}, RuleGreedy, obj)
	if err != nil {
		t.Fatal(err)
	}
	// Per level: A answers from 0.92 (images 1, 4), B from 0.35 (image 2),
	// C takes image 3: 1 + 3 + 7 + 1 = 12 ms.
	if !gc.Met || gc.Train.MeanMS != 3 || gc.Train.Accuracy != 100 {
		t.Errorf("greedy: %+v; want 3 ms, 100%%", gc.Train)
	}
	if th := greedy.Thresholds; !(th[0] > 0.85 && th[0] <= 0.92 && th[1] > 0.25 && th[1] <= 0.35) {
		t.Errorf("greedy thresholds %v, want A in (0.85, 0.92] and B in (0.25, 0.35]", th)
	}
	if gc.Train.Share["A"] != 50 || gc.Train.Share["B"] != 25 || gc.Train.Share["C"] != 25 {
		t.Errorf("greedy shares %v", gc.Train.Share)
	}
	if gc.Train.Runs != 1.75 { // 1 + 2 + 3 + 1 models over 4 images
		t.Errorf("greedy runs %v per image, want 1.75", gc.Train.Runs)
	}
	// Deterministic: the same call gives the same thresholds.
	again, _, _ := CalibrateCascade(p, []int{0, 1, 2}, RuleGreedy, obj)
	if !slices.Equal(again.Thresholds, greedy.Thresholds) {
		t.Errorf("greedy not deterministic: %v then %v", greedy.Thresholds, again.Thresholds)
	}
}

func TestSweepCascade(t *testing.T) {
	p := twoModels()
	pts, err := SweepCascade(p, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1, 1.75, 2.5, 3.25, 4}
	if len(pts) != len(want) {
		t.Fatalf("%d points, want %d", len(pts), len(want))
	}
	for k, pt := range pts {
		if pt.Result.MeanMS != want[k] {
			t.Errorf("point %d (threshold %v): %v ms, want %v", k, pt.Param, pt.Result.MeanMS, want[k])
		}
		if k > 0 && pt.Param <= pts[k-1].Param {
			t.Errorf("thresholds not ascending at %d", k)
		}
	}
	// Pareto: 2.5 ms (75%) is beaten by 1.75 ms (75%), 4 ms by 3.25 ms.
	var front []float64
	for _, pt := range Pareto(pts) {
		front = append(front, pt.Result.MeanMS)
	}
	if !slices.Equal(front, []float64{1, 1.75, 3.25}) {
		t.Errorf("Pareto front latencies %v", front)
	}
}

func TestSingleAndOracle(t *testing.T) {
	p := threeModels()
	r, err := Single(p, 0)
	if err != nil || r.Accuracy != 50 || r.MeanMS != 1 || r.Share["A"] != 100 {
		t.Errorf("single A: %+v, %v", r, err)
	}
	o, err := Oracle(p, []int{0, 1, 2})
	if err != nil || o.Accuracy != 100 || o.MeanMS != (1+2+4+1)/4.0 {
		t.Errorf("oracle: %+v, %v", o, err)
	}
	// Without C image 3 fails everywhere: the oracle spends the cheapest.
	o, _ = Oracle(p, []int{0, 1})
	if o.Hits != 3 || o.MeanMS != (1+2+1+1)/4.0 {
		t.Errorf("oracle over A, B: %+v", o)
	}
	if got, _ := p.Targets([]int{0, 1, 2}); !slices.Equal(got, []int{0, 1, 2, 0}) {
		t.Errorf("targets %v", got)
	}
	if got := ByCost(p, []int{2, 0, 1}); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("ByCost %v", got)
	}
	// B costs more than A for the same 2 hits: off the frontier.
	if got := Frontier(p, []int{2, 1, 0}); !slices.Equal(got, []int{0, 2}) {
		t.Errorf("Frontier %v, want [0 2]", got)
	}
}

func TestBadInput(t *testing.T) {
	p := twoModels()
	for _, obj := range []Objective{{}, {BudgetMS: 1, TargetAcc: 50}, {TargetAcc: 101}, {BudgetMS: math.Inf(1)}} {
		if _, _, err := CalibrateCascade(p, []int{0, 1}, RuleShared, obj); !errors.Is(err, ErrObjective) {
			t.Errorf("objective %+v: %v, want ErrObjective", obj, err)
		}
	}
	if _, _, err := CalibrateCascade(p, []int{0, 1}, "best", Objective{BudgetMS: 1}); err == nil {
		t.Error("unknown rule accepted")
	}
	for _, levels := range [][]int{nil, {0, 0}, {0, 2}, {-1}} {
		if _, _, err := CalibrateCascade(p, levels, RuleShared, Objective{BudgetMS: 1}); !errors.Is(err, ErrProfile) {
			t.Errorf("levels %v: %v, want ErrProfile", levels, err)
		}
	}
	bad := twoModels()
	bad.Score[2][0] = math.NaN()
	if _, err := SweepCascade(bad, []int{0, 1}); !errors.Is(err, ErrProfile) {
		t.Errorf("NaN score: %v", err)
	}
	bad = twoModels()
	bad.Cost = bad.Cost[:1]
	if _, err := Single(bad, 0); !errors.Is(err, ErrProfile) {
		t.Errorf("short costs: %v", err)
	}
	if _, err := EvaluateChoices(p, []int{0, 1, 2, 0}, 0); !errors.Is(err, ErrProfile) {
		t.Errorf("choice out of range: %v", err)
	}
	if _, err := EvaluateChoices(p, []int{0}, 0); !errors.Is(err, ErrProfile) {
		t.Errorf("short choices: %v", err)
	}
	c, _ := NewCascade(p, []int{0, 1}, []float64{0.5})
	q := twoModels()
	q.Models = []string{"big", "small"}
	if _, err := c.Evaluate(q); !errors.Is(err, ErrProfile) {
		t.Errorf("cascade on a profile with other columns: %v", err)
	}
	if _, err := NewCascade(p, []int{0, 1}, nil); err == nil {
		t.Error("cascade without thresholds accepted")
	}
}

func TestSingleLevelCascade(t *testing.T) {
	p := twoModels()
	c, cal, err := CalibrateCascade(p, []int{1}, RuleGreedy, Objective{BudgetMS: 5})
	if err != nil || len(c.Thresholds) != 0 || cal.Train.Accuracy != 100 || cal.Train.MeanMS != 3 || !cal.Met {
		t.Errorf("one level: %+v %+v %v", c, cal, err)
	}
}
