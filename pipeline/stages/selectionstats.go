package stages

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/modelpick/modelpick/bootstrap"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/selection"
)

// Bootstrap settings of the selection statistics' intervals: percentile
// intervals over the images, seeded.
const (
	BootResamples  = 2000
	BootSeed       = 1
	BootConfidence = 0.95
)

// Interval is a statistic of the images with its bootstrap interval.
type Interval = bootstrap.Interval

// selectionStats are Figs 5 and 6's statistics of the images with their
// intervals (rates in [0, 1]; counts as counts), each resample recomputing
// the statistic with the models Algorithm 1 chose on all images held
// fixed:
//
//	n_models_optimal        models that are the optimum of some image
//	top_share               share of images whose optimum is the top model
//	oracle_gain_over_best   oracle of all models minus the best single model
//	alg1_minus_share_order  oracle of Algorithm 1's models minus that of as
//	                        many models taken in order of optimum share
//	step2_subset_accuracy   the second model's accuracy on the images the
//	                        first fails
//	step2_gain, step3_gain  images the step's model adds to the oracle
//	fail_after_2            images both of the first two models fail
//	n_chosen                models Algorithm 1 keeps, run again on each
//	                        resample (theta in points, as on all images)
func selectionStats(v *profileview.View, tr selection.Trace, theta float64) (map[string]Interval, error) {
	correct := v.Correct()
	n := len(correct)
	out := map[string]Interval{}
	add := func(name string, iv Interval, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out[name] = iv
		return nil
	}
	targets, err := v.Targets(nil)
	if err != nil {
		return nil, err
	}
	seen := make([]bool, len(v.Models))
	iv, err := bootstrap.Statistic(n, func(idx []int) float64 {
		clear(seen)
		count := 0
		for _, i := range idx {
			if t := targets[i]; t != selection.None && !seen[t] {
				seen[t] = true
				count++
			}
		}
		return float64(count)
	}, BootResamples, BootSeed, BootConfidence)
	if err := add("n_models_optimal", iv, err); err != nil {
		return nil, err
	}
	// Algorithm 1's count moves with the images it is run on: the same
	// rule, costs and theta on each resample.
	ranks := v.Ranks()
	sub := make([][]bool, n)
	var runErr error
	iv, err = bootstrap.Statistic(n, func(idx []int) float64 {
		for k, i := range idx {
			sub[k] = correct[i]
		}
		t, err := selection.SelectModels(sub[:len(idx)], ranks, theta)
		if err != nil {
			runErr = err
			return 0
		}
		return float64(len(t.Chosen))
	}, BootResamples, BootSeed, BootConfidence)
	if err == nil {
		err = runErr
	}
	if err := add("n_chosen", iv, err); err != nil {
		return nil, err
	}
	top := 0
	for j := range tr.OptimumShare {
		if tr.OptimumShare[j] > tr.OptimumShare[top] {
			top = j
		}
	}
	isTop := make([]bool, n)
	for i, t := range targets {
		isTop[i] = t == top
	}
	iv, err = rate(isTop, BootResamples, BootSeed, BootConfidence)
	if err := add("top_share", iv, err); err != nil {
		return nil, err
	}
	best := 0
	for j := range tr.Accuracy {
		if tr.Accuracy[j] > tr.Accuracy[best] {
			best = j
		}
	}
	all := make([]int, len(v.Models))
	for j := range all {
		all[j] = j
	}
	bestRight := make([]bool, n)
	for i, row := range correct {
		bestRight[i] = row[best]
	}
	iv, err = bootstrap.PairedDiff(covered(correct, all), bestRight, BootResamples, BootSeed, BootConfidence)
	if err := add("oracle_gain_over_best", iv, err); err != nil {
		return nil, err
	}
	if k := len(tr.Chosen); k > 0 {
		// Fig 5's order: most often the optimum first; ties in cost order.
		byShare := v.Order()
		slices.SortStableFunc(byShare, func(a, b int) int { return cmp.Compare(tr.OptimumShare[b], tr.OptimumShare[a]) })
		iv, err = bootstrap.PairedDiff(covered(correct, tr.Chosen), covered(correct, byShare[:k]), BootResamples, BootSeed, BootConfidence)
		if err := add("alg1_minus_share_order", iv, err); err != nil {
			return nil, err
		}
	}
	for s, st := range tr.Steps {
		if s == 0 || s > 2 {
			continue
		}
		failed := covered(correct, st.Before)
		var sub, gain []bool
		for i, row := range correct {
			if !failed[i] {
				sub = append(sub, row[st.Candidate])
			}
			gain = append(gain, !failed[i] && row[st.Candidate])
		}
		name := fmt.Sprintf("step%d", s+1)
		if s == 1 {
			if len(sub) > 0 {
				iv, err = rate(sub, BootResamples, BootSeed, BootConfidence)
				if err := add(name+"_subset_accuracy", iv, err); err != nil {
					return nil, err
				}
			}
			both := covered(correct, st.Set)
			for i := range both {
				both[i] = !both[i]
			}
			iv, err = rate(both, BootResamples, BootSeed, BootConfidence)
			if err := add("fail_after_2", iv, err); err != nil {
				return nil, err
			}
		}
		iv, err = rate(gain, BootResamples, BootSeed, BootConfidence)
		if err := add(name+"_gain", iv, err); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// covered says, per image, whether some model of set is right on it.
func covered(correct [][]bool, set []int) []bool {
	out := make([]bool, len(correct))
	for i, row := range correct {
		for _, j := range set {
			if row[j] {
				out[i] = true
				break
			}
		}
	}
	return out
}

// rate is the share of true outcomes with its interval (bootstrap.Mean of
// 0/1 values).
func rate(x []bool, resamples int, seed uint64, confidence float64) (Interval, error) {
	v := make([]float64, len(x))
	for i, ok := range x {
		if ok {
			v[i] = 1
		}
	}
	return bootstrap.Mean(v, resamples, seed, confidence)
}
