package learners

import (
	"math"
	"reflect"
	"testing"
)

func TestTreeKnownSplits(t *testing.T) {
	// Feature 1 separates class 0 (x1 <= 0.3) from the rest; among the rest
	// feature 0 separates class 1 from None at 0.5. Feature 2 is noise-free
	// but useless (constant).
	var d Data
	d.Classes = 2
	for i := range 30 {
		v := float64(i) / 30
		d.X = append(d.X, []float64{v, 0.1, 0.7}, []float64{0.2 + v/4, 0.8, 0.7}, []float64{0.7 + v/4, 0.9, 0.7})
		d.Y = append(d.Y, 0, 1, None)
	}
	l := NewTree(Params{MinLeaf: 1})
	if err := l.Fit(d, 0); err != nil {
		t.Fatal(err)
	}
	if len(l.nodes) != 5 {
		t.Fatalf("tree has %d nodes, want 5 (two splits, three leaves): %+v", len(l.nodes), l.nodes)
	}
	root := l.nodes[0]
	if root.Feature != 1 || math.Abs(root.Threshold-0.45) > 1e-12 {
		t.Errorf("root splits feature %d at %v, want feature 1 at 0.45", root.Feature, root.Threshold)
	}
	for _, tc := range []struct {
		x    []float64
		want Decision
	}{
		{[]float64{0.9, 0.0, 0}, Decision{Class: 0, Scores: []float64{1, 0}, MeanDist: -1}},
		{[]float64{0.3, 1.0, 0}, Decision{Class: 1, Scores: []float64{0, 1}, MeanDist: -1}},
		{[]float64{0.9, 1.0, 0}, Decision{Class: None, Scores: []float64{0, 0}, MeanDist: -1}},
	} {
		got, err := l.Predict(tc.x)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Predict(%v) = %+v, want %+v", tc.x, got, tc.want)
		}
	}
}

func TestTreeLimits(t *testing.T) {
	d := randomData(2000, 7, 3, 0, 4) // random labels: the tree would grow deep
	for _, tc := range []struct{ depth, leaf int }{{1, 1}, {3, 1}, {12, 50}} {
		l := NewTree(Params{MaxDepth: tc.depth, MinLeaf: tc.leaf})
		if err := l.Fit(d, 0); err != nil {
			t.Fatal(err)
		}
		depth, minLeaf := treeShape(l, d)
		if depth > tc.depth || minLeaf < tc.leaf {
			t.Errorf("MaxDepth %d MinLeaf %d: grew depth %d, smallest leaf %d", tc.depth, tc.leaf, depth, minLeaf)
		}
	}
	// A training set no split helps (one class) is a single leaf that
	// predicts that class.
	one := Data{X: [][]float64{{0}, {1}, {2}}, Y: []int{2, 2, 2}, Classes: 3}
	l := NewTree(Params{})
	if err := l.Fit(one, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Predict([]float64{5}); got.Class != 2 || len(l.nodes) != 1 {
		t.Errorf("single-class tree: class %d, %d nodes", got.Class, len(l.nodes))
	}
}

// treeShape returns the depth of the tree and the fewest training rows in a
// leaf.
func treeShape(l *Tree, d Data) (int, int) {
	counts := map[int]int{}
	for _, x := range d.X {
		id := 0
		for l.nodes[id].Feature >= 0 {
			nd := l.nodes[id]
			if x[nd.Feature] <= nd.Threshold {
				id = nd.Left
			} else {
				id = nd.Right
			}
		}
		counts[id]++
	}
	minLeaf := len(d.X)
	for _, c := range counts {
		minLeaf = min(minLeaf, c)
	}
	var depth func(id int) int
	depth = func(id int) int {
		nd := l.nodes[id]
		if nd.Feature < 0 {
			return 0
		}
		return 1 + max(depth(nd.Left), depth(nd.Right))
	}
	return depth(0), minLeaf
}
