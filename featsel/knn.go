package featsel

import (
	"errors"
	"fmt"
	"slices"
)

// DefaultK is the paper's premodel's number of neighbours (K = 5).
const DefaultK = 5

// KNN is a plain k-nearest-neighbour classifier (Euclidean distance,
// majority vote), the default premodel inside selection until the learners
// package's premodel is plugged in through a Factory. A vote tie goes to
// the tied class whose member is nearest; a distance tie to the earlier
// training row, so predictions never depend on scheduling.
type KNN struct {
	K       int
	x       [][]float64
	y       []int
	classes int
}

// NewKNN returns an unfitted KNN with k neighbours.
func NewKNN(k int) *KNN { return &KNN{K: k} }

// Fit keeps the training rows (not copied: the caller must not change them).
func (m *KNN) Fit(x [][]float64, y []int, classes int, _ int64) error {
	if len(x) == 0 || len(x) != len(y) {
		return fmt.Errorf("knn: %d rows, %d targets", len(x), len(y))
	}
	if m.K < 1 {
		return fmt.Errorf("knn: K = %d", m.K)
	}
	m.x, m.y, m.classes = x, y, classes
	return nil
}

// Predict returns the majority target of the K nearest training rows.
func (m *KNN) Predict(q []float64) (int, error) {
	if m.x == nil {
		return 0, errors.New("knn: not fitted")
	}
	if len(q) != len(m.x[0]) {
		return 0, fmt.Errorf("knn: input has %d features, trained on %d", len(q), len(m.x[0]))
	}
	k := min(m.K, len(m.x))
	// best holds the k nearest so far, sorted by (distance, row).
	type cand struct {
		d   float64
		row int
	}
	best := make([]cand, 0, k+1)
	for i, r := range m.x {
		d := 0.0
		for j, v := range r {
			t := v - q[j]
			d += t * t
			if len(best) == k && d > best[k-1].d {
				break // already farther than the k-th: stop early
			}
		}
		if len(best) == k && d >= best[k-1].d {
			continue
		}
		c := cand{d, i}
		at, _ := slices.BinarySearchFunc(best, c, func(a, b cand) int {
			if a.d != b.d {
				if a.d < b.d {
					return -1
				}
				return 1
			}
			return a.row - b.row
		})
		best = slices.Insert(best, at, c)
		if len(best) > k {
			best = best[:k]
		}
	}
	votes := map[int]int{}
	top := 0
	for _, c := range best {
		votes[m.y[c.row]]++
		top = max(top, votes[m.y[c.row]])
	}
	for _, c := range best { // nearest first: the first class with the top count wins
		if votes[m.y[c.row]] == top {
			return m.y[c.row], nil
		}
	}
	return 0, errors.New("knn: no neighbours") // unreachable: best is never empty
}
