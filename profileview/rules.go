package profileview

import (
	"fmt"
	"slices"

	"github.com/modelpick/modelpick/selection"
)

// None is the target of an image that no model of the set gets right.
const None = selection.None

// Correct returns the correctness matrix under the view's criterion.
func (v *View) Correct() [][]bool {
	if v.Criterion == Top5 {
		return v.Correct5
	}
	return v.Correct1
}

// ModelIndex returns the column of a model, or -1.
func (v *View) ModelIndex(name string) int { return slices.Index(v.Models, name) }

// Column returns the column of a model, or an error naming the models.
func (v *View) Column(name string) (int, error) {
	if j := v.ModelIndex(name); j >= 0 {
		return j, nil
	}
	return 0, fmt.Errorf("no model %q in the profile (have %v)", name, v.Models)
}

// Columns returns the columns of the named models, in the order given.
func (v *View) Columns(names []string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		j, err := v.Column(n)
		if err != nil {
			return nil, err
		}
		out[i] = j
	}
	return out, nil
}

// all is every column, in order.
func (v *View) all() []int {
	out := make([]int, len(v.Models))
	for j := range out {
		out[j] = j
	}
	return out
}

// Targets returns each image's optimum among the models of cols (every
// model when cols is nil): the index into cols of the cheapest model that
// is correct on it under the criterion, cheapest in the view's Order (the
// tie rule), or None when none of them is. This is the one rule every
// target and oracle of the project follows (selection.Targets on the
// columns, with the ranks as costs).
func (v *View) Targets(cols []int) ([]int, error) {
	if cols == nil {
		cols = v.all()
	}
	sub, cost, err := selection.Subset(v.Correct(), v.Ranks(), cols)
	if err != nil {
		return nil, fmt.Errorf("targets of %s: %w", v.Store, err)
	}
	return selection.Targets(sub, cost)
}

// Oracle returns the model column each image runs under a perfect
// premodel over cols (every model when nil): its optimum, or, when no
// model of cols is right, the cheapest of cols in Order, since any answer
// is then wrong and the cheapest costs least.
func (v *View) Oracle(cols []int) ([]int, error) {
	if cols == nil {
		cols = v.all()
	}
	t, err := v.Targets(cols)
	if err != nil {
		return nil, err
	}
	cheapest := v.Cheapest(cols)
	out := make([]int, len(t))
	for i, k := range t {
		out[i] = cheapest
		if k != None {
			out[i] = cols[k]
		}
	}
	return out, nil
}

// Accuracy returns each model's accuracy, in percent, under the criterion.
func (v *View) Accuracy() []float64 {
	out := make([]float64, len(v.Models))
	for _, row := range v.Correct() {
		for j, ok := range row {
			if ok {
				out[j]++
			}
		}
	}
	for j := range out {
		out[j] = 100 * out[j] / float64(len(v.Items))
	}
	return out
}

// Subset returns the view of rows idx, in that order; the model-level
// fields are shared with v.
func (v *View) Subset(idx []int) *View {
	q := *v
	q.Items = rows(v.Items, idx)
	q.Correct1, q.Correct5 = rows(v.Correct1, idx), rows(v.Correct5, idx)
	q.Score, q.Pred = rows(v.Score, idx), rows(v.Pred, idx)
	return &q
}

// rows picks rows idx of s (nil stays nil: a hand-made view may leave a
// matrix out).
func rows[T any](s []T, idx []int) []T {
	if s == nil {
		return nil
	}
	out := make([]T, 0, len(idx))
	for _, i := range idx {
		out = append(out, s[i])
	}
	return out
}

// Keep returns the view of the rows where keep is true.
func (v *View) Keep(keep []bool) *View {
	var idx []int
	for i, k := range keep {
		if k {
			idx = append(idx, i)
		}
	}
	return v.Subset(idx)
}
