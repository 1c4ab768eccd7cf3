package baselines

import (
	"errors"
	"fmt"
	"math"

	"github.com/modelpick/modelpick/profileview"
)

// ErrProfile reports a malformed profile.
var ErrProfile = errors.New("malformed profile")

// check reports whether p is usable: at least one image and model, every
// row as long as Models, finite non-negative costs, finite scores. A view
// loaded from a store always is; one made by hand may not be.
func check(p *profileview.View) error {
	if p == nil {
		return fmt.Errorf("baselines: no profile: %w", ErrProfile)
	}
	m := len(p.Models)
	hit := p.Correct()
	switch {
	case len(p.Items) == 0:
		return fmt.Errorf("baselines: profile has no images: %w", ErrProfile)
	case m == 0:
		return fmt.Errorf("baselines: profile has no models: %w", ErrProfile)
	case len(p.Cost) != m:
		return fmt.Errorf("baselines: %d costs for %d models: %w", len(p.Cost), m, ErrProfile)
	case len(hit) != len(p.Items) || len(p.Score) != len(p.Items):
		return fmt.Errorf("baselines: %d images but %d correctness rows and %d score rows: %w",
			len(p.Items), len(hit), len(p.Score), ErrProfile)
	}
	for j, c := range p.Cost {
		if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
			return fmt.Errorf("baselines: cost of %s is %v: %w", p.Models[j], c, ErrProfile)
		}
	}
	for i := range p.Items {
		if len(hit[i]) != m || len(p.Score[i]) != m {
			return fmt.Errorf("baselines: image %d has %d correctness and %d score values for %d models: %w",
				i, len(hit[i]), len(p.Score[i]), m, ErrProfile)
		}
		for j, s := range p.Score[i] {
			if math.IsNaN(s) || math.IsInf(s, 0) {
				return fmt.Errorf("baselines: image %d: score of %s is %v: %w", i, p.Models[j], s, ErrProfile)
			}
		}
	}
	return nil
}

// checkLevels validates a list of model indices used as cascade levels or
// candidates: non-empty, in range, no repeats.
func checkLevels(p *profileview.View, levels []int) error {
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

// ByCost returns levels cheapest first (the view's Order, the tie rule),
// the order a cascade runs them in.
func ByCost(p *profileview.View, levels []int) []int {
	return p.ByCost(levels)
}

// Frontier returns the models of set that no other model of set beats on
// both cost and hits over p (cheaper in the view's Order, the tie rule,
// and at least the hits), in cost order. A cascade or knob runs its candidates
// in cost order and falls back to the last: a model that is slower and
// less accurate than another candidate only makes both worse.
func Frontier(p *profileview.View, set []int) []int {
	hits := make(map[int]int, len(set))
	hit := p.Correct()
	for _, j := range set {
		for i := range p.Items {
			if hit[i][j] {
				hits[j]++
			}
		}
	}
	var out []int
	for _, j := range set {
		dominated := false
		for _, k := range set {
			if k != j && p.Cheaper(k, j) && hits[k] >= hits[j] {
				dominated = true
				break
			}
		}
		if !dominated {
			out = append(out, j)
		}
	}
	return ByCost(p, out)
}
