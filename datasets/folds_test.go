package datasets

import (
	"reflect"
	"strings"
	"testing"
)

// checkPartition fails unless folds hold every index of 0..n-1 exactly once
// with sizes differing by at most one.
func checkPartition(t *testing.T, folds [][]int, n, k int) {
	t.Helper()
	if len(folds) != k {
		t.Fatalf("%d folds, want %d", len(folds), k)
	}
	seen := make([]int, n)
	minSize, maxSize := n, 0
	for _, f := range folds {
		minSize, maxSize = min(minSize, len(f)), max(maxSize, len(f))
		for _, i := range f {
			seen[i]++
		}
	}
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("index %d in %d folds", i, c)
		}
	}
	if maxSize-minSize > 1 {
		t.Fatalf("fold sizes %d..%d differ by more than one", minSize, maxSize)
	}
}

func TestKFold(t *testing.T) {
	for _, tc := range []struct{ n, k int }{{10, 10}, {663, 10}, {1000, 10}, {7, 3}, {2, 2}} {
		a, err := KFold(tc.n, tc.k, 42)
		if err != nil {
			t.Fatal(err)
		}
		checkPartition(t, a, tc.n, tc.k)
		b, _ := KFold(tc.n, tc.k, 42)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("n=%d k=%d: same seed, different folds", tc.n, tc.k)
		}
	}
	a, _ := KFold(100, 10, 1)
	b, _ := KFold(100, 10, 2)
	if reflect.DeepEqual(a, b) {
		t.Fatal("different seeds gave the same folds")
	}
	train := TrainIndices(a, 3)
	if len(train)+len(a[3]) != 100 {
		t.Fatalf("train %d + test %d != 100", len(train), len(a[3]))
	}
	for _, bad := range []struct{ n, k int }{{5, 1}, {3, 4}, {0, 2}} {
		if _, err := KFold(bad.n, bad.k, 0); err == nil || !strings.Contains(err.Error(), "k-fold") {
			t.Fatalf("KFold(%d, %d): err = %v", bad.n, bad.k, err)
		}
	}
}

func TestKFoldGolden(t *testing.T) {
	// Pinned so that a change of generator or algorithm, which would silently
	// change every cross-validated number, fails here first.
	folds, err := KFold(10, 3, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 2, 3, 5}, {6, 7, 9}, {1, 4, 8}}
	if !reflect.DeepEqual(folds, want) {
		t.Fatalf("KFold(10, 3, 7) = %v, want %v", folds, want)
	}
}

func TestStratifiedKFold(t *testing.T) {
	// 3 classes of 25, 12 and 3 items, plus unknown labels.
	var labels []int
	for c, size := range []int{25, 12, 3} {
		for range size {
			labels = append(labels, c)
		}
	}
	labels = append(labels, Unknown, Unknown)
	const k = 5
	a, err := StratifiedKFold(labels, k, 9)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, a, len(labels), k)
	for c := range 3 {
		lo, hi := len(labels), 0
		for _, f := range a {
			n := 0
			for _, i := range f {
				if labels[i] == c {
					n++
				}
			}
			lo, hi = min(lo, n), max(hi, n)
		}
		if hi-lo > 1 {
			t.Errorf("class %d: per-fold counts %d..%d", c, lo, hi)
		}
	}
	b, _ := StratifiedKFold(labels, k, 9)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different folds")
	}
	// One item per class (imagenet-sample): folds must still depend on the seed.
	single := make([]int, 100)
	for i := range single {
		single[i] = i
	}
	x, _ := StratifiedKFold(single, 10, 1)
	y, _ := StratifiedKFold(single, 10, 2)
	if reflect.DeepEqual(x, y) {
		t.Fatal("singleton classes: seeds 1 and 2 gave the same folds")
	}
	checkPartition(t, x, 100, 10)
}

func TestShard(t *testing.T) {
	for _, n := range []int{0, 1, 17, 663} {
		for _, count := range []int{1, 3, 8} {
			seen := make([]int, n)
			for i := range count {
				for _, j := range Shard(n, i, count) {
					if j%count != i {
						t.Fatalf("index %d in shard %d/%d", j, i, count)
					}
					seen[j]++
				}
			}
			for j, c := range seen {
				if c != 1 {
					t.Fatalf("n=%d count=%d: index %d in %d shards", n, count, j, c)
				}
			}
		}
	}
}

func TestShardPanicsOnBadArguments(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Shard(10, 3, 3) did not panic")
		}
	}()
	Shard(10, 3, 3)
}

func TestParseShard(t *testing.T) {
	i, n, err := ParseShard("2/8")
	if err != nil || i != 2 || n != 8 {
		t.Fatalf("ParseShard(2/8) = %d, %d, %v", i, n, err)
	}
	for in, want := range map[string]string{
		"8/8":  "shards count from 0, so 8 shards are 0/8 ... 7/8",
		"-1/4": "want 0 <= i < 4",
		"1/0":  "at least 1",
		"2":    "want i/n",
		"a/b":  "want i/n",
		"":     "want i/n",
	} {
		_, _, err := ParseShard(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseShard(%q): err = %v, want %q", in, err, want)
		}
	}
}
