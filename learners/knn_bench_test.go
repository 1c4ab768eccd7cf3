package learners

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/spatial/kdtree"
)

// benchRows are the two training-set sizes the kNN decision must scale
// between: a small profile and the whole ImageNet validation set.
var benchRows = []int{1000, 50000}

// uniformRows returns n rows of 7 uniform features (the paper's premodel
// keeps 7 features) with random classes 0..2 or None.
func uniformRows(n int, seed uint64) Data {
	return randomData(n, 7, 3, 0, seed)
}

func benchQueries() [][]float64 { return uniformRows(4096, 12345).X }

func benchmarkDecision(b *testing.B, rows int) {
	l := NewKNNCascade(Params{Order: []int{0, 1, 2}})
	if err := l.Fit(uniformRows(rows, 1), 1); err != nil {
		b.Fatal(err)
	}
	qs := benchQueries()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := l.Predict(qs[i%len(qs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKNNDecision times one kNN-cascade decision (one 5-NN search in
// the kd-tree plus three levels of votes) at 1,000 and 50,000 training rows.
func BenchmarkKNNDecision(b *testing.B) {
	for _, n := range benchRows {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) { benchmarkDecision(b, n) })
	}
}

// TestKNNDecisionScaling prints the cost of a decision at 50,000 rows
// relative to 1,000 rows (goal: at most 1.5). It takes a few seconds and
// its figures depend on the machine, so it runs only when asked:
//
//	MODELPICK_KNN_SCALING=report go test -run KNNDecisionScaling -v ./learners
//	MODELPICK_KNN_SCALING=1.5    ...  fails if the ratio exceeds 1.5
func TestKNNDecisionScaling(t *testing.T) {
	mode := os.Getenv("MODELPICK_KNN_SCALING")
	if mode == "" {
		t.Skip("set MODELPICK_KNN_SCALING=report (or a maximum ratio) to measure")
	}
	var ns [2]float64
	var visited [2]float64
	for i, n := range benchRows {
		r := testing.Benchmark(func(b *testing.B) { benchmarkDecision(b, n) })
		ns[i] = float64(r.T.Nanoseconds()) / float64(r.N)
		visited[i] = meanVisited(uniformRows(n, 1).X, benchQueries()[:500])
		t.Logf("rows=%-6d %8.0f ns/decision  %6.1f rows visited per search  %d B/op", n, ns[i], visited[i], r.AllocedBytesPerOp())
	}
	ratio := ns[1] / ns[0]
	t.Logf("ratio 50000/1000: time %.2f, rows visited %.2f (goal <= 1.5)", ratio, visited[1]/visited[0])
	if max, err := strconv.ParseFloat(mode, 64); err == nil && ratio > max {
		t.Errorf("decision at 50000 rows costs %.2fx the decision at 1000 rows, want <= %.2f", ratio, max)
	}
}

// meanVisited counts the training rows whose distance a search computes,
// a machine-independent measure of the search's work.
func meanVisited(x [][]float64, qs [][]float64) float64 {
	t := newKDTree(x)
	total := 0
	for _, q := range qs {
		s := search{t: t, q: q, off: make([]float64, t.dims), k: defaultK}
		s.visit(0)
		total += s.visited
	}
	return float64(total) / float64(len(qs))
}

// BenchmarkKNNSearch times the bare 5-NN search of the kd-tree, for
// comparison with BenchmarkKNNSearchGonum on the same rows and queries.
func BenchmarkKNNSearch(b *testing.B) {
	for _, n := range benchRows {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			t := newKDTree(uniformRows(n, 1).X)
			qs := benchQueries()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				t.nearest(qs[i%len(qs)], defaultK)
			}
		})
	}
}

// BenchmarkKNNSearchGonum times gonum's spatial/kdtree NearestSet on the
// same data (with a deterministic pivot), the alternative DESIGN.md names;
// it is why kdtree.go has a tree of its own.
func BenchmarkKNNSearchGonum(b *testing.B) {
	for _, n := range benchRows {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			x := uniformRows(n, 1).X
			pts := make(gonumPoints, len(x))
			for i, row := range x {
				pts[i] = gonumPoint{v: row, row: i}
			}
			tree := kdtree.New(pts, false)
			qs := benchQueries()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				k := kdtree.NewNKeeper(defaultK)
				tree.NearestSet(k, gonumPoint{v: qs[i%len(qs)], row: -1})
			}
		})
	}
}

type gonumPoint struct {
	v   []float64
	row int
}

func (p gonumPoint) Compare(c kdtree.Comparable, d kdtree.Dim) float64 {
	return p.v[d] - c.(gonumPoint).v[d]
}
func (p gonumPoint) Dims() int { return len(p.v) }
func (p gonumPoint) Distance(c kdtree.Comparable) float64 {
	return dist2(p.v, c.(gonumPoint).v)
}

type gonumPoints []gonumPoint

func (p gonumPoints) Index(i int) kdtree.Comparable         { return p[i] }
func (p gonumPoints) Len() int                              { return len(p) }
func (p gonumPoints) Slice(start, end int) kdtree.Interface { return p[start:end] }

// Pivot sorts by the plane (ties by row) instead of gonum's Points.Pivot,
// which samples with the global random generator.
func (p gonumPoints) Pivot(d kdtree.Dim) int {
	slices.SortFunc(p, func(a, b gonumPoint) int {
		if c := cmp.Compare(a.v[d], b.v[d]); c != 0 {
			return c
		}
		return cmp.Compare(a.row, b.row)
	})
	return len(p) / 2
}

// The gonum search must find the same neighbours, or the comparison is
// meaningless.
func TestGonumBaselineAgrees(t *testing.T) {
	x := uniformRows(3000, 1).X
	pts := make(gonumPoints, len(x))
	for i, row := range x {
		pts[i] = gonumPoint{v: row, row: i}
	}
	tree := kdtree.New(pts, false)
	for _, q := range benchQueries()[:200] {
		k := kdtree.NewNKeeper(defaultK)
		tree.NearestSet(k, gonumPoint{v: q, row: -1})
		want := bruteNearest(x, q, defaultK)
		for i, c := range k.Heap {
			if got := c.Comparable.(gonumPoint).row; int32(got) != want[i].row || math.Abs(c.Dist-want[i].dist2) > 0 {
				t.Fatalf("gonum neighbour %d: row %d, want %d", i, got, want[i].row)
			}
		}
	}
}
