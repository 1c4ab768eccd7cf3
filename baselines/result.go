package baselines

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/modelpick/modelpick/profileview"
)

// Result summarises a routing policy on a profile.
type Result struct {
	Images int `json:"images"`
	// Hits is the number of images answered correctly; Accuracy the same in
	// percent.
	Hits     int     `json:"hits"`
	Accuracy float64 `json:"accuracy_pct"`
	// MeanMS and P95MS are the per-image latency: the premodel overhead (if
	// any) plus the costs of every model the image ran.
	MeanMS float64 `json:"mean_ms"`
	P95MS  float64 `json:"p95_ms"`
	// Share is the percentage of images answered by each model, keyed by
	// model name.
	Share map[string]float64 `json:"share_pct"`
	// Runs is the mean number of models run per image.
	Runs float64 `json:"models_run_per_image"`
	// Choice is the model column that answered each image, and MS each
	// image's latency: the per-image outcome the figures above summarise
	// (paired bootstrap intervals are drawn from it).
	Choice []int     `json:"-"`
	MS     []float64 `json:"-"`
}

// tally accumulates per-image outcomes into a Result.
type tally struct {
	p       *profileview.View
	hit     [][]bool
	hits    int
	ms      []float64
	answers []int // per model column
	choice  []int // per image
	runs    int
}

func newTally(p *profileview.View) *tally {
	return &tally{p: p, hit: p.Correct(), ms: make([]float64, 0, len(p.Items)), answers: make([]int, len(p.Models)),
		choice: make([]int, 0, len(p.Items))}
}

// add records image i, the next in order, answered by model column j
// after running ran models at a total latency of ms.
func (t *tally) add(i, j int, ms float64, ran int) {
	t.choice = append(t.choice, j)
	if t.hit[i][j] {
		t.hits++
	}
	t.ms = append(t.ms, ms)
	t.answers[j]++
	t.runs += ran
}

func (t *tally) result() Result {
	n := len(t.ms)
	r := Result{Images: n, Hits: t.hits, Share: map[string]float64{}, Choice: t.choice, MS: t.ms}
	if n == 0 {
		return r
	}
	sum := 0.0
	for _, v := range t.ms {
		sum += v
	}
	r.Accuracy = 100 * float64(t.hits) / float64(n)
	r.MeanMS = sum / float64(n)
	r.P95MS = quantile(t.ms, 0.95)
	r.Runs = float64(t.runs) / float64(n)
	for j, a := range t.answers {
		if a > 0 {
			r.Share[t.p.Models[j]] = 100 * float64(a) / float64(n)
		}
	}
	return r
}

// quantile is the q-quantile of v with linear interpolation between order
// statistics (type 7, numpy's default).
func quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// EvaluateChoices scores a premodel's choices: image i runs model column
// choice[i] once, after overheadMS of premodel work. It is how every
// one-shot router (a premodel, the knob, random routing, a single model)
// is scored.
func EvaluateChoices(p *profileview.View, choice []int, overheadMS float64) (Result, error) {
	if err := check(p); err != nil {
		return Result{}, err
	}
	if len(choice) != len(p.Items) {
		return Result{}, fmt.Errorf("baselines: %d choices for %d images: %w", len(choice), len(p.Items), ErrProfile)
	}
	if math.IsNaN(overheadMS) || overheadMS < 0 {
		return Result{}, fmt.Errorf("baselines: premodel overhead %v ms: %w", overheadMS, ErrProfile)
	}
	t := newTally(p)
	for i, j := range choice {
		if j < 0 || j >= len(p.Models) {
			return Result{}, fmt.Errorf("baselines: image %d routed to model %d, outside 0..%d: %w", i, j, len(p.Models)-1, ErrProfile)
		}
		t.add(i, j, overheadMS+p.Cost[j], 1)
	}
	return t.result(), nil
}

// Single is the result of running one model on every image.
func Single(p *profileview.View, model int) (Result, error) {
	choice := make([]int, len(p.Items))
	for i := range choice {
		choice[i] = model
	}
	return EvaluateChoices(p, choice, 0)
}

// Oracle is a perfect premodel over levels (in cost order): each image runs
// its cheapest correct model; an image no level gets right runs the
// cheapest level (any answer is wrong, so the oracle spends the least).
func Oracle(p *profileview.View, levels []int) (Result, error) {
	if err := check(p); err != nil {
		return Result{}, err
	}
	if err := checkLevels(p, levels); err != nil {
		return Result{}, err
	}
	choice, err := p.Oracle(levels)
	if err != nil {
		return Result{}, fmt.Errorf("baselines: %w", err)
	}
	return EvaluateChoices(p, choice, 0)
}

// Objective is what a calibration aims at: set exactly one field.
type Objective struct {
	// BudgetMS: maximise accuracy subject to mean latency <= BudgetMS.
	BudgetMS float64 `json:"budget_ms,omitempty"`
	// TargetAcc: minimise mean latency subject to accuracy >= TargetAcc
	// (percent).
	TargetAcc float64 `json:"target_accuracy_pct,omitempty"`
}

// ErrObjective reports an objective with neither or both fields set, or a
// value out of range.
var ErrObjective = errors.New("bad objective")

// Check refuses an objective with neither or both fields set, or a value
// out of range (ErrObjective).
func (o Objective) Check() error {
	switch {
	case (o.BudgetMS > 0) == (o.TargetAcc > 0):
		return fmt.Errorf("baselines: objective %+v: set exactly one of a latency budget or a target accuracy: %w", o, ErrObjective)
	case math.IsInf(o.BudgetMS, 0) || math.IsNaN(o.BudgetMS) || math.IsNaN(o.TargetAcc) || o.TargetAcc > 100:
		return fmt.Errorf("baselines: objective %+v out of range: %w", o, ErrObjective)
	}
	return nil
}

func (o Objective) String() string {
	if o.BudgetMS > 0 {
		return fmt.Sprintf("mean latency <= %.4g ms", o.BudgetMS)
	}
	return fmt.Sprintf("accuracy >= %.4g%%", o.TargetAcc)
}

// slack absorbs the rounding of a mean of float costs, so that a setting
// whose mean latency equals the budget on paper is not refused for a last
// bit.
const slack = 1e-9

// Meets reports whether r satisfies o.
func (o Objective) Meets(r Result) bool {
	if o.BudgetMS > 0 {
		return r.MeanMS <= o.BudgetMS*(1+slack)
	}
	// Compare counts, not percentages: hits >= target * n / 100.
	return float64(r.Hits)*100 >= o.TargetAcc*float64(r.Images)*(1-slack)
}

// Better reports whether a is preferred to b under o: a setting that meets
// the constraint beats one that does not; between two that meet it, the
// objective decides, then the other quantity; between two that do not,
// the one nearer the constraint wins.
func (o Objective) Better(a, b Result) bool {
	ma, mb := o.Meets(a), o.Meets(b)
	if ma != mb {
		return ma
	}
	budget := o.BudgetMS > 0
	switch {
	case budget && ma, !budget && !ma: // more hits first, then lower latency
		if a.Hits != b.Hits {
			return a.Hits > b.Hits
		}
		return a.MeanMS < b.MeanMS
	default: // lower latency first, then more hits
		if a.MeanMS != b.MeanMS {
			return a.MeanMS < b.MeanMS
		}
		return a.Hits > b.Hits
	}
}
