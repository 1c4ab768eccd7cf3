package baselines

import (
	"fmt"
	"math"
	"slices"

	"github.com/modelpick/modelpick/profileview"
)

// Cascade is a max-softmax confidence cascade: the models of Levels run in
// order (normally cost order); level l answers when its model's top-1
// score is at least Thresholds[l], otherwise the next level runs; the last
// level always answers.
type Cascade struct {
	Levels     []int     `json:"levels"`     // model columns of the profile
	Models     []string  `json:"models"`     // their names, for records
	Thresholds []float64 `json:"thresholds"` // one per level but the last
}

// Rule names a calibration rule for a cascade's thresholds.
type Rule string

// The calibration rules; see the package documentation.
const (
	RuleShared Rule = "shared"
	RuleGreedy Rule = "greedy"
)

// NewCascade returns a cascade over levels (model columns of p, in the
// order they run) with the given thresholds.
func NewCascade(p *profileview.View, levels []int, thresholds []float64) (Cascade, error) {
	if err := checkLevels(p, levels); err != nil {
		return Cascade{}, err
	}
	if len(thresholds) != len(levels)-1 {
		return Cascade{}, fmt.Errorf("baselines: cascade of %d levels needs %d thresholds, got %d", len(levels), len(levels)-1, len(thresholds))
	}
	for _, t := range thresholds {
		if math.IsNaN(t) {
			return Cascade{}, fmt.Errorf("baselines: cascade threshold is NaN")
		}
	}
	c := Cascade{Levels: slices.Clone(levels), Thresholds: slices.Clone(thresholds)}
	for _, j := range levels {
		c.Models = append(c.Models, p.Models[j])
	}
	return c, nil
}

// exit returns the level at which image i stops and the latency of the
// models it ran.
func (c Cascade) exit(p *profileview.View, i int) (level int, ms float64) {
	for l, j := range c.Levels {
		ms += p.Cost[j]
		if l == len(c.Levels)-1 || p.Score[i][j] >= c.Thresholds[l] {
			return l, ms
		}
	}
	panic("unreachable: the last level always answers")
}

// Evaluate runs the cascade over every image of p from the stored scores.
// p must have the models the cascade was built for, in the same columns.
func (c Cascade) Evaluate(p *profileview.View) (Result, error) {
	if err := check(p); err != nil {
		return Result{}, err
	}
	if err := checkLevels(p, c.Levels); err != nil {
		return Result{}, err
	}
	for l, j := range c.Levels {
		if l < len(c.Models) && c.Models[l] != p.Models[j] {
			return Result{}, fmt.Errorf("baselines: cascade level %d is %s but the profile's column %d is %s: %w",
				l, c.Models[l], j, p.Models[j], ErrProfile)
		}
	}
	if len(c.Thresholds) != len(c.Levels)-1 {
		return Result{}, fmt.Errorf("baselines: cascade of %d levels has %d thresholds", len(c.Levels), len(c.Thresholds))
	}
	return c.evaluate(p), nil
}

func (c Cascade) evaluate(p *profileview.View) Result {
	t := newTally(p)
	for i := range p.Items {
		l, ms := c.exit(p, i)
		t.add(i, c.Levels[l], ms, l+1)
	}
	return t.result()
}

// candidates returns the thresholds worth trying for scores: every
// distinct value, ascending, and one value above them all (everything
// escalates). 0 is not added: the smallest score already lets every image
// through, and scores may be negative for a non-softmax output.
func candidates(scores []float64) []float64 {
	s := slices.Clone(scores)
	slices.Sort(s)
	s = slices.Compact(s)
	return append(s, math.Nextafter(s[len(s)-1], math.Inf(1)))
}

// Calibration records how a cascade or knob setting was chosen.
type Calibration struct {
	Rule      Rule      `json:"rule"`
	Objective Objective `json:"objective"`
	// Met says whether the training set met the objective's constraint.
	Met bool `json:"met"`
	// Train is the result on the calibration set.
	Train Result `json:"train"`
	// Tried is the number of settings evaluated.
	Tried int `json:"settings_tried"`
}

