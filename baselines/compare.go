package baselines

import (
	"fmt"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/profileview"

	"github.com/modelpick/modelpick/learners"
)

// Source is one kind of premodel input, already joined to the images of
// the training and test profiles (row i is image i).
type Source struct {
	Train, Test [][]float64
	// OverheadMS is the cost per image of producing a row (feature
	// extraction, or the backbone's run), measured on the device.
	OverheadMS float64
	// Reuses names the model whose run produced the row (a backbone's own
	// answer comes out of the same run), or "": choosing that model then
	// costs nothing beyond OverheadMS.
	Reuses string
}

// PremodelSpec names a premodel: a learner of package learners on a
// source, e.g. "knn" on "features", "cnn" on "embedding".
type PremodelSpec struct {
	Learner string          `json:"learner"`
	Source  string          `json:"source"`
	Params  learners.Params `json:"params"`
}

func (s PremodelSpec) String() string { return s.Learner + "@" + s.Source }

// Options configure Compare.
type Options struct {
	Train, Test *profileview.View
	// Candidates are the models the methods choose among; they run in
	// cost order (the training profile's costs).
	Candidates []string
	// Objectives each method is calibrated for on the training set.
	Objectives []Objective
	// Rules for the softmax cascade (default both).
	Rules []Rule
	// Sources by name, and the premodels over them.
	Sources   map[string]Source
	Premodels []PremodelSpec
	// Folds of the out-of-fold scores the knob is calibrated on (default
	// 10, the paper's k), and the seed of folds, learners and random
	// routing.
	Folds int
	Seed  int64
	// TimeDecisions adds the measured median time of a premodel's decision
	// (scaling + Predict) to its overhead. Off, results are deterministic
	// under the seed.
	TimeDecisions bool
}

// Entry is one method's outcome.
type Entry struct {
	Method    string     `json:"method"`
	Objective *Objective `json:"objective,omitempty"`
	// Setting is the calibrated knob: cascade thresholds, or alpha.
	Thresholds []float64 `json:"thresholds,omitempty"`
	Alpha      *float64  `json:"alpha,omitempty"`
	// Train is the result on the calibration set (out-of-fold for
	// premodels), and Met whether it met the objective.
	Train *Result `json:"train,omitempty"`
	Met   *bool   `json:"met,omitempty"`
	Test  Result  `json:"test"`
	// OverheadMS is the premodel's cost per image included in Test.
	OverheadMS float64 `json:"overhead_ms,omitempty"`
	// DecisionMS is the measured part of it spent deciding (scaling and
	// Predict; the median over the test rows).
	DecisionMS float64 `json:"decision_ms,omitempty"`
	// SelectionAcc is the share of test images whose optimum candidate
	// (or none) the premodel named, in percent.
	SelectionAcc *float64 `json:"selection_accuracy_pct,omitempty"`
	// Random is random routing at this entry's test mean latency.
	Random       *Random `json:"random,omitempty"`
	RandomResult *Result `json:"random_result,omitempty"`
}

// Curve is one point of a cost/accuracy curve.
type Curve struct {
	Method string  `json:"method"`
	Set    string  `json:"set"` // "train" (out-of-fold for premodels) or "test"
	Param  float64 `json:"param"`
	Result Result  `json:"result"`
}

// Report is what Compare returns.
type Report struct {
	Candidates  []string  `json:"candidates"` // cost order
	CostMS      []float64 `json:"candidate_cost_ms"`
	TrainImages int       `json:"train_images"`
	TestImages  int       `json:"test_images"`
	// TestTargets is the share of test images (percent) whose optimum
	// candidate is each model, or "none": the class balance a premodel's
	// selection accuracy is read against.
	TestTargets map[string]float64 `json:"test_target_share_pct"`
	Singles     []Entry            `json:"singles"` // every model of the test profile
	Oracle      Entry              `json:"oracle"`  // over the candidates
	Methods     []Entry            `json:"methods"`
	Curves      []Curve            `json:"curves"`
}

