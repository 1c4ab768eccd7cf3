package bootstrap

import "math/rand/v2"

// drawStream is the PCG stream of the measured inputs' draws, apart from
// the images' (Statistic's), so adding draws leaves the resampled images
// as they were.
const drawStream = 0x6c6174656e6379 // "latency"

// StatisticDrawn is Statistic when a second thing is uncertain besides
// which images were drawn: a measured input of the statistic, such as each
// model's latency known within its confidence interval. Every resample of
// the images also draws the input once, draw(r), from its own seeded
// generator; the estimate uses the input as measured, draw(nil). So a
// ratio of times carries both the images' spread and the timings'.
func StatisticDrawn[T any](n int, draw func(r *rand.Rand) T, stat func(idx []int, x T) float64,
	resamples int, seed uint64, confidence float64) (Interval, error) {
	r := rand.New(rand.NewPCG(seed, drawStream))
	// Statistic computes the estimate first, then the resamples in order.
	first := true
	return Statistic(n, func(idx []int) float64 {
		if first {
			first = false
			return stat(idx, draw(nil))
		}
		return stat(idx, draw(r))
	}, resamples, seed, confidence)
}