// CalibrateCascade chooses a cascade's thresholds over levels (model
// columns of p in run order) on the calibration profile p, by rule, for
// the objective.
func CalibrateCascade(p *profileview.View, levels []int, rule Rule, obj Objective) (Cascade, Calibration, error) {
	cal := Calibration{Rule: rule, Objective: obj}
	if err := check(p); err != nil {
		return Cascade{}, cal, err
	}
	if err := obj.Check(); err != nil {
		return Cascade{}, cal, err
	}
	if rule != RuleShared && rule != RuleGreedy {
		return Cascade{}, cal, fmt.Errorf("baselines: calibration rule %q, want %s or %s", rule, RuleShared, RuleGreedy)
	}
	if err := checkLevels(p, levels); err != nil {
		return Cascade{}, cal, err
	}
	c, err := NewCascade(p, levels, make([]float64, len(levels)-1))
	if err != nil {
		return Cascade{}, cal, err
	}
	if len(levels) == 1 {
		cal.Train, cal.Tried = c.evaluate(p), 1
		cal.Met = obj.Meets(cal.Train)
		return c, cal, nil
	}

	// Shared: one threshold for every level, tried at every distinct score
	// of the levels that can escalate.
	var pooled []float64
	for i := range p.Items {
		for _, j := range levels[:len(levels)-1] {
			pooled = append(pooled, p.Score[i][j])
		}
	}
	var best Result
	bestT := 0.0
	for k, t := range candidates(pooled) {
		for l := range c.Thresholds {
			c.Thresholds[l] = t
		}
		r := c.evaluate(p)
		cal.Tried++
		if k == 0 || obj.Better(r, best) {
			best, bestT = r, t
		}
	}
	for l := range c.Thresholds {
		c.Thresholds[l] = bestT
	}

	if rule == RuleGreedy {
		perLevel := make([][]float64, len(levels)-1)
		for l, j := range levels[:len(levels)-1] {
			col := make([]float64, len(p.Items))
			for i := range p.Items {
				col[i] = p.Score[i][j]
			}
			perLevel[l] = candidates(col)
		}
		// Coordinate search; each accepted move strictly improves the
		// objective, so it ends; maxPasses bounds it regardless.
		const maxPasses = 50
		for range maxPasses {
			moved := false
			for l := range c.Thresholds {
				keep := c.Thresholds[l]
				for _, t := range perLevel[l] {
					c.Thresholds[l] = t
					r := c.evaluate(p)
					cal.Tried++
					if obj.Better(r, best) {
						best, keep, moved = r, t, true
					}
				}
				c.Thresholds[l] = keep
			}
			if !moved {
				break
			}
		}
	}
	cal.Train = best
	cal.Met = obj.Meets(best)
	return c, cal, nil
}

// Point is one setting of a one-knob method and its result.
type Point struct {
	Method string  `json:"method"`
	Param  float64 `json:"param"` // the knob: a threshold, alpha, or a model's cost
	Result Result  `json:"result"`
}

// SweepCascade evaluates the shared-threshold cascade over levels at every
// candidate threshold of p, in ascending order: the whole cost/accuracy
// curve of the one knob.
func SweepCascade(p *profileview.View, levels []int) ([]Point, error) {
	if err := check(p); err != nil {
		return nil, err
	}
	if err := checkLevels(p, levels); err != nil {
		return nil, err
	}
	c, err := NewCascade(p, levels, make([]float64, len(levels)-1))
	if err != nil {
		return nil, err
	}
	if len(levels) == 1 {
		return []Point{{Method: "softmax-cascade", Result: c.evaluate(p)}}, nil
	}
	var pooled []float64
	for i := range p.Items {
		for _, j := range levels[:len(levels)-1] {
			pooled = append(pooled, p.Score[i][j])
		}
	}
	var out []Point
	for _, t := range candidates(pooled) {
		for l := range c.Thresholds {
			c.Thresholds[l] = t
		}
		out = append(out, Point{Method: "softmax-cascade", Param: t, Result: c.evaluate(p)})
	}
	return out, nil
}

// Pareto returns the points no other point beats on both accuracy and mean
// latency (a point with equal accuracy and latency is kept once), sorted
// by latency.
func Pareto(points []Point) []Point {
	s := slices.Clone(points)
	slices.SortStableFunc(s, func(a, b Point) int {
		switch {
		case a.Result.MeanMS < b.Result.MeanMS:
			return -1
		case a.Result.MeanMS > b.Result.MeanMS:
			return 1
		case a.Result.Hits > b.Result.Hits:
			return -1
		case a.Result.Hits < b.Result.Hits:
			return 1
		}
		return 0
	})
	var out []Point
	bestHits := -1
	for _, pt := range s {
		if pt.Result.Hits > bestHits {
			out = append(out, pt)
			bestHits = pt.Result.Hits
		}
	}
	return out
}
