package routers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/bundle"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"
)

// KindSoftmax is the max-softmax confidence cascade.
const KindSoftmax = "softmax-cascade"

func softmaxKind() Kind {
	return Kind{Name: KindSoftmax, Learner: "softmax", Reads: []string{ReadsObjective},
		Summary: "the max-softmax confidence cascade: escalate in cost order while the top-1 score is below the level's threshold",
		Train:   trainSoftmax, Load: loadSoftmax, Evaluate: evaluateSoftmax}
}

// SoftmaxCascade is the max-softmax confidence cascade as a router: the
// cheapest level's model runs first, and it escalates to the next level
// while the top-1 score is below that level's threshold; the last level
// always answers. It reads no features.
type SoftmaxCascade struct {
	// Levels are model names in run (cost) order.
	Levels []string `json:"levels"`
	// Thresholds has one entry per level but the last.
	Thresholds []float64 `json:"thresholds"`
}

func (c *SoftmaxCascade) check() error {
	switch {
	case len(c.Levels) == 0:
		return errors.New("softmax cascade: no levels")
	case len(c.Thresholds) != len(c.Levels)-1:
		return fmt.Errorf("softmax cascade: %d levels need %d thresholds, have %d", len(c.Levels), len(c.Levels)-1, len(c.Thresholds))
	}
	for i, m := range c.Levels {
		if m == "" || slices.Contains(c.Levels[:i], m) {
			return fmt.Errorf("softmax cascade: level %d model %q is empty or repeated", i, m)
		}
	}
	for _, t := range c.Thresholds {
		if math.IsNaN(t) {
			return errors.New("softmax cascade: a threshold is NaN")
		}
	}
	return nil
}

// Needs implements route.Router: the cascade reads no features.
func (*SoftmaxCascade) Needs() route.Needs { return route.Needs{} }

// Models implements route.Router: the levels, in run order.
func (c *SoftmaxCascade) Models() []string { return slices.Clone(c.Levels) }

// Route implements route.Router: it runs the levels in order while the
// answer's top-1 score is below the level's threshold.
func (c *SoftmaxCascade) Route(in route.Input) (route.Decision, error) {
	if len(c.Levels) == 0 {
		return route.Decision{}, errors.New("softmax cascade: no levels")
	}
	d := route.Decision{Class: 0, Scores: []float64{1}, MeanDist: -1, Reason: route.ReasonCascade}
	for level, m := range c.Levels {
		out, err := in.Run(m)
		if err != nil {
			return route.Decision{}, err
		}
		d.Model, d.Ran = m, append(d.Ran, m)
		if level == len(c.Levels)-1 || float64(out.Top1()) >= c.Thresholds[level] {
			break
		}
	}
	return d, nil
}

// cascadeSettings are a softmax-cascade bundle's own manifest fields.
type cascadeSettings struct {
	Learner string       `json:"learner"`
	Cascade *CascadeInfo `json:"cascade"`
}

// CascadeInfo is the manifest entry of a softmax-cascade bundle.
type CascadeInfo struct {
	Levels      []string              `json:"levels"`
	Thresholds  []float64             `json:"thresholds"`
	Calibration baselines.Calibration `json:"calibration"`
}

// trainSoftmax calibrates the cascade on the training store's stored
// top-1 scores: over the given candidates or Algorithm 1's, in cost
// order, for the objective (default: the cost of the most accurate level).
func trainSoftmax(ctx context.Context, o TrainOptions) (*Trained, error) {
	if o.Objective.BudgetMS < 0 || o.Objective.TargetAcc < 0 || (o.Objective.BudgetMS > 0 && o.Objective.TargetAcc > 0) {
		return nil, fmt.Errorf("train: give at most one of -budget-ms and -target-acc, positive")
	}
	if o.Rule != baselines.RuleShared && o.Rule != baselines.RuleGreedy {
		return nil, fmt.Errorf("train: -rule %q, want shared or greedy", o.Rule)
	}
	v, err := profileview.Load(ctx, o.Store, profileview.Options{Criterion: o.Criterion, Datasets: o.Datasets, Threads: o.Threads})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	levels, err := v.Columns(o.Candidates)
	if err != nil {
		return nil, fmt.Errorf("train: -candidates: %w", err)
	}
	from := "given"
	if len(levels) == 0 {
		tr, err := v.SelectModels(o.Theta)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		levels, from = tr.Chosen, fmt.Sprintf("Algorithm 1, theta %g pp", o.Theta)
	}
	levels = baselines.ByCost(v, levels)
	obj := o.Objective
	if obj.BudgetMS == 0 && obj.TargetAcc == 0 {
		if obj.BudgetMS, err = mostAccurateCost(v, levels); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	bc, cal, err := baselines.CalibrateCascade(v, levels, o.Rule, obj)
	if err != nil {
		return nil, fmt.Errorf("train: calibrate the softmax cascade: %w", err)
	}
	c := &SoftmaxCascade{Levels: slices.Clone(bc.Models), Thresholds: slices.Clone(bc.Thresholds)}
	met := "met"
	if !cal.Met {
		met = "not met on the training set"
	}
	t, err := FromCascade(c, v, cal)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	t.Summary = []string{
		fmt.Sprintf("calibrated a softmax cascade on %d images of %s (%s, latency at %d thread(s)), levels (%s): %s, thresholds %v",
			len(v.Items), strings.Join(v.Datasets, ", "), o.Criterion, v.CostFrom.Threads, from, strings.Join(c.Levels, " > "), c.Thresholds),
		fmt.Sprintf("objective %s (%s, rule %s): training accuracy %.2f%%, mean %.3f ms", obj, met, o.Rule, cal.Train.Accuracy, cal.Train.MeanMS),
	}
	return t, nil
}

// FromCascade is a cascade calibrated on v, ready for Write.
func FromCascade(c *SoftmaxCascade, v *profileview.View, cal baselines.Calibration) (*Trained, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return &Trained{Router: c, Profile: v,
		Manifest: bundle.Manifest{Router: KindSoftmax, Criterion: v.Criterion, CandidatesFrom: "calibrated cascade",
			Candidates: slices.Clone(c.Levels), Fallback: "none", Training: bundle.TrainingOf(v, len(v.Items))},
		Settings: cascadeSettings{Learner: KindSoftmax, Cascade: &CascadeInfo{Levels: c.Levels, Thresholds: c.Thresholds, Calibration: cal}}}, nil
}

// mostAccurateCost is the cost of the most accurate level (ties: the
// cheaper), the default budget, as modelpick baselines chooses it.
func mostAccurateCost(v *profileview.View, levels []int) (float64, error) {
	best, bestHits := levels[0], -1
	for _, j := range levels {
		r, err := baselines.Single(v, j)
		if err != nil {
			return 0, err
		}
		if r.Hits > bestHits || (r.Hits == bestHits && v.Cheaper(j, best)) {
			best, bestHits = j, r.Hits
		}
	}
	return v.Cost[best], nil
}

// loadSoftmax restores a softmax cascade from its manifest.
func loadSoftmax(b *bundle.Bundle) (route.Router, error) {
	var s cascadeSettings
	if err := b.Settings(&s); err != nil {
		return nil, err
	}
	if s.Cascade == nil {
		return nil, fmt.Errorf("router %q but no \"cascade\" entry in %s: retrain the bundle: %w", b.Manifest.Router, bundle.ManifestFile, bundle.ErrBundle)
	}
	c := &SoftmaxCascade{Levels: s.Cascade.Levels, Thresholds: s.Cascade.Thresholds}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%v: %w", err, bundle.ErrBundle)
	}
	return c, nil
}

