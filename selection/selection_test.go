package selection

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// group is n images that share one correctness pattern, written as a string
// of '1' (correct) and '0' (wrong), one character per model.
type group struct {
	n       int
	pattern string
}

func profile(gs ...group) [][]bool {
	var out [][]bool
	for _, g := range gs {
		for range g.n {
			row := make([]bool, len(g.pattern))
			for j, c := range g.pattern {
				row[j] = c == '1'
			}
			out = append(out, row)
		}
	}
	return out
}

func TestTargets(t *testing.T) {
	cost := []float64{2, 1, 1}
	correct := profile(
		group{1, "111"}, // models 1 and 2 tie on cost 1: lower index
		group{1, "101"}, // model 2 is cheaper than model 0
		group{1, "100"},
		group{1, "000"}, // all fail
		group{1, "001"},
	)
	got, err := Targets(correct, cost)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1, 2, 0, None, 2}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Targets = %v, want %v", got, want)
	}
}

func TestCheckRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		correct [][]bool
		cost    []float64
		msg     string
	}{
		{"no images", nil, []float64{1}, "no images"},
		{"no models", profile(group{1, ""}), nil, "no models"},
		{"ragged", profile(group{1, "11"}, group{1, "1"}), []float64{1, 2}, "image 1 has 1 models"},
		{"NaN cost", profile(group{1, "11"}), []float64{1, math.NaN()}, "cost of model 1"},
		{"Inf cost", profile(group{1, "11"}), []float64{math.Inf(1), 1}, "cost of model 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Targets(tc.correct, tc.cost)
			if !errors.Is(err, ErrProfile) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Targets error = %v, want ErrProfile mentioning %q", err, tc.msg)
			}
			if _, err := SelectModels(tc.correct, tc.cost, 0.5); !errors.Is(err, ErrProfile) {
				t.Fatalf("SelectModels error = %v, want ErrProfile", err)
			}
		})
	}
	for _, theta := range []float64{-0.1, math.NaN(), math.Inf(1)} {
		if _, err := SelectModels(profile(group{1, "1"}), []float64{1}, theta); err == nil {
			t.Errorf("theta %v accepted", theta)
		}
	}
}

func TestOracle(t *testing.T) {
	correct := profile(group{2, "100"}, group{1, "010"}, group{1, "000"})
	for _, tc := range []struct {
		set  []int
		want float64
	}{
		{nil, 0},
		{[]int{0}, 50},
		{[]int{1}, 25},
		{[]int{2}, 0},
		{[]int{0, 1}, 75},
		{[]int{0, 1, 2}, 75},
	} {
		if got := Oracle(correct, tc.set); got != tc.want {
			t.Errorf("Oracle(%v) = %v, want %v", tc.set, got, tc.want)
		}
	}
	if got := Oracle(nil, []int{0}); got != 0 {
		t.Errorf("Oracle of no images = %v, want 0", got)
	}
}

// A worked example on 200 images (so one image is 0.5 points): the second
// pick is model 3, which is rarely optimum but rescues the most of model 0's
// failures, as in Fig 6b where the second model is not the second most
// frequent optimum.
func TestSelectModelsWorked(t *testing.T) {
	cost := []float64{1, 5, 10, 20}
	correct := profile(
		group{120, "1110"}, // optimum 0
		group{30, "0100"},  // optimum 1
		group{40, "0011"},  // optimum 2
		group{1, "0001"},   // optimum 3
		group{9, "0000"},   // none
	)
	tr, err := SelectModels(correct, cost, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 3, 1}; !reflect.DeepEqual(tr.Chosen, want) {
		t.Fatalf("Chosen = %v, want %v", tr.Chosen, want)
	}
	if tr.Oracle != 95.5 {
		t.Errorf("Oracle = %v, want 95.5", tr.Oracle)
	}
	if want := []float64{60, 15, 20, 0.5}; !reflect.DeepEqual(tr.OptimumShare, want) {
		t.Errorf("OptimumShare = %v, want %v", tr.OptimumShare, want)
	}
	if tr.NoneShare != 4.5 {
		t.Errorf("NoneShare = %v, want 4.5", tr.NoneShare)
	}
	if want := []float64{60, 75, 80, 20.5}; !reflect.DeepEqual(tr.Accuracy, want) {
		t.Errorf("Accuracy = %v, want %v", tr.Accuracy, want)
	}
	want := []Step{
		{Before: []int{}, Failed: 200, AccuracyOnFailed: []float64{60, 75, 80, 20.5},
			Candidate: 0, Set: []int{0}, Oracle: 60, Gain: 60, Added: true},
		{Before: []int{0}, Failed: 80, AccuracyOnFailed: []float64{0, 37.5, 50, 51.25},
			Candidate: 3, Set: []int{0, 3}, Oracle: 80.5, Gain: 20.5, Added: true},
		{Before: []int{0, 3}, Failed: 39, AccuracyOnFailed: []float64{0, 100 * 30.0 / 39, 0, 0},
			Candidate: 1, Set: []int{0, 3, 1}, Oracle: 95.5, Gain: 15, Added: true},
		{Before: []int{0, 3, 1}, Failed: 9, AccuracyOnFailed: []float64{0, 0, 0, 0},
			Candidate: 2, Set: []int{0, 3, 1, 2}, Oracle: 95.5, Gain: 0, Added: false},
	}
	if !reflect.DeepEqual(tr.Steps, want) {
		t.Errorf("Steps =\n%+v\nwant\n%+v", tr.Steps, want)
	}
}

