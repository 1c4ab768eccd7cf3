package selection

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// None is the target of an image that no model classifies correctly.
const None = -1

// ErrProfile reports a malformed profile: no images, no models, ragged rows,
// a cost vector of the wrong length, or a cost that is not a finite number.
var ErrProfile = errors.New("malformed profile")

// Check reports whether correct (indexed [image][model]) and cost (one per
// model) form a usable profile. Targets, SelectModels and Subset call it
// themselves; Oracle assumes a profile that passes it.
func Check(correct [][]bool, cost []float64) error {
	if len(correct) == 0 {
		return fmt.Errorf("selection: no images: %w", ErrProfile)
	}
	m := len(cost)
	if m == 0 {
		return fmt.Errorf("selection: no models (empty cost vector): %w", ErrProfile)
	}
	for j, c := range cost {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return fmt.Errorf("selection: cost of model %d is %v: %w", j, c, ErrProfile)
		}
	}
	for i, row := range correct {
		if len(row) != m {
			return fmt.Errorf("selection: image %d has %d models, cost has %d: %w", i, len(row), m, ErrProfile)
		}
	}
	return nil
}

// Targets returns the optimum model of each image: the index of the cheapest
// model that is correct on it, or [None] when all fail. Ties in cost go to the
// lower index.
func Targets(correct [][]bool, cost []float64) ([]int, error) {
	if err := Check(correct, cost); err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	return targets(correct, cost), nil
}

func targets(correct [][]bool, cost []float64) []int {
	out := make([]int, len(correct))
	for i, row := range correct {
		best := None
		for j, ok := range row {
			// Strictly cheaper only: an equal cost keeps the lower index.
			if ok && (best == None || cost[j] < cost[best]) {
				best = j
			}
		}
		out[i] = best
	}
	return out
}

// Oracle returns the accuracy, in percent of the images, of a perfect
// premodel restricted to set: the share of images on which at least one model
// of set is correct. An empty set or an empty profile gives 0. Like slice
// indexing, it panics if set names a model that correct does not have.
func Oracle(correct [][]bool, set []int) float64 {
	if len(correct) == 0 {
		return 0
	}
	hit := 0
	for _, row := range correct {
		for _, j := range set {
			if row[j] {
				hit++
				break
			}
		}
	}
	return pct(hit, len(correct))
}

// Subset returns the profile restricted to the models of set, in the order of
// set: column k of the result is model set[k]. Learners are trained on
// class ids that index this subset.
func Subset(correct [][]bool, cost []float64, set []int) ([][]bool, []float64, error) {
	if err := Check(correct, cost); err != nil {
		return nil, nil, fmt.Errorf("subset: %w", err)
	}
	for _, j := range set {
		if j < 0 || j >= len(cost) {
			return nil, nil, fmt.Errorf("subset: model %d out of range [0,%d): %w", j, len(cost), ErrProfile)
		}
	}
	sub := make([][]bool, len(correct))
	for i, row := range correct {
		r := make([]bool, len(set))
		for k, j := range set {
			r[k] = row[j]
		}
		sub[i] = r
	}
	c := make([]float64, len(set))
	for k, j := range set {
		c[k] = cost[j]
	}
	return sub, c, nil
}

// pct is 100*num/den with a single rounding, so that a gain of one image out
// of 200 is exactly 0.5 and compares exactly with theta.
func pct(num, den int) float64 {
	return 100 * float64(num) / float64(den)
}

// Trace records one run of Algorithm 1, with what Fig 5 and Fig 6 of the
// paper plot.
type Trace struct {
	// Theta is the stopping threshold in percentage points.
	Theta float64 `json:"theta_pp"`
	// Images and Models give the size of the profile.
	Images int `json:"images"`
	Models int `json:"models"`
	// Chosen lists the selected models in the order they were added.
	Chosen []int `json:"chosen"`
	// Oracle is the oracle accuracy of Chosen, in percent.
	Oracle float64 `json:"oracle_pct"`
	// OptimumShare is, per model, the percentage of images for which it is
	// the optimum model (Fig 5); NoneShare is the percentage no model gets
	// right. Together they sum to 100.
	OptimumShare []float64 `json:"optimum_share_pct"`
	NoneShare    float64   `json:"none_share_pct"`
	// Accuracy is each model's accuracy on all images, in percent (Fig 6a).
	// It is the same for every step, so it is stored once here.
	Accuracy []float64 `json:"accuracy_pct"`
	// Steps holds one entry per candidate considered, including the last,
	// rejected one when the run stopped on theta.
	Steps []Step `json:"steps"`
}

