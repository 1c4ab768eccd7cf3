package baselines

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrProfile reports a malformed profile.
var ErrProfile = errors.New("malformed profile")

// Image identifies one profiled image.
type Image struct {
	Dataset string `json:"dataset"`
	File    string `json:"file"`
	SHA256  string `json:"sha256"` // content hash: the key of stored features
}

// Profile is what the baselines read: per image and model, whether the
// model is correct (under the chosen criterion) and its stored top-1 score,
// and per model its cost.
type Profile struct {
	Images []Image     `json:"images"`
	Models []string    `json:"models"`
	Cost   []float64   `json:"cost_ms"` // one per model: mean latency, ms
	Hit    [][]bool    `json:"-"`       // [image][model]: correct
	Score  [][]float64 `json:"-"`       // [image][model]: top-1 score (max softmax)
}

// Check reports whether p is usable: at least one image and model, every
// row as long as Models, finite non-negative costs, finite scores.
func (p Profile) Check() error {
	m := len(p.Models)
	switch {
	case len(p.Images) == 0:
		return fmt.Errorf("baselines: profile has no images: %w", ErrProfile)
	case m == 0:
		return fmt.Errorf("baselines: profile has no models: %w", ErrProfile)
	case len(p.Cost) != m:
		return fmt.Errorf("baselines: %d costs for %d models: %w", len(p.Cost), m, ErrProfile)
	case len(p.Hit) != len(p.Images) || len(p.Score) != len(p.Images):
		return fmt.Errorf("baselines: %d images but %d correctness rows and %d score rows: %w",
			len(p.Images), len(p.Hit), len(p.Score), ErrProfile)
	}
	for j, c := range p.Cost {
		if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
			return fmt.Errorf("baselines: cost of %s is %v: %w", p.Models[j], c, ErrProfile)
		}
	}
	for i := range p.Images {
		if len(p.Hit[i]) != m || len(p.Score[i]) != m {
			return fmt.Errorf("baselines: image %d has %d correctness and %d score values for %d models: %w",
				i, len(p.Hit[i]), len(p.Score[i]), m, ErrProfile)
		}
		for j, s := range p.Score[i] {
			if math.IsNaN(s) || math.IsInf(s, 0) {
				return fmt.Errorf("baselines: image %d: score of %s is %v: %w", i, p.Models[j], s, ErrProfile)
			}
		}
	}
	return nil
}

// ModelIndex returns the column of a model by name.
func (p Profile) ModelIndex(name string) (int, error) {
	if j := slices.Index(p.Models, name); j >= 0 {
		return j, nil
	}
	return 0, fmt.Errorf("baselines: no model %q in the profile (have %v)", name, p.Models)
}

// checkLevels validates a list of model indices used as cascade levels or
// candidates: non-empty, in range, no repeats.
func (p Profile) checkLevels(levels []int) error {
	if len(levels) == 0 {
		return fmt.Errorf("baselines: no candidate models: %w", ErrProfile)
	}
	seen := map[int]bool{}
	for _, j := range levels {
		if j < 0 || j >= len(p.Models) {
			return fmt.Errorf("baselines: model index %d outside 0..%d: %w", j, len(p.Models)-1, ErrProfile)
		}
		if seen[j] {
			return fmt.Errorf("baselines: model %s listed twice: %w", p.Models[j], ErrProfile)
		}
		seen[j] = true
	}
	return nil
}

// ByCost returns levels sorted by cost (ties: lower index first), the order
// a cascade runs them in.
func (p Profile) ByCost(levels []int) []int {
	out := slices.Clone(levels)
	slices.SortStableFunc(out, func(a, b int) int {
		switch {
		case p.Cost[a] < p.Cost[b]:
			return -1
		case p.Cost[a] > p.Cost[b]:
			return 1
		}
		return a - b
	})
	return out
}

// Targets returns each image's optimum level: the index into levels of the
// cheapest level whose model is correct (levels must be in cost order), or
// -1 when none is. These are the labels a premodel over levels learns.
func (p Profile) Targets(levels []int) []int {
	out := make([]int, len(p.Images))
	for i := range p.Images {
		out[i] = -1
		for l, j := range levels {
			if p.Hit[i][j] {
				out[i] = l
				break
			}
		}
	}
	return out
}

// Frontier returns the models of set that no other model of set beats on
// both cost and hits over p (at most the cost and at least the hits, one
// of them strictly), in cost order. A cascade or knob runs its candidates
// in cost order and falls back to the last: a model that is slower and
// less accurate than another candidate only makes both worse.
func (p Profile) Frontier(set []int) []int {
	hits := make(map[int]int, len(set))
	for _, j := range set {
		for i := range p.Images {
			if p.Hit[i][j] {
				hits[j]++
			}
		}
	}
	var out []int
	for _, j := range set {
		dominated := false
		for _, k := range set {
			if k != j && p.Cost[k] <= p.Cost[j] && hits[k] >= hits[j] && (p.Cost[k] < p.Cost[j] || hits[k] > hits[j]) {
				dominated = true
				break
			}
		}
		if !dominated {
			out = append(out, j)
		}
	}
	return p.ByCost(out)
}
