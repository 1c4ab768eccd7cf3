package baselines

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/modelpick/modelpick/profileview"

	"github.com/modelpick/modelpick/learners"
)

// Knob routes each image by per-candidate scores with one threshold:
// candidate l (Levels[l], cost order) for the first l whose cumulative
// score S_l reaches Alpha, else the last candidate. See Cumulative.
type Knob struct {
	Levels []int    `json:"levels"` // model columns of the profile, cost order
	Models []string `json:"models"`
	Alpha  float64  `json:"alpha"`
	// OverheadMS is the premodel's cost per image, added to every image's
	// latency.
	OverheadMS float64 `json:"overhead_ms"`
}

// Cumulative turns a premodel's decision over the candidates (class l =
// Levels[l]) into the knob's scores: S_l = Scores[0] + ... + Scores[l],
// clipped to [0, 1]. With scores that estimate P(optimum model = l), S_l
// estimates P(the optimum costs no more than candidate l), "candidate l
// is enough"; it never decreases with l, so the first l with S_l >= alpha
// moves to costlier candidates as alpha grows.
func Cumulative(d learners.Decision) []float64 {
	out := make([]float64, len(d.Scores))
	sum := 0.0
	for l, s := range d.Scores {
		sum += s
		out[l] = min(1, max(0, sum))
	}
	return out
}

// choose returns the level for cumulative scores s.
func (k Knob) choose(s []float64) int {
	last := len(k.Levels) - 1
	for l := range last {
		if s[l] >= k.Alpha {
			return l
		}
	}
	return last
}

// Evaluate routes every image of p by its cumulative scores (one row per
// image, one value per level).
func (k Knob) Evaluate(p *profileview.View, scores [][]float64) (Result, error) {
	if err := checkLevels(p, k.Levels); err != nil {
		return Result{}, err
	}
	if err := checkScores(scores, len(p.Items), len(k.Levels)); err != nil {
		return Result{}, err
	}
	return k.evaluate(p, scores)
}

func (k Knob) evaluate(p *profileview.View, scores [][]float64) (Result, error) {
	choice := make([]int, len(p.Items))
	for i, s := range scores {
		choice[i] = k.Levels[k.choose(s)]
	}
	return EvaluateChoices(p, choice, k.OverheadMS)
}

func checkScores(scores [][]float64, images, levels int) error {
	if len(scores) != images {
		return fmt.Errorf("baselines: %d score rows for %d images: %w", len(scores), images, ErrProfile)
	}
	for i, s := range scores {
		if len(s) != levels {
			return fmt.Errorf("baselines: image %d has %d scores for %d candidates: %w", i, len(s), levels, ErrProfile)
		}
		for _, v := range s {
			if math.IsNaN(v) {
				return fmt.Errorf("baselines: image %d has a NaN score: %w", i, ErrProfile)
			}
		}
	}
	return nil
}

// knobCandidates are the alpha values worth trying: every distinct
// cumulative score of the levels that can be chosen before the last, and
// one above them all (everything goes to the last candidate).
func knobCandidates(scores [][]float64, levels int) []float64 {
	var all []float64
	for _, s := range scores {
		all = append(all, s[:levels-1]...)
	}
	if len(all) == 0 {
		return []float64{0}
	}
	return candidates(all)
}

// CalibrateKnob chooses alpha on the calibration profile p from
// out-of-sample cumulative scores (see OutOfFold), for the objective, by
// an exhaustive search over the distinct scores (RuleShared: it is one
// knob). overheadMS is the premodel's cost per image.
func CalibrateKnob(p *profileview.View, levels []int, scores [][]float64, overheadMS float64, obj Objective) (Knob, Calibration, error) {
	cal := Calibration{Rule: RuleShared, Objective: obj}
	if err := check(p); err != nil {
		return Knob{}, cal, err
	}
	if err := obj.Check(); err != nil {
		return Knob{}, cal, err
	}
	k, err := newKnob(p, levels, overheadMS)
	if err != nil {
		return Knob{}, cal, err
	}
	if err := checkScores(scores, len(p.Items), len(levels)); err != nil {
		return Knob{}, cal, err
	}
	var best Result
	bestA := 0.0
	for n, a := range knobCandidates(scores, len(levels)) {
		k.Alpha = a
		r, err := k.evaluate(p, scores)
		if err != nil {
			return Knob{}, cal, err
		}
		cal.Tried++
		if n == 0 || obj.Better(r, best) {
			best, bestA = r, a
		}
	}
	k.Alpha = bestA
	cal.Train, cal.Met = best, obj.Meets(best)
	return k, cal, nil
}

