package datasets

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// foldStream is the PCG stream constant for fold shuffles; fixed so that a
// seed alone reproduces the folds ("modelpick" in ASCII, truncated).
const foldStream = 0x6d6f64656c706963

// KFold splits the indices 0..n-1 into k folds of sizes differing by at most
// one, shuffled by a PCG source seeded with seed (never the global
// generator). Every index is in exactly one fold; each fold is sorted.
// Fold f is the test part of split f; TrainIndices gives the rest.
func KFold(n, k int, seed int64) ([][]int, error) {
	if err := checkFolds(n, k); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), foldStream))
	perm := rng.Perm(n)
	folds := make([][]int, k)
	start := 0
	for f := range k {
		size := n / k
		if f < n%k {
			size++
		}
		folds[f] = slices.Clone(perm[start : start+size])
		slices.Sort(folds[f])
		start += size
	}
	return folds, nil
}

// StratifiedKFold is KFold keeping each label's share about equal in every
// fold: each class's items are shuffled and dealt round-robin, continuing
// across classes (taken in a shuffled order), so fold sizes still differ by
// at most one and each class's count differs by at most one between folds.
func StratifiedKFold(labels []int, k int, seed int64) ([][]int, error) {
	n := len(labels)
	if err := checkFolds(n, k); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), foldStream))
	byLabel := make(map[int][]int)
	for i, l := range labels {
		byLabel[l] = append(byLabel[l], i)
	}
	classes := make([]int, 0, len(byLabel))
	for l := range byLabel {
		classes = append(classes, l)
	}
	// Sort before shuffling: map order is random, the result must not be.
	slices.Sort(classes)
	rng.Shuffle(len(classes), func(i, j int) { classes[i], classes[j] = classes[j], classes[i] })
	folds := make([][]int, k)
	next := 0
	for _, l := range classes {
		idx := byLabel[l]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			folds[next] = append(folds[next], i)
			next = (next + 1) % k
		}
	}
	for _, f := range folds {
		slices.Sort(f)
	}
	return folds, nil
}

// TrainIndices returns, sorted, every index that is not in folds[f]: the
// training part of split f.
func TrainIndices(folds [][]int, f int) []int {
	var out []int
	for g, fold := range folds {
		if g != f {
			out = append(out, fold...)
		}
	}
	slices.Sort(out)
	return out
}

func checkFolds(n, k int) error {
	if k < 2 {
		return fmt.Errorf("k-fold: k = %d, need at least 2 folds", k)
	}
	if n < k {
		return fmt.Errorf("k-fold: %d items cannot fill %d folds", n, k)
	}
	return nil
}
