package store

import "testing"

func TestCommonThreads(t *testing.T) {
	rows := []CostRow{
		{Model: "a", Threads: 1, MeanMS: 1}, {Model: "a", Threads: 2, MeanMS: 0.6}, {Model: "a", Threads: 4, MeanMS: 0.4},
		{Model: "b", Threads: 2, MeanMS: 3}, {Model: "b", Threads: 4, MeanMS: 2},
	}
	th, by, ok := CommonThreads(rows, []string{"a", "b"})
	if !ok || th != 2 || by["a"].MeanMS != 0.6 || by["b"].MeanMS != 3 {
		t.Fatalf("a and b: got %d %v %v, want the smallest complete count, 2", th, by, ok)
	}
	if th, _, ok := CommonThreads(rows, []string{"a"}); !ok || th != 1 {
		t.Fatalf("a alone: got %d %v, want 1", th, ok)
	}
	if _, _, ok := CommonThreads(rows, []string{"a", "c"}); ok {
		t.Fatal("a model without costs must leave no common count")
	}
}