func newKnob(p *profileview.View, levels []int, overheadMS float64) (Knob, error) {
	if err := checkLevels(p, levels); err != nil {
		return Knob{}, err
	}
	if math.IsNaN(overheadMS) || overheadMS < 0 {
		return Knob{}, fmt.Errorf("baselines: premodel overhead %v ms: %w", overheadMS, ErrProfile)
	}
	k := Knob{Levels: slices.Clone(levels), OverheadMS: overheadMS}
	for _, j := range levels {
		k.Models = append(k.Models, p.Models[j])
	}
	return k, nil
}

// SweepKnob evaluates the knob at every candidate alpha of scores, in
// ascending order: the premodel's whole cost/accuracy curve.
func SweepKnob(p *profileview.View, levels []int, scores [][]float64, overheadMS float64) ([]Point, error) {
	if err := check(p); err != nil {
		return nil, err
	}
	k, err := newKnob(p, levels, overheadMS)
	if err != nil {
		return nil, err
	}
	if err := checkScores(scores, len(p.Items), len(levels)); err != nil {
		return nil, err
	}
	var out []Point
	for _, a := range knobCandidates(scores, len(levels)) {
		k.Alpha = a
		r, err := k.evaluate(p, scores)
		if err != nil {
			return nil, err
		}
		out = append(out, Point{Method: "knob", Param: a, Result: r})
	}
	return out, nil
}

// Random is random routing at a target mean latency: each image runs Low
// with probability 1-PHigh and High with probability PHigh, where Low and
// High are the candidates whose costs bracket the target.
type Random struct {
	TargetMS float64 `json:"target_ms"`
	Low      string  `json:"low"`
	High     string  `json:"high"`
	PHigh    float64 `json:"p_high"`
	// Expected is the expected accuracy (percent) and mean latency of the
	// mixture; Result (from RandomMatched) is one seeded draw.
	ExpectedAcc float64 `json:"expected_accuracy_pct"`
	ExpectedMS  float64 `json:"expected_mean_ms"`
	// Choice is the drawn model column of each image (for per-image
	// comparisons).
	Choice []int `json:"-"`
}

// RandomMatched routes every image of p at random between the two
// candidates (of levels) whose costs bracket targetMS, with the mixture
// whose expected mean latency is targetMS; a target outside the
// candidates' costs is clamped to the cheapest or the costliest. The draw
// uses a PCG source seeded with seed.
func RandomMatched(p *profileview.View, levels []int, targetMS float64, seed uint64) (Random, Result, error) {
	if err := check(p); err != nil {
		return Random{}, Result{}, err
	}
	if err := checkLevels(p, levels); err != nil {
		return Random{}, Result{}, err
	}
	if math.IsNaN(targetMS) {
		return Random{}, Result{}, fmt.Errorf("baselines: random routing: target latency is NaN")
	}
	// The mixture interpolates times, so it brackets the target by the
	// measured latencies themselves, not by the tie rule's order.
	order := slices.Clone(levels)
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p.Cost[a], p.Cost[b]) })
	lo, hi := order[0], order[0]
	pHigh := 0.0
	switch {
	case targetMS <= p.Cost[order[0]]:
	case targetMS >= p.Cost[order[len(order)-1]]:
		lo, hi = order[len(order)-1], order[len(order)-1]
	default:
		for k := 1; k < len(order); k++ {
			if p.Cost[order[k]] >= targetMS {
				lo, hi = order[k-1], order[k]
				break
			}
		}
		if span := p.Cost[hi] - p.Cost[lo]; span > 0 {
			pHigh = (targetMS - p.Cost[lo]) / span
		}
	}
	rnd := Random{TargetMS: targetMS, Low: p.Models[lo], High: p.Models[hi], PHigh: pHigh}
	accLo, _ := Single(p, lo)
	accHi, _ := Single(p, hi)
	rnd.ExpectedAcc = (1-pHigh)*accLo.Accuracy + pHigh*accHi.Accuracy
	rnd.ExpectedMS = (1-pHigh)*p.Cost[lo] + pHigh*p.Cost[hi]

	rng := rand.New(rand.NewPCG(seed, 0x6d6f64656c7069)) // stream: "modelpi"
	choice := make([]int, len(p.Items))
	for i := range choice {
		choice[i] = lo
		if rng.Float64() < pHigh {
			choice[i] = hi
		}
	}
	rnd.Choice = choice
	r, err := EvaluateChoices(p, choice, 0)
	return rnd, r, err
}
