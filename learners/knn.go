package learners

import (
	"fmt"
	"math"
)

// neighbours is the fitted state shared by the kNN learners: the training
// rows, their classes and the tree over them (none when scan is set: a
// query then compares with every row, which finds the same neighbours,
// ties included, since the tree's answer equals a scan's).
type neighbours struct {
	k       int
	classes int
	dims    int
	x       [][]float64
	y       []int
	tree    *kdTree
	scan    bool
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
	scan := nb.scan
	*nb = neighbours{
		k:       k,
		classes: d.Classes,
		dims:    dims,
		x:       x,
		y:       append([]int(nil), d.Y...),
		scan:    scan,
	}
	if !scan {
		nb.tree = newKDTree(x)
	}
	return nil
}

// fitted says whether fit has run.
func (nb *neighbours) fitted() bool { return nb.x != nil }

// query returns the K nearest training rows of x (all rows if there are
// fewer than K) and their mean Euclidean distance.
func (nb *neighbours) query(x []float64) ([]neighbour, float64, error) {
	if !nb.fitted() {
		return nil, 0, ErrNotFitted
	}
	if err := checkInput(x, nb.dims); err != nil {
		return nil, 0, err
	}
	var ns []neighbour
	if nb.tree != nil {
		ns = nb.tree.nearest(x, nb.k)
	} else {
		k := min(nb.k, len(nb.x))
		s := search{best: make([]neighbour, 0, k), k: k}
		for i, row := range nb.x {
			s.keep(neighbour{dist2: dist2(x, row), row: int32(i)})
		}
		ns = s.best
	}
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

// NewKNNScan returns an unfitted kNN learner that answers by comparing
// with every training row instead of building the kd-tree: the same
// answers, and cheaper when a fitted model answers few queries, as in
// cross-validation (BenchmarkScanVsTree, a fold of feature selection: 600
// rows, 66 queries; side by side, the scan took 0.70x the tree's time with
// its build at 3 features and 0.43x at 10 and 26).
// It encodes as NewKNN's learner does (the way of answering is not encoded).
func NewKNNScan(p Params) *KNN { return &KNN{p: p, nb: neighbours{scan: true}} }

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
	if !l.nb.fitted() {
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