// Compare calibrates every method on the training profile and evaluates
// it on the test profile: the softmax cascade under each rule and
// objective, and for each premodel its plain decisions (None runs the
// cheapest candidate) and its knob under each objective, each with random
// routing at the same test latency; plus single models, the oracle, and
// the curves of the one-knob methods.
func Compare(o Options) (Report, error) {
	var rep Report
	if err := check(o.Train); err != nil {
		return rep, fmt.Errorf("training profile: %w", err)
	}
	if err := check(o.Test); err != nil {
		return rep, fmt.Errorf("test profile: %w", err)
	}
	if !slices.Equal(o.Train.Models, o.Test.Models) {
		return rep, fmt.Errorf("baselines: training models %v differ from test models %v", o.Train.Models, o.Test.Models)
	}
	if o.Folds == 0 {
		o.Folds = 10
	}
	if len(o.Rules) == 0 {
		o.Rules = []Rule{RuleShared, RuleGreedy}
	}
	var levels []int
	for _, name := range o.Candidates {
		j, err := o.Train.Column(name)
		if err != nil {
			return rep, err
		}
		levels = append(levels, j)
	}
	levels = ByCost(o.Train, levels)
	if err := checkLevels(o.Train, levels); err != nil {
		return rep, err
	}
	for _, j := range levels {
		rep.Candidates = append(rep.Candidates, o.Train.Models[j])
		rep.CostMS = append(rep.CostMS, o.Train.Cost[j])
	}
	rep.TrainImages, rep.TestImages = len(o.Train.Items), len(o.Test.Items)
	trainTargets, err := o.Train.Targets(levels)
	if err != nil {
		return rep, fmt.Errorf("baselines: %w", err)
	}
	testTargets, err := o.Test.Targets(levels)
	if err != nil {
		return rep, fmt.Errorf("baselines: %w", err)
	}
	rep.TestTargets = map[string]float64{}
	for _, l := range testTargets {
		name := "none"
		if l >= 0 {
			name = rep.Candidates[l]
		}
		rep.TestTargets[name] += 100 / float64(len(o.Test.Items))
	}
	if len(o.Objectives) == 0 {
		return rep, fmt.Errorf("baselines: no objective: %w", ErrObjective)
	}
	seed := uint64(o.Seed)

	for j, name := range o.Test.Models {
		r, err := Single(o.Test, j)
		if err != nil {
			return rep, err
		}
		rep.Singles = append(rep.Singles, Entry{Method: "single/" + name, Test: r})
		rep.Curves = append(rep.Curves, Curve{Method: "single/" + name, Set: "test", Param: o.Test.Cost[j], Result: r})
	}
	or, err := Oracle(o.Test, levels)
	if err != nil {
		return rep, err
	}
	rep.Oracle = Entry{Method: "oracle", Test: or}
	rep.Curves = append(rep.Curves, Curve{Method: "oracle", Set: "test", Result: or})

	withRandom := func(e Entry) (Entry, error) {
		rnd, rr, err := RandomMatched(o.Test, levels, e.Test.MeanMS, seed)
		if err != nil {
			return e, err
		}
		e.Random, e.RandomResult = &rnd, &rr
		return e, nil
	}

	// Softmax cascade.
	for _, rule := range o.Rules {
		for _, obj := range o.Objectives {
			c, cal, err := CalibrateCascade(o.Train, levels, rule, obj)
			if err != nil {
				return rep, err
			}
			r, err := c.Evaluate(o.Test)
			if err != nil {
				return rep, err
			}
			e, err := withRandom(Entry{Method: "softmax-cascade/" + string(rule), Objective: &obj,
				Thresholds: c.Thresholds, Train: &cal.Train, Met: &cal.Met, Test: r})
			if err != nil {
				return rep, err
			}
			rep.Methods = append(rep.Methods, e)
		}
	}
	for _, c := range []struct {
		set string
		p   *profileview.View
	}{{"train", o.Train}, {"test", o.Test}} {
		pts, err := SweepCascade(c.p, levels)
		if err != nil {
			return rep, err
		}
		for _, pt := range pts {
			rep.Curves = append(rep.Curves, Curve{Method: "softmax-cascade", Set: c.set, Param: pt.Param, Result: pt.Result})
		}
	}

	// Premodels and their knobs.
	for _, pm := range o.Premodels {
		src, ok := o.Sources[pm.Source]
		if !ok {
			return rep, fmt.Errorf("baselines: premodel %s: no source %q", pm, pm.Source)
		}
		if len(src.Train) != len(o.Train.Items) || len(src.Test) != len(o.Test.Items) {
			return rep, fmt.Errorf("baselines: source %s has %d/%d rows for %d/%d images: %w",
				pm.Source, len(src.Train), len(src.Test), len(o.Train.Items), len(o.Test.Items), ErrProfile)
		}
		// A reused run's model costs nothing more once the source is paid.
		train, test := o.Train, o.Test
		if src.Reuses != "" {
			if train, err = free(o.Train, src.Reuses); err != nil {
				return rep, err
			}
			if test, err = free(o.Test, src.Reuses); err != nil {
				return rep, err
			}
		}
		factory := func() (learners.Learner, error) {
			p := pm.Params
			p.Order = nil // classes are the candidates in cost order
			return learners.New(pm.Learner, p)
		}
		labels := func(t []int) []int { // -1 is learners.None
			out := slices.Clone(t)
			for i, y := range out {
				if y < 0 {
					out[i] = learners.None
				}
			}
			return out
		}
		yTrain := labels(trainTargets)
		fm, err := fit(factory, src.Train, yTrain, len(levels), o.Seed)
		if err != nil {
			return rep, fmt.Errorf("premodel %s: %w", pm, err)
		}
		dec, took, err := fm.predict(src.Test)
		if err != nil {
			return rep, fmt.Errorf("premodel %s: %w", pm, err)
		}
		overhead := src.OverheadMS
		var decisionMS float64
		if o.TimeDecisions {
			decisionMS = took.Seconds() * 1000
			overhead += decisionMS
		}
		oof, err := OutOfFold(factory, src.Train, yTrain, len(levels), o.Folds, o.Seed)
		if err != nil {
			return rep, fmt.Errorf("premodel %s: %w", pm, err)
		}

		// Plain decisions: the predicted class, None to the cheapest.
		choice := make([]int, len(dec))
		right := 0
		for i, d := range dec {
			l := d.Class
			if l == learners.None {
				l = 0
			}
			choice[i] = levels[l]
			if d.Class == yTestLabel(testTargets[i]) {
				right++
			}
		}
		r, err := EvaluateChoices(test, choice, overhead)
		if err != nil {
			return rep, err
		}
		sel := 100 * float64(right) / float64(len(dec))
		e, err := withRandom(Entry{Method: "premodel/" + pm.String(), Test: r, OverheadMS: overhead, DecisionMS: decisionMS, SelectionAcc: &sel})
		if err != nil {
			return rep, err
		}
		rep.Methods = append(rep.Methods, e)

		// The knob, calibrated on out-of-fold scores.
		trainScores, testScores := cumulativeAll(oof), cumulativeAll(dec)
		for _, obj := range o.Objectives {
			k, cal, err := CalibrateKnob(train, levels, trainScores, overhead, obj)
			if err != nil {
				return rep, fmt.Errorf("premodel %s: %w", pm, err)
			}
			r, err := k.Evaluate(test, testScores)
			if err != nil {
				return rep, err
			}
			alpha := k.Alpha
			e, err := withRandom(Entry{Method: "knob/" + pm.String(), Objective: &obj, Alpha: &alpha,
				Train: &cal.Train, Met: &cal.Met, Test: r, OverheadMS: overhead, DecisionMS: decisionMS})
			if err != nil {
				return rep, err
			}
			rep.Methods = append(rep.Methods, e)
		}
		for _, c := range []struct {
			set string
			p   *profileview.View
			s   [][]float64
		}{{"train", train, trainScores}, {"test", test, testScores}} {
			pts, err := SweepKnob(c.p, levels, c.s, overhead)
			if err != nil {
				return rep, err
			}
			for _, pt := range pts {
				rep.Curves = append(rep.Curves, Curve{Method: "knob/" + pm.String(), Set: c.set, Param: pt.Param, Result: pt.Result})
			}
		}
	}
	slices.SortStableFunc(rep.Curves, func(a, b Curve) int {
		if c := strings.Compare(a.Method, b.Method); c != 0 {
			return c
		}
		if c := strings.Compare(a.Set, b.Set); c != 0 {
			return c
		}
		switch {
		case a.Param < b.Param:
			return -1
		case a.Param > b.Param:
			return 1
		}
		return 0
	})
	return rep, nil
}

func yTestLabel(t int) int {
	if t < 0 {
		return learners.None
	}
	return t
}

func cumulativeAll(dec []learners.Decision) [][]float64 {
	out := make([][]float64, len(dec))
	for i, d := range dec {
		out[i] = Cumulative(d)
	}
	return out
}

// free returns p with model's cost set to zero.
func free(p *profileview.View, model string) (*profileview.View, error) {
	j, err := p.Column(model)
	if err != nil {
		return p, fmt.Errorf("baselines: %w", err)
	}
	q := *p
	q.Cost = slices.Clone(p.Cost)
	q.Cost[j] = 0
	return &q, nil
}
