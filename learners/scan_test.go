package learners

import (
	"fmt"
	"testing"
)

// TestScanEqualsTree: a kNN that scans every row decides exactly as one
// with the kd-tree, ties included (a grid makes many equal distances and
// duplicate rows), and encodes to the same bytes.
func TestScanEqualsTree(t *testing.T) {
	for _, grid := range []int{0, 3} {
		for _, dims := range []int{1, 4, 12} {
			d := randomData(300, dims, 4, grid, uint64(7+dims))
			qs := randomData(200, dims, 4, grid, uint64(99+dims)).X
			tree, scan := NewKNN(Params{K: 5}), NewKNNScan(Params{K: 5})
			if err := tree.Fit(d, 1); err != nil {
				t.Fatal(err)
			}
			if err := scan.Fit(d, 1); err != nil {
				t.Fatal(err)
			}
			if scan.nb.tree != nil {
				t.Fatal("the scanning kNN built a tree")
			}
			for i, q := range qs {
				a, err1 := tree.Predict(q)
				b, err2 := scan.Predict(q)
				if err1 != nil || err2 != nil || fmt.Sprint(a) != fmt.Sprint(b) {
					t.Fatalf("grid %d, %d dims, query %d: tree %+v (%v), scan %+v (%v)", grid, dims, i, a, err1, b, err2)
				}
			}
			ea, _ := tree.MarshalBinary()
			eb, _ := scan.MarshalBinary()
			if string(ea) != string(eb) {
				t.Errorf("grid %d, %d dims: the two encode differently", grid, dims)
			}
		}
	}
	if _, err := NewKNNScan(Params{}).Predict([]float64{1}); err == nil {
		t.Error("an unfitted scanning kNN answered")
	}
}

// BenchmarkScanVsTree times fitting a kNN on 600 rows and answering 66
// queries (one fold of feature selection's CV) by scanning and by the tree.
func BenchmarkScanVsTree(b *testing.B) {
	for _, dims := range []int{3, 10, 26} {
		d := randomData(600, dims, 3, 0, 1)
		qs := randomData(66, dims, 3, 0, 2).X
		for _, c := range []struct {
			name string
			new  func(Params) *KNN
		}{{"tree", NewKNN}, {"scan", NewKNNScan}} {
			b.Run(fmt.Sprintf("%s/dims=%d", c.name, dims), func(b *testing.B) {
				for b.Loop() {
					l := c.new(Params{K: 5})
					if err := l.Fit(d, 1); err != nil {
						b.Fatal(err)
					}
					for _, q := range qs {
						if _, err := l.Predict(q); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
