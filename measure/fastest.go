package measure

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// FastestPerItem times ops side by side on n items, the protocol of the
// per-image benchmarks: round r runs every op once on item r mod n, in an
// order rng shuffles afresh each round, so machine noise and what ran just
// before (caches warmed by the same item) fall on all ops alike. It keeps
// each op's fastest time per item, fastest[op][item]: other processes only
// ever add time, so the minimum is the estimator that survives a shared
// machine. Rounds run while more() says so (a benchmark's b.Loop). An op's
// error stops it, naming the op; fewer than reps*n rounds, which leave some
// item with fewer than reps repetitions, are an error too.
func FastestPerItem(more func() bool, n, reps int, names []string, ops []func(item int) error, rng *rand.Rand) (fastest [][]time.Duration, rounds int, err error) {
	if n <= 0 || len(names) != len(ops) {
		return nil, 0, fmt.Errorf("measure: %d items and %d names for %d ops", n, len(names), len(ops))
	}
	fastest = make([][]time.Duration, len(ops))
	for k := range fastest {
		fastest[k] = make([]time.Duration, n)
	}
	for more() {
		i := rounds % n
		for _, k := range rng.Perm(len(ops)) {
			t0 := time.Now()
			if err := ops[k](i); err != nil {
				return nil, rounds, fmt.Errorf("measure: %s on item %d: %w", names[k], i, err)
			}
			if d := time.Since(t0); fastest[k][i] == 0 || d < fastest[k][i] {
				fastest[k][i] = d
			}
		}
		rounds++
	}
	if rounds < reps*n {
		return nil, rounds, fmt.Errorf("measure: %d rounds, want %d or more for %d repetitions of each of the %d items", rounds, reps*n, reps, n)
	}
	return fastest, rounds, nil
}

// MeanMS is the mean of ds in milliseconds.
func MeanMS(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return float64(sum) / float64(time.Millisecond) / float64(len(ds))
}