// CascadeReport is the evaluation of a softmax cascade on a test store,
// from its stored top-1 scores and costs.
type CascadeReport struct {
	Criterion  profileview.Criterion `json:"criterion"`
	Images     int                   `json:"images"`
	Levels     []string              `json:"levels"`
	Thresholds []float64             `json:"thresholds"`
	// Cascade is the bundle's cascade; Singles every model of the test
	// store alone; Oracle the fastest correct model among all.
	Cascade  baselines.Result            `json:"cascade"`
	Singles  map[string]baselines.Result `json:"singles"`
	Oracle   baselines.Result            `json:"oracle"`
	OfOracle float64                     `json:"share_of_oracle_pct"`
}

func evaluateSoftmax(ctx context.Context, l *Loaded, o EvalOptions) (Evaluation, error) {
	c, ok := l.Router.(*SoftmaxCascade)
	if !ok {
		return Evaluation{}, fmt.Errorf("evaluate: the %s bundle holds no softmax cascade", l.Manifest.Router)
	}
	test, err := profileview.Load(ctx, o.Store, profileview.Options{Criterion: l.Manifest.Criterion, Datasets: o.Datasets, Threads: o.Threads})
	if err != nil {
		return Evaluation{}, fmt.Errorf("evaluate: %w", err)
	}
	if err := checkProfiled(l, test); err != nil {
		return Evaluation{}, err
	}
	rep, err := EvaluateCascade(c, test)
	if err != nil {
		return Evaluation{}, err
	}
	return Evaluation{Report: struct {
		Bundle    string `json:"bundle"`
		Router    string `json:"router"`
		TestStore string `json:"test_store"`
		CascadeReport
	}{l.Dir, KindSoftmax, o.Store.Path(), rep}, Markdown: rep.Markdown()}, nil
}

// EvaluateCascade evaluates c on a test profile: accuracy, mean and p95
// latency (every level run counts), share per answering model, beside
// every single model and the oracle.
func EvaluateCascade(c *SoftmaxCascade, test *profileview.View) (CascadeReport, error) {
	rep := CascadeReport{Criterion: test.Criterion, Images: len(test.Items), Levels: c.Levels, Thresholds: c.Thresholds,
		Singles: map[string]baselines.Result{}}
	levels, err := test.Columns(c.Levels)
	if err != nil {
		return rep, fmt.Errorf("evaluate: %w: profile the levels' models on the test images", err)
	}
	bc, err := baselines.NewCascade(test, levels, c.Thresholds)
	if err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	if rep.Cascade, err = bc.Evaluate(test); err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	all := make([]int, len(test.Models))
	for j := range all {
		all[j] = j
		if rep.Singles[test.Models[j]], err = baselines.Single(test, j); err != nil {
			return rep, fmt.Errorf("evaluate: %w", err)
		}
	}
	if rep.Oracle, err = baselines.Oracle(test, baselines.ByCost(test, all)); err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	if rep.Oracle.Accuracy > 0 {
		rep.OfOracle = 100 * rep.Cascade.Accuracy / rep.Oracle.Accuracy
	}
	return rep, nil
}

// Markdown renders the report as a short table.
func (r CascadeReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "softmax cascade %s (thresholds %v) on %d images, %s\n\n", strings.Join(r.Levels, " > "), r.Thresholds, r.Images, r.Criterion)
	b.WriteString("| method | accuracy % | mean ms | p95 ms |\n|---|---|---|---|\n")
	row := func(name string, x baselines.Result) {
		fmt.Fprintf(&b, "| %s | %.2f | %.3f | %.3f |\n", name, x.Accuracy, x.MeanMS, x.P95MS)
	}
	row("softmax-cascade", r.Cascade)
	names := make([]string, 0, len(r.Singles))
	for n := range r.Singles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		row(n, r.Singles[n])
	}
	row("oracle", r.Oracle)
	return b.String()
}
