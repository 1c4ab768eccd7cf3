package baselines

import (
	"slices"

	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/method"
	"github.com/modelpick/modelpick/profileview"
)

// CurveOptions configure BudgetCurveOf.
type CurveOptions struct {
	// Learner and K are the premodel's; Theta Algorithm 1's threshold.
	Learner string
	K       int
	Theta   float64
	// Folds and Seed of the out-of-fold scores; Seeds, when set, repeat
	// them once per seed (the knob's points are then the seeds' means).
	Folds int
	Seed  int64
	Seeds []int64
	// OverheadMS is the premodel's cost per image (feature extraction).
	OverheadMS float64
}

// BudgetPoint is one point of a cost/accuracy curve.
type BudgetPoint struct {
	Method   method.Name `json:"method"`
	Param    float64     `json:"param"`
	Accuracy float64     `json:"accuracy_pct"`
	MeanMS   float64     `json:"mean_ms"`
	// Hits is, for the knob's points and the single models, on how many
	// of the curve's seeds each image was answered right (a single model:
	// all or none), so intervals can be drawn over the images.
	Hits []int `json:"hits,omitempty"`
}

// BudgetCurve holds the curves over Algorithm 1's candidates.
type BudgetCurve struct {
	Candidates []string      `json:"candidates"` // cost order
	Images     int           `json:"images"`
	Seeds      []int64       `json:"seeds"`
	Points     []BudgetPoint `json:"points"`
}

// BudgetCurveOf sweeps the budget knob (cumulative out-of-fold premodel
// scores, SweepKnob) and the shared-threshold softmax cascade over
// Algorithm 1's candidates, and adds every single model and the oracle as
// points: accuracy and mean latency on every image of t.
func BudgetCurveOf(t *profileview.Table, o CurveOptions) (BudgetCurve, error) {
	var out BudgetCurve
	tr, err := t.SelectModels(o.Theta)
	if err != nil {
		return out, err
	}
	p := t.View
	levels := ByCost(p, tr.Chosen)
	for _, l := range levels {
		out.Candidates = append(out.Candidates, p.Models[l])
	}
	out.Images = len(p.Items)
	y, err := p.Targets(levels)
	if err != nil {
		return out, err
	}
	factory := func() (learners.Learner, error) { return learners.New(o.Learner, learners.Params{K: o.K}) }
	out.Seeds = o.Seeds
	if len(out.Seeds) == 0 {
		out.Seeds = []int64{o.Seed}
	}
	var scores [][][]float64 // per seed
	var alphas []float64
	for _, seed := range out.Seeds {
		dec, err := OutOfFold(factory, t.X, y, len(levels), o.Folds, seed)
		if err != nil {
			return out, err
		}
		sc := cumulativeAll(dec)
		scores = append(scores, sc)
		alphas = append(alphas, knobCandidates(sc, len(levels))...)
	}
	knob, err := newKnob(p, levels, o.OverheadMS)
	if err != nil {
		return out, err
	}
	right := p.Correct()
	// Every alpha any seed's scores hold, each evaluated on every seed.
	slices.Sort(alphas)
	for _, a := range slices.Compact(alphas) {
		pt := BudgetPoint{Method: method.KnobOf(o.Learner), Param: a, Hits: make([]int, len(p.Items))}
		knob.Alpha = a
		for _, sc := range scores {
			r, err := knob.Evaluate(p, sc)
			if err != nil {
				return out, err
			}
			pt.Accuracy += r.Accuracy / float64(len(scores))
			pt.MeanMS += r.MeanMS / float64(len(scores))
			for i, j := range r.Choice {
				if right[i][j] {
					pt.Hits[i]++
				}
			}
		}
		out.Points = append(out.Points, pt)
	}
	add := func(m method.Name, pts []Point) {
		for _, pt := range pts {
			out.Points = append(out.Points, BudgetPoint{Method: m, Param: pt.Param, Accuracy: pt.Result.Accuracy, MeanMS: pt.Result.MeanMS})
		}
	}
	if len(levels) > 1 {
		casc, err := SweepCascade(p, levels)
		if err != nil {
			return out, err
		}
		add(method.CascadeCurve, casc)
	}
	for j, m := range p.Models {
		r, err := Single(p, j)
		if err != nil {
			return out, err
		}
		hits := make([]int, len(p.Items))
		for i := range hits {
			if right[i][j] {
				hits[i] = len(out.Seeds)
			}
		}
		out.Points = append(out.Points, BudgetPoint{Method: method.SingleOf(m), Param: p.Cost[j], Accuracy: r.Accuracy, MeanMS: r.MeanMS, Hits: hits})
	}
	or, err := Oracle(p, levels)
	if err != nil {
		return out, err
	}
	out.Points = append(out.Points, BudgetPoint{Method: method.OracleCandidates, Accuracy: or.Accuracy, MeanMS: or.MeanMS})
	return out, nil
}
