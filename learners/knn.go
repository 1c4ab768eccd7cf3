package learners

import (
	"fmt"
	"math"
)

// neighbours is the fitted state shared by the kNN learners: the training
// rows, their classes and the tree over them.
type neighbours struct {
	k       int
	classes int
	dims    int
	x       [][]float64
	y       []int
	tree    *kdTree
}

func (nb *neighbours) fit(d Data, k int) error {
	dims, err := d.check()
	if err != nil {
		return err
	}
	if k < 1 {
		return fmt.Errorf("neighbour count %d, want >= 1", k)
	}
	x := make([][]float64, len(d.X))
	for i, row := range d.X {
		x[i] = append([]float64(nil), row...)
	}
	*nb = neighbours{
		k:       k,
		classes: d.Classes,
		dims:    dims,
		x:       x,
		y:       append([]int(nil), d.Y...),
		tree:    newKDTree(x),
	}
	return nil
}

// query returns the K nearest training rows of x (all rows if there are
// fewer than K) and their mean Euclidean distance.
func (nb *neighbours) query(x []float64) ([]neighbour, float64, error) {
	if nb.tree == nil {
		return nil, 0, ErrNotFitted
	}
	if err := checkInput(x, nb.dims); err != nil {
		return nil, 0, err
	}
	ns := nb.tree.nearest(x, nb.k)
	sum := 0.0
	for _, n := range ns {
		sum += math.Sqrt(n.dist2)
	}
	return ns, sum / float64(len(ns)), nil
}

// knnState is what a kNN learner encodes: settings and training data; the
// tree is rebuilt on decoding (its construction is deterministic).
type knnState struct {
	Params  Params
	K       int
	Classes int
	Dims    int
	X       []float64 // rows concatenated
	Y       []int
	Order   []int // cascades only
}

func (nb *neighbours) state() knnState {
	st := knnState{K: nb.k, Classes: nb.classes, Dims: nb.dims, Y: nb.y}
	st.X = make([]float64, 0, len(nb.x)*nb.dims)
	for _, row := range nb.x {
		st.X = append(st.X, row...)
	}
	return st
}

func (nb *neighbours) restore(st knnState) error {
	if st.Dims < 1 || len(st.X) != len(st.Y)*st.Dims || len(st.Y) == 0 {
		return fmt.Errorf("%d values for %d rows of %d features: %w", len(st.X), len(st.Y), st.Dims, ErrBadEncoded)
	}
	x := make([][]float64, len(st.Y))
	for i := range x {
		x[i] = st.X[i*st.Dims : (i+1)*st.Dims : (i+1)*st.Dims]
	}
	return nb.fit(Data{X: x, Y: st.Y, Classes: st.Classes}, st.K)
}

// KNN is a multi-class K-nearest-neighbour premodel (Euclidean distance):
// the class most frequent among the K nearest training rows, None counted
// as a class of its own. A tie goes to the tied class whose nearest member
// is nearest. Scores[c] is the share of the K neighbours of class c.
type KNN struct {
	p  Params
	nb neighbours
}

// NewKNN returns an unfitted kNN learner.
func NewKNN(p Params) *KNN { return &KNN{p: p} }

// Name implements Learner.
func (*KNN) Name() string { return "knn" }

// Fit implements Learner. kNN uses no randomness; seed is ignored.
func (l *KNN) Fit(d Data, seed int64) error {
	if err := l.nb.fit(d, l.p.k()); err != nil {
		return fmt.Errorf("knn: fit: %w", err)
	}
	return nil
}

// Predict implements Learner.
func (l *KNN) Predict(x []float64) (Decision, error) {
	ns, mean, err := l.nb.query(x)
	if err != nil {
		return Decision{}, fmt.Errorf("knn: predict: %w", err)
	}
	c := l.nb.classes
	votes := make([]int, c+1)
	first := make([]int, c+1) // rank of the nearest neighbour of each slot
	for i := range first {
		first[i] = len(ns)
	}
	for rank, n := range ns {
		s := slot(l.nb.y[n.row], c)
		votes[s]++
		first[s] = min(first[s], rank)
	}
	win := 0
	for s := 1; s <= c; s++ {
		if votes[s] > votes[win] || (votes[s] == votes[win] && first[s] < first[win]) {
			win = s
		}
	}
	scores := make([]float64, c)
	for s := range c {
		scores[s] = float64(votes[s]) / float64(len(ns))
	}
	return Decision{Class: class(win, c), Scores: scores, MeanDist: mean}, nil
}

// MarshalBinary implements Learner.
func (l *KNN) MarshalBinary() ([]byte, error) {
	if l.nb.tree == nil {
		return nil, fmt.Errorf("knn: encode: %w", ErrNotFitted)
	}
	st := l.nb.state()
	st.Params = l.p
	return encode(l.Name(), st)
}

// UnmarshalBinary implements Learner.
func (l *KNN) UnmarshalBinary(b []byte) error {
	var st knnState
	if err := decode(b, l.Name(), &st); err != nil {
		return err
	}
	if err := l.nb.restore(st); err != nil {
		return fmt.Errorf("knn: decode: %w", err)
	}
	l.p = st.Params
	return nil
}