// Step is one iteration of Algorithm 1.
type Step struct {
	// Before is the set at the start of the step (empty for the first).
	Before []int `json:"before"`
	// Failed counts the images on which every model of Before is wrong (all
	// images for the first step).
	Failed int `json:"failed"`
	// AccuracyOnFailed is each model's accuracy, in percent, on those Failed
	// images (Fig 6b for Before = {first model}, Fig 6c for two models).
	AccuracyOnFailed []float64 `json:"accuracy_on_failed_pct"`
	// Candidate is the model considered in this step: the most frequent
	// optimum in the first step, the most accurate on the failed images
	// after that (ties: lower cost, then lower index).
	Candidate int `json:"candidate"`
	// Set is Before plus Candidate, and Oracle its oracle accuracy.
	Set    []int   `json:"set"`
	Oracle float64 `json:"oracle_pct"`
	// Gain is Oracle minus the oracle accuracy of Before, in percentage
	// points.
	Gain float64 `json:"gain_pp"`
	// Added says whether Candidate joined the set (the first one always
	// does; later ones when Gain >= theta and Gain > 0).
	Added bool `json:"added"`
}

// SelectModels runs Algorithm 1 of the paper on a profile. theta is the
// smallest accuracy gain, in percentage points, worth adding a model for
// (the paper uses 0.5). It returns the chosen models and the full trace.
func SelectModels(correct [][]bool, cost []float64, theta float64) (Trace, error) {
	if err := Check(correct, cost); err != nil {
		return Trace{}, fmt.Errorf("select models: %w", err)
	}
	if math.IsNaN(theta) || math.IsInf(theta, 0) || theta < 0 {
		return Trace{}, fmt.Errorf("select models: theta %v must be a finite number >= 0", theta)
	}
	n, m := len(correct), len(cost)
	tr := Trace{
		Theta:        theta,
		Images:       n,
		Models:       m,
		Chosen:       []int{},
		OptimumShare: make([]float64, m),
		Accuracy:     make([]float64, m),
		Steps:        []Step{},
	}

	optCount := make([]int, m)
	none := 0
	for _, t := range targets(correct, cost) {
		if t == None {
			none++
			continue
		}
		optCount[t]++
	}
	for j := range m {
		tr.OptimumShare[j] = pct(optCount[j], n)
	}
	tr.NoneShare = pct(none, n)

	// failed[i] is true while no chosen model is correct on image i.
	failed := make([]bool, n)
	for i := range failed {
		failed[i] = true
	}
	tr.Accuracy = accuracyOn(correct, failed, m)

	inSet := make([]bool, m)
	covered := 0 // images some chosen model gets right
	for len(tr.Chosen) < m {
		nFailed := n - covered
		if nFailed == 0 {
			break // the set is already perfect: nothing left to gain
		}
		acc := accuracyOn(correct, failed, m)

		var cand int
		if len(tr.Chosen) == 0 {
			// Algorithm 1 starts from the most frequent optimum (Fig 5);
			// ties go to the lower index.
			cand = 0
			for j := 1; j < m; j++ {
				if optCount[j] > optCount[cand] {
					cand = j
				}
			}
		} else {
			cand = -1
			for j := range m {
				if inSet[j] {
					continue
				}
				if cand < 0 || acc[j] > acc[cand] || (acc[j] == acc[cand] && cost[j] < cost[cand]) {
					cand = j
				}
			}
		}

		rescued := 0
		for i, row := range correct {
			if failed[i] && row[cand] {
				rescued++
			}
		}
		before := slices.Clone(tr.Chosen)
		set := append(slices.Clone(tr.Chosen), cand)
		gain := pct(rescued, n)
		st := Step{
			Before:           before,
			Failed:           nFailed,
			AccuracyOnFailed: acc,
			Candidate:        cand,
			Set:              set,
			Oracle:           pct(covered+rescued, n),
			Gain:             gain,
			Added:            len(tr.Chosen) == 0 || (gain >= theta && rescued > 0),
		}
		tr.Steps = append(tr.Steps, st)
		if !st.Added {
			break
		}
		tr.Chosen = set
		inSet[cand] = true
		covered += rescued
		for i, row := range correct {
			if row[cand] {
				failed[i] = false
			}
		}
	}
	tr.Oracle = pct(covered, n)
	return tr, nil
}

// accuracyOn returns each model's accuracy, in percent, on the images where
// mask is true (all zeros when the mask is empty).
func accuracyOn(correct [][]bool, mask []bool, m int) []float64 {
	hits := make([]int, m)
	total := 0
	for i, row := range correct {
		if !mask[i] {
			continue
		}
		total++
		for j, ok := range row {
			if ok {
				hits[j]++
			}
		}
	}
	out := make([]float64, m)
	if total == 0 {
		return out
	}
	for j := range m {
		out[j] = pct(hits[j], total)
	}
	return out
}
