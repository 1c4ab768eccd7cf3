package learners

import (
	"fmt"
	"strings"
)

// Hierarchy is a cascade whose levels may be different learners, named
// "X.Y.Z" after the paper's Fig 10 (e.g. "knn.svm.dt": a kNN decides on the
// first class of Params.Order, an SVM on the second, a tree on the third).
//
// Each level is a binary learner (Classes = 1: class 0 means "use my
// model", None means "pass on"), trained on all rows with the labels of
// [KNNCascade]: positive where the row's optimum is the level's class.
// Levels are asked in order and the first yes wins; after a no from the
// last level the answer is None. So "knn.knn.knn" decides exactly as the
// kNN cascade does, only with one neighbour search per level.
//
// Scores[Order[i]] is level i's score for "yes"; levels after the deciding
// one are not run (that is the point of a cascade at run time) and score
// 0. MeanDist is that of the last kNN level run, or -1 if none ran.
type Hierarchy struct {
	p       Params
	names   []string
	levels  []Learner
	order   []int
	classes int
	dims    int
}

// NewHierarchy returns an unfitted hierarchy with one level per name; each
// name must be a learner that can serve as a binary level (see Names).
func NewHierarchy(names []string, p Params) (*Hierarchy, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("hierarchy: no levels")
	}
	for _, n := range names {
		if _, err := newLevel(n, p); err != nil {
			return nil, fmt.Errorf("hierarchy %q: %w", strings.Join(names, "."), err)
		}
	}
	return &Hierarchy{p: p, names: append([]string(nil), names...)}, nil
}

// Name implements Learner.
func (l *Hierarchy) Name() string { return strings.Join(l.names, ".") }

// Fit implements Learner. Every level gets the same seed.
func (l *Hierarchy) Fit(d Data, seed int64) error {
	dims, err := d.check()
	if err != nil {
		return fmt.Errorf("%s: fit: %w", l.Name(), err)
	}
	order, err := levelOrder(l.p.Order, d.Classes)
	if err != nil {
		return fmt.Errorf("%s: fit: %w", l.Name(), err)
	}
	if len(order) != len(l.names) {
		return fmt.Errorf("%s: fit: %d levels for a cascade order of %d classes %v: %w",
			l.Name(), len(l.names), len(order), order, ErrLabel)
	}
	levels := make([]Learner, len(l.names))
	for i, name := range l.names {
		y := make([]int, len(d.Y))
		for r, opt := range d.Y {
			y[r] = None
			if opt == order[i] {
				y[r] = 0
			}
		}
		lv, err := newLevel(name, l.p)
		if err != nil {
			return fmt.Errorf("%s: fit: %w", l.Name(), err)
		}
		if err := lv.Fit(Data{X: d.X, Y: y, Classes: 1}, seed); err != nil {
			return fmt.Errorf("%s: fit level %d (%s): %w", l.Name(), i, name, err)
		}
		levels[i] = lv
	}
	l.levels, l.order, l.classes, l.dims = levels, order, d.Classes, dims
	return nil
}

// Predict implements Learner.
func (l *Hierarchy) Predict(x []float64) (Decision, error) {
	if err := checkInput(x, l.dims); err != nil {
		return Decision{}, fmt.Errorf("%s: predict: %w", l.Name(), err)
	}
	dec := Decision{Class: None, Scores: make([]float64, l.classes), MeanDist: -1}
	for i, lv := range l.levels {
		d, err := lv.Predict(x)
		if err != nil {
			return Decision{}, fmt.Errorf("%s: predict level %d: %w", l.Name(), i, err)
		}
		dec.Scores[l.order[i]] = d.Scores[0]
		if d.MeanDist >= 0 {
			dec.MeanDist = d.MeanDist
		}
		if d.Class == 0 {
			dec.Class = l.order[i]
			break
		}
	}
	return dec, nil
}

type hierarchyState struct {
	Params  Params
	Names   []string
	Order   []int
	Classes int
	Dims    int
	Levels  [][]byte
}

// MarshalBinary implements Learner.
func (l *Hierarchy) MarshalBinary() ([]byte, error) {
	if l.dims == 0 {
		return nil, fmt.Errorf("%s: encode: %w", l.Name(), ErrNotFitted)
	}
	st := hierarchyState{Params: l.p, Names: l.names, Order: l.order, Classes: l.classes, Dims: l.dims}
	for i, lv := range l.levels {
		b, err := lv.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("%s: encode level %d: %w", l.Name(), i, err)
		}
		st.Levels = append(st.Levels, b)
	}
	return encode(l.Name(), st)
}

// UnmarshalBinary implements Learner. The receiver's name must match the
// encoded one (construct it with New(EncodedName(b), ...) or use Load).
func (l *Hierarchy) UnmarshalBinary(b []byte) error {
	var st hierarchyState
	if err := decode(b, l.Name(), &st); err != nil {
		return err
	}
	if _, err := levelOrder(st.Order, st.Classes); err != nil || len(st.Order) != len(st.Names) ||
		len(st.Levels) != len(st.Names) || st.Dims < 1 {
		return fmt.Errorf("%s: decode: inconsistent levels: %w", l.Name(), ErrBadEncoded)
	}
	levels := make([]Learner, len(st.Names))
	for i, name := range st.Names {
		lv, err := newLevel(name, st.Params)
		if err != nil {
			return fmt.Errorf("%s: decode: %v: %w", l.Name(), err, ErrBadEncoded)
		}
		if err := lv.UnmarshalBinary(st.Levels[i]); err != nil {
			return fmt.Errorf("%s: decode level %d: %w", l.Name(), i, err)
		}
		levels[i] = lv
	}
	l.p, l.names, l.order, l.classes, l.dims, l.levels = st.Params, st.Names, st.Order, st.Classes, st.Dims, levels
	return nil
}
