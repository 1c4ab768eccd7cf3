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

// Candidate is the CV score of a set without one feature.
type Candidate struct {
	Feature   string  `json:"feature"`
	Accuracy  float64 `json:"premodel_accuracy_without_pct"`
	Selection float64 `json:"selection_accuracy_without_pct"`
}

// Step is one set on the elimination path.
type Step struct {
	NFeatures int      `json:"n_features"`
	Features  []string `json:"features"` // Table 2 order
	// Accuracy is the premodel's CV accuracy (Score.Accuracy), Selection
	// its selection accuracy.
	Accuracy  float64 `json:"premodel_accuracy_pct"`
	Selection float64 `json:"selection_accuracy_pct"`
	// Removed is the feature removed from the previous set to reach this
	// one ("" for the starting set), chosen among Candidates.
	Removed    string      `json:"removed,omitempty"`
	Candidates []Candidate `json:"candidates,omitempty"`
	// Holds says Accuracy is within Tolerance of the best accuracy on the
	// whole path.
	Holds bool `json:"holds"`
}

// Elimination is the outcome of greedy backward elimination.
type Elimination struct {
	Tolerance    float64  `json:"tolerance_points"`
	Folds        int      `json:"folds"`
	Repeats      int      `json:"repeats"`
	Path         []Step   `json:"path"` // from the start set down to one feature
	Kept         []string `json:"kept"`
	KeptAccuracy float64  `json:"kept_premodel_accuracy_pct"`
	BestAccuracy float64  `json:"best_premodel_accuracy_pct"`
	// Baseline is the score with no feature: the training folds' most
	// frequent target for every image.
	Baseline Score `json:"no_feature"`
}

// Eliminate runs greedy backward elimination from start (see the package
// documentation): each step removes the feature whose removal leaves the
// highest premodel accuracy (ties: the one later in the table's column
// order), down to one feature. The kept set is the smallest set on that
// path whose accuracy holds: within tolerance of the best accuracy on the
// path.
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
	sc, err := e.score(cur)
	if err != nil {
		return res, err
	}
	res.Path = []Step{{NFeatures: len(cur), Features: e.names(cur), Accuracy: sc.Accuracy, Selection: sc.Selection}}
	for len(cur) > 1 {
		sets := make([][]int, len(cur))
		for i := range cur {
			sets[i] = slices.Delete(slices.Clone(cur), i, i+1)
		}
		scs, err := e.scores(ctx, sets)
		if err != nil {
			return res, err
		}
		pick := 0
		cands := make([]Candidate, len(cur))
		for i, s := range scs {
			cands[i] = Candidate{Feature: e.t.Names[cur[i]], Accuracy: s.Accuracy, Selection: s.Selection}
			if s.Accuracy >= scs[pick].Accuracy-eps {
				pick = i
			}
		}
		res.Path = append(res.Path, Step{NFeatures: len(cur) - 1, Features: e.names(sets[pick]), Accuracy: scs[pick].Accuracy,
			Selection: scs[pick].Selection, Removed: e.t.Names[cur[pick]], Candidates: cands})
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
	res.Baseline, err = e.score(nil)
	return res, err
}

// Drops returns, for each feature of set, the premodel accuracy lost
// (points) when it alone is removed from set, and the set's own score.
func Drops(ctx context.Context, e *Evaluator, set []string) ([]float64, Score, error) {
	cols, err := e.t.columns(set)
	if err != nil {
		return nil, Score{}, err
	}
	sets := [][]int{cols}
	for i := range cols {
		sets = append(sets, slices.Delete(slices.Clone(cols), i, i+1))
	}
	scs, err := e.scores(ctx, sets)
	if err != nil {
		return nil, Score{}, err
	}
	out := make([]float64, len(cols))
	for i := range cols {
		out[i] = scs[0].Accuracy - scs[i+1].Accuracy
	}
	return out, scs[0], nil
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
