package learners

import (
	"fmt"
	"slices"
)

// KNNCascade is the paper's premodel (Fig 7): one binary K-nearest-neighbour
// classifier per candidate, asked in a fixed order (Params.Order, normally
// Algorithm 1's), each answering "use my model" or "pass on".
//
// The levels share one neighbour search: the K nearest training rows of
// the input are found once, and each level relabels those same K rows
// instead of searching again.
//
// Labelling rule. Level i decides on class Order[i]; a training row is
// positive for it when its optimum model (Data.Y) is Order[i], and negative
// otherwise, including rows whose optimum is None. Every level is trained
// on all rows (a level-specific training set would need a search of its
// own). A level says yes when its positives are a strict majority of the K
// neighbours; the answer is the first level, in order, that says yes. When
// the last level says no the answer is None, and the caller applies its
// fallback (a default model, or no inference).
//
// Because each row has one optimum, the levels' positive sets are disjoint
// and at most one level can hold a strict majority: the decision is the
// kNN majority class, or None where the plain kNN would go with a mere
// plurality. The order starts to matter when the levels are different
// learners (see Hierarchy) or when a caller thresholds the scores below a
// majority. We did not label "model i is correct and no earlier level's
// model is the optimum": for a cascade ordered by increasing cost it gives
// the same labels, and otherwise it sends images to a slower model that is
// merely correct, which works against the premodel's target.
//
// Scores[c] is the share of the K neighbours positive for class c's level
// (0 for classes not in Order); MeanDist is their mean distance.
type KNNCascade struct {
	p     Params
	nb    neighbours
	order []int
}

// NewKNNCascade returns an unfitted kNN cascade.
func NewKNNCascade(p Params) *KNNCascade { return &KNNCascade{p: p} }

// Name implements Learner.
func (*KNNCascade) Name() string { return "knn-cascade" }

// Fit implements Learner. The cascade uses no randomness; seed is ignored.
func (l *KNNCascade) Fit(d Data, seed int64) error {
	if _, err := d.check(); err != nil {
		return fmt.Errorf("knn-cascade: fit: %w", err)
	}
	order, err := levelOrder(l.p.Order, d.Classes)
	if err != nil {
		return fmt.Errorf("knn-cascade: fit: %w", err)
	}
	if err := l.nb.fit(d, l.p.k()); err != nil {
		return fmt.Errorf("knn-cascade: fit: %w", err)
	}
	l.order = order
	return nil
}

// Predict implements Learner.
func (l *KNNCascade) Predict(x []float64) (Decision, error) {
	ns, mean, err := l.nb.query(x)
	if err != nil {
		return Decision{}, fmt.Errorf("knn-cascade: predict: %w", err)
	}
	return l.decide(ns, mean), nil
}

// decide runs the levels over one neighbour set.
func (l *KNNCascade) decide(ns []neighbour, mean float64) Decision {
	dec := Decision{Class: None, Scores: make([]float64, l.nb.classes), MeanDist: mean}
	for _, c := range l.order {
		votes := 0
		for _, n := range ns {
			if l.nb.y[n.row] == c { // the level's label of this neighbour
				votes++
			}
		}
		dec.Scores[c] = float64(votes) / float64(len(ns))
		if dec.Class == None && 2*votes > len(ns) {
			dec.Class = c
		}
	}
	return dec
}

// MarshalBinary implements Learner.
func (l *KNNCascade) MarshalBinary() ([]byte, error) {
	if !l.nb.fitted() {
		return nil, fmt.Errorf("knn-cascade: encode: %w", ErrNotFitted)
	}
	st := l.nb.state()
	st.Params = l.p
	st.Order = l.order
	return encode(l.Name(), st)
}

// UnmarshalBinary implements Learner.
func (l *KNNCascade) UnmarshalBinary(b []byte) error {
	var st knnState
	if err := decode(b, l.Name(), &st); err != nil {
		return err
	}
	order, err := levelOrder(st.Order, st.Classes)
	if err != nil {
		return fmt.Errorf("knn-cascade: decode: %v: %w", err, ErrBadEncoded)
	}
	if err := l.nb.restore(st); err != nil {
		return fmt.Errorf("knn-cascade: decode: %w", err)
	}
	l.p, l.order = st.Params, order
	return nil
}

// levelOrder validates a cascade order against the number of classes;
// nil means every class in id order.
func levelOrder(order []int, classes int) ([]int, error) {
	if order == nil {
		out := make([]int, max(classes, 0))
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("empty cascade order: %w", ErrLabel)
	}
	seen := make(map[int]bool, len(order))
	for _, c := range order {
		if c < 0 || c >= classes {
			return nil, fmt.Errorf("cascade order %v names class %d, want 0..%d: %w", order, c, classes-1, ErrLabel)
		}
		if seen[c] {
			return nil, fmt.Errorf("cascade order %v repeats class %d: %w", order, c, ErrLabel)
		}
		seen[c] = true
	}
	return slices.Clone(order), nil
}