// One image in 200 is a gain of exactly 0.5 points: theta 0.5 keeps the
// model (the paper stops only when the gain is below theta), anything above
// rejects it.
func TestSelectModelsThetaBoundary(t *testing.T) {
	cost := []float64{1, 2, 3}
	correct := profile(group{150, "100"}, group{49, "010"}, group{1, "001"})
	for _, tc := range []struct {
		theta  float64
		chosen []int
		steps  int
		oracle float64
	}{
		{0.5, []int{0, 1, 2}, 3, 100}, // stops because nothing is left to fail
		{0.5000001, []int{0, 1}, 3, 99.5},
		{24.5, []int{0, 1}, 3, 99.5},
		{24.6, []int{0}, 2, 75},
		{0, []int{0, 1, 2}, 3, 100},
	} {
		tr, err := SelectModels(correct, cost, tc.theta)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tr.Chosen, tc.chosen) || len(tr.Steps) != tc.steps || tr.Oracle != tc.oracle {
			t.Errorf("theta %v: chosen %v, %d steps, oracle %v; want %v, %d, %v",
				tc.theta, tr.Chosen, len(tr.Steps), tr.Oracle, tc.chosen, tc.steps, tc.oracle)
		}
		last := tr.Steps[len(tr.Steps)-1]
		if last.Gain != 0.5 && tc.theta <= 0.5 {
			t.Errorf("theta %v: last gain %v, want exactly 0.5", tc.theta, last.Gain)
		}
	}
}

func TestSelectModelsTies(t *testing.T) {
	// Models 1 and 2 rescue the same 50 of model 0's 100 failures.
	correct := profile(group{100, "1000"}, group{50, "0110"}, group{50, "0000"})
	for _, tc := range []struct {
		cost []float64
		want []int
	}{
		{[]float64{1, 5, 3, 9}, []int{0, 2}}, // equal accuracy: the cheaper
		{[]float64{1, 5, 5, 9}, []int{0, 1}}, // equal cost too: lower index
	} {
		tr, err := SelectModels(correct, tc.cost, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tr.Chosen, tc.want) {
			t.Errorf("cost %v: Chosen = %v, want %v", tc.cost, tr.Chosen, tc.want)
		}
	}
	// Models 0 and 1 are optimum equally often: the first pick is model 0.
	tr, err := SelectModels(profile(group{3, "10"}, group{3, "01"}), []float64{1, 1}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Chosen[0] != 0 {
		t.Errorf("first pick %d, want 0", tr.Chosen[0])
	}
}

func TestSelectModelsDegenerate(t *testing.T) {
	// Every image fails every model: the first model is still taken (the
	// algorithm starts from one), nothing else is.
	tr, err := SelectModels(profile(group{4, "000"}), []float64{3, 2, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tr.Chosen, []int{0}) || tr.Oracle != 0 || tr.NoneShare != 100 || len(tr.Steps) != 2 || tr.Steps[1].Added {
		t.Errorf("all-fail: %+v", tr)
	}
	// One model is right on every image: one step, nothing left to fail.
	tr, err = SelectModels(profile(group{4, "011"}), []float64{1, 2, 3}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tr.Chosen, []int{1}) || tr.Oracle != 100 || len(tr.Steps) != 1 {
		t.Errorf("perfect model: %+v", tr)
	}
	// All models chosen: the loop ends when none is left.
	tr, err = SelectModels(profile(group{1, "10"}, group{1, "01"}), []float64{1, 2}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tr.Chosen, []int{0, 1}) || len(tr.Steps) != 2 {
		t.Errorf("all chosen: %+v", tr)
	}
}

func TestTraceJSON(t *testing.T) {
	tr, err := SelectModels(profile(group{3, "10"}, group{1, "01"}, group{1, "00"}), []float64{1, 2}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var back Trace
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tr, back) {
		t.Errorf("JSON round trip changed the trace:\n%+v\n%+v", tr, back)
	}
	for _, key := range []string{`"chosen":[0,1]`, `"optimum_share_pct":[60,20]`, `"none_share_pct":20`, `"before":[]`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON %s lacks %s", b, key)
		}
	}
}

func TestSubset(t *testing.T) {
	correct := profile(group{1, "101"}, group{1, "010"})
	sub, cost, err := Subset(correct, []float64{1, 2, 3}, []int{2, 0})
	if err != nil {
		t.Fatal(err)
	}
	if want := profile(group{1, "11"}, group{1, "00"}); !reflect.DeepEqual(sub, want) {
		t.Errorf("Subset = %v, want %v", sub, want)
	}
	if !reflect.DeepEqual(cost, []float64{3, 1}) {
		t.Errorf("cost = %v", cost)
	}
	if _, _, err := Subset(correct, []float64{1, 2, 3}, []int{3}); !errors.Is(err, ErrProfile) {
		t.Errorf("out-of-range model: err = %v", err)
	}
}
