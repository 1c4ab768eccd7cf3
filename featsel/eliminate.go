package featsel

import (
	"context"
	"fmt"
	"slices"
)

// DefaultTolerance is how far, in percentage points, CV accuracy may fall
// below the best seen while features are still removed: the paper's θ for
// adding models in Algorithm 1 (0.5), applied here to removing features.
const DefaultTolerance = 0.5

// eps absorbs float noise when accuracies are compared: accuracies are
// multiples of 100/N, far coarser.
const eps = 1e-9

// Candidate is the CV accuracy of a set without one feature.
type Candidate struct {
	Feature  string  `json:"feature"`
	Accuracy float64 `json:"cv_accuracy_without"`
}

// Step is one set on the elimination path.
type Step struct {
	NFeatures int      `json:"n_features"`
	Features  []string `json:"features"` // Table 2 order
	Accuracy  float64  `json:"cv_accuracy"`
	// Removed is the feature removed from the previous set to reach this
	// one ("" for the starting set), chosen among Candidates.
	Removed    string      `json:"removed,omitempty"`
	Candidates []Candidate `json:"candidates,omitempty"`
	// Holds says Accuracy is within Tolerance of the best accuracy on the
	// whole path.
	Holds bool `json:"holds"`
}

// Importance is one kept feature's share of the premodel's accuracy.
type Importance struct {
	Feature         string  `json:"feature"`
	AccuracyWithout float64 `json:"cv_accuracy_without"`
	Drop            float64 `json:"drop_points"` // kept-set accuracy minus AccuracyWithout
	Percent         float64 `json:"importance_pct"`
}

// Elimination is the outcome of greedy backward elimination.
type Elimination struct {
	Tolerance    float64      `json:"tolerance_points"`
	Folds        int          `json:"folds"`
	Repeats      int          `json:"repeats"`
	Path         []Step       `json:"path"` // from the start set down to one feature
	Kept         []string     `json:"kept"` // Table 4
	KeptAccuracy float64      `json:"kept_cv_accuracy"`
	BestAccuracy float64      `json:"best_cv_accuracy"`
	Baseline     float64      `json:"no_feature_cv_accuracy"` // most frequent target of the training folds
	Importance   []Importance `json:"importance"`             // of Kept, in Kept order
}

// Eliminate runs greedy backward elimination from start (see the package
// documentation): each step removes the feature whose removal leaves the
// highest CV accuracy (ties: the one later in the table's column order),
// down to one feature. The kept set is the smallest set on that path whose
// accuracy holds: within tolerance of the best accuracy on the path. It then
// measures each kept feature's importance.
func Eliminate(ctx context.Context, e *Evaluator, start []string, tolerance float64) (Elimination, error) {
	res := Elimination{Tolerance: tolerance, Folds: e.Folds(), Repeats: e.Repeats()}
	if len(start) == 0 {
		return res, fmt.Errorf("featsel: elimination needs at least one feature")
	}
	if tolerance < 0 {
		return res, fmt.Errorf("featsel: tolerance %v is negative", tolerance)
	}
	cur, err := e.t.columns(start)
	if err != nil {
		return res, err
	}
	slices.Sort(cur) // table order, so "later" is well defined
	acc, err := e.accuracy(cur)
	if err != nil {
		return res, err
	}
	res.Path = []Step{{NFeatures: len(cur), Features: e.names(cur), Accuracy: acc}}
	for len(cur) > 1 {
		sets := make([][]int, len(cur))
		for i := range cur {
			sets[i] = slices.Delete(slices.Clone(cur), i, i+1)
		}
		accs, err := e.accuracies(ctx, sets)
		if err != nil {
			return res, err
		}
		pick := 0
		cands := make([]Candidate, len(cur))
		for i, a := range accs {
			cands[i] = Candidate{Feature: e.t.Names[cur[i]], Accuracy: a}
			if a >= accs[pick]-eps {
				pick = i
			}
		}
		res.Path = append(res.Path, Step{NFeatures: len(cur) - 1, Features: e.names(sets[pick]), Accuracy: accs[pick],
			Removed: e.t.Names[cur[pick]], Candidates: cands})
		cur = sets[pick]
	}
	res.BestAccuracy = res.Path[0].Accuracy
	for _, s := range res.Path {
		res.BestAccuracy = max(res.BestAccuracy, s.Accuracy)
	}
	for i := range res.Path {
		s := &res.Path[i]
		if s.Holds = s.Accuracy >= res.BestAccuracy-tolerance-eps; s.Holds {
			res.Kept, res.KeptAccuracy = s.Features, s.Accuracy // the path shrinks: the last that holds is the smallest
		}
	}
	if res.Baseline, err = e.accuracy(nil); err != nil {
		return res, err
	}
	res.Importance, err = importance(ctx, e, res.Kept, res.KeptAccuracy)
	return res, err
}

// importance measures the accuracy drop when each feature alone is removed
// from kept, and normalises the positive drops to 100%.
func importance(ctx context.Context, e *Evaluator, kept []string, keptAcc float64) ([]Importance, error) {
	cols, err := e.t.columns(kept)
	if err != nil {
		return nil, err
	}
	sets := make([][]int, len(cols))
	for i := range cols {
		sets[i] = slices.Delete(slices.Clone(cols), i, i+1)
	}
	accs, err := e.accuracies(ctx, sets)
	if err != nil {
		return nil, err
	}
	out := make([]Importance, len(kept))
	drops := make([]float64, len(kept))
	for i, a := range accs {
		out[i] = Importance{Feature: kept[i], AccuracyWithout: a, Drop: keptAcc - a}
		drops[i] = out[i].Drop
	}
	pct := Normalise(drops)
	for i := range out {
		out[i].Percent = pct[i]
	}
	return out, nil
}

// Normalise returns the positive parts of v as percentages of their sum:
// they sum to 100 unless no value is positive, when all are 0 (removing
// any one feature costs nothing, so none has a share to claim).
func Normalise(v []float64) []float64 {
	out := make([]float64, len(v))
	sum := 0.0
	for _, x := range v {
		if x > 0 {
			sum += x
		}
	}
	if sum == 0 {
		return out
	}
	for i, x := range v {
		if x > 0 {
			out[i] = 100 * x / sum
		}
	}
	return out
}

func (e *Evaluator) names(cols []int) []string {
	out := make([]string, len(cols))
	for i, j := range cols {
		out[i] = e.t.Names[j]
	}
	return out
}
