package learners

import (
	"cmp"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// bruteNearest is the reference neighbour search: every distance, sorted by
// (distance, row).
func bruteNearest(x [][]float64, q []float64, k int) []neighbour {
	all := make([]neighbour, len(x))
	for i, row := range x {
		all[i] = neighbour{dist2: dist2(q, row), row: int32(i)}
	}
	slices.SortFunc(all, func(a, b neighbour) int {
		if c := cmp.Compare(a.dist2, b.dist2); c != 0 {
			return c
		}
		return cmp.Compare(a.row, b.row)
	})
	return all[:min(k, len(all))]
}

// randomData returns n rows of dims features and classes labels (None
// included). With grid > 0 every value is a multiple of 1/grid, which
// makes many equal distances and duplicate rows: the tie-breaking has to
// match the reference exactly.
func randomData(n, dims, classes, grid int, seed uint64) Data {
	r := rand.New(rand.NewPCG(seed, 3))
	d := Data{Classes: classes}
	for range n {
		row := make([]float64, dims)
		for j := range row {
			row[j] = r.Float64()
			if grid > 0 {
				row[j] = math.Round(row[j]*float64(grid)) / float64(grid)
			}
		}
		d.X = append(d.X, row)
		d.Y = append(d.Y, r.IntN(classes+1)-1)
	}
	return d
}

func TestKDTreeMatchesBruteForce(t *testing.T) {
	for _, tc := range []struct {
		n, dims, grid, k int
	}{
		{1, 7, 0, 5},     // fewer rows than K
		{7, 7, 0, 5},     // one leaf
		{2000, 7, 0, 5},  // continuous values
		{2000, 7, 4, 5},  // a coarse grid: many ties and duplicates
		{3000, 2, 10, 9}, // low dimension, many ties
		{500, 3, 1, 5},   // corners of a cube only
	} {
		d := randomData(tc.n, tc.dims, 3, tc.grid, uint64(tc.n+tc.grid))
		tree := newKDTree(d.X)
		queries := randomData(300, tc.dims, 3, tc.grid, 99)
		queries.X = append(queries.X, d.X[:min(50, tc.n)]...) // queries that are training rows
		for i, q := range queries.X {
			got, want := tree.nearest(q, tc.k), bruteNearest(d.X, q, tc.k)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("n=%d dims=%d grid=%d query %d: tree %v, brute force %v", tc.n, tc.dims, tc.grid, i, got, want)
			}
		}
	}
}

func TestKDTreeIdenticalRows(t *testing.T) {
	x := make([][]float64, 100)
	for i := range x {
		x[i] = []float64{0.5, 0.5}
	}
	got := newKDTree(x).nearest([]float64{0, 0}, 3)
	if want := bruteNearest(x, []float64{0, 0}, 3); !reflect.DeepEqual(got, want) {
		t.Fatalf("identical rows: %v, want %v", got, want)
	}
}

// referenceCascade is a naive cascade: each level builds its own binary
// labels and runs its own brute-force search, then votes.
func referenceCascade(d Data, order []int, k int, q []float64) Decision {
	dec := Decision{Class: None, Scores: make([]float64, d.Classes)}
	for _, c := range order {
		labels := make([]bool, len(d.Y))
		for r, y := range d.Y {
			labels[r] = y == c
		}
		ns := bruteNearest(d.X, q, k)
		votes, sum := 0, 0.0
		for _, n := range ns {
			if labels[n.row] {
				votes++
			}
			sum += math.Sqrt(n.dist2)
		}
		dec.MeanDist = sum / float64(len(ns))
		dec.Scores[c] = float64(votes) / float64(len(ns))
		if dec.Class == None && votes > len(ns)-votes {
			dec.Class = c
		}
	}
	return dec
}

func TestKNNCascadeMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		grid  int
		k     int
		order []int
	}{
		{0, 5, nil},
		{4, 5, []int{2, 0, 1, 3}},
		{3, 4, []int{1, 3}}, // even K: a strict majority is 3 of 4
		{0, 1, []int{3, 2, 1, 0}},
	} {
		// Labels concentrated on a few classes so that majorities happen.
		d := randomData(1500, 7, 4, tc.grid, 5)
		for i := range d.Y {
			if d.X[i][0] < 0.5 {
				d.Y[i] = 1
			}
		}
		l := NewKNNCascade(Params{K: tc.k, Order: tc.order})
		if err := l.Fit(d, 1); err != nil {
			t.Fatal(err)
		}
		order, _ := levelOrder(tc.order, d.Classes)
		decided := 0
		for i, q := range randomData(400, 7, 4, tc.grid, 77).X {
			got, err := l.Predict(q)
			if err != nil {
				t.Fatal(err)
			}
			want := referenceCascade(d, order, tc.k, q)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("grid=%d K=%d order=%v query %d: cascade %+v, reference %+v", tc.grid, tc.k, tc.order, i, got, want)
			}
			if got.Class != None {
				decided++
			}
		}
		if decided == 0 {
			t.Errorf("grid=%d K=%d: no query got past None; the comparison is vacuous", tc.grid, tc.k)
		}
	}
}

// A hierarchy of kNN levels is the kNN cascade, one search per level.
func TestHierarchyOfKNNIsCascade(t *testing.T) {
	d := randomData(1000, 7, 3, 0, 8)
	for i := range d.Y {
		if d.X[i][1] > 0.6 {
			d.Y[i] = 2
		}
	}
	p := Params{Order: []int{2, 0, 1}}
	c := NewKNNCascade(p)
	h, err := NewHierarchy([]string{"knn", "knn", "knn"}, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Fit(d, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.Fit(d, 1); err != nil {
		t.Fatal(err)
	}
	for i, q := range randomData(300, 7, 3, 0, 9).X {
		a, _ := c.Predict(q)
		b, _ := h.Predict(q)
		if a.Class != b.Class || a.MeanDist != b.MeanDist {
			t.Fatalf("query %d: cascade %+v, hierarchy %+v", i, a, b)
		}
	}
}

func TestKNNTieBreak(t *testing.T) {
	// K=5 neighbours at distances 1..5 on a line: classes 2,0,0,2,None.
	// Classes 0 and 2 tie on two votes; class 2 owns the nearest neighbour.
	d := Data{
		X:       [][]float64{{1}, {2}, {3}, {4}, {5}, {100}},
		Y:       []int{2, 0, 0, 2, None, 1},
		Classes: 3,
	}
	l := NewKNN(Params{})
	if err := l.Fit(d, 0); err != nil {
		t.Fatal(err)
	}
	got, err := l.Predict([]float64{0})
	if err != nil {
		t.Fatal(err)
	}
	want := Decision{Class: 2, Scores: []float64{0.4, 0, 0.4}, MeanDist: 3}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Predict = %+v, want %+v", got, want)
	}
	// The cascade sees no strict majority and passes on.
	c := NewKNNCascade(Params{})
	if err := c.Fit(d, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Predict([]float64{0}); got.Class != None {
		t.Errorf("cascade on a 2-2-1 vote: class %d, want None", got.Class)
	}
}
