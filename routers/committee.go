package routers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/bundle"
	"github.com/modelpick/modelpick/committee"
	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/method"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"
)

// KindCommittee is the committee cascade (Wang et al., "Wisdom of
// Committees", ICLR 2022): levels run in order, each adding one model
// whose probability vector joins the running average, until the average
// is confident enough.
const KindCommittee = "committee"

// The committee cascade's stop rules.
const (
	// StopThreshold stops at level l when the running average's top
	// probability is at least Thresholds[l].
	StopThreshold = "threshold"
	// StopLearned stops at level l when a logistic regression on the
	// level's statistics (stopFeatures) gives a probability of being
	// right of at least Thresholds[l].
	StopLearned = "learned"
)

// The committee cascade's search space and stop model (see
// CommitteeSearch): orders of up to three levels keep the search
// exhaustive (252 orders on the seven-model ladder), and a threshold on
// one of 21 training quantiles (or never) per level is as fine a grid as
// 663 training images can tell apart.
const (
	DefaultMaxLevels = 3
	DefaultQuantiles = 20
	// DefaultStopFolds is the out-of-fold split of the learned stop rule.
	DefaultStopFolds = 5
	// DefaultStopL2 is the stop model's weight penalty (learners' cnn,
	// per training row): mild, for four statistics in [0, 1].
	DefaultStopL2 = 1e-3
)

// never is a threshold no statistic reaches (both stop scores are at
// most 1): the level always escalates. JSON cannot hold +Inf.
const never = math.MaxFloat64

// stopFile is the bundle's file of the stop rule.
const stopFile = "stop.json"

func committeeKind() Kind {
	return Kind{Name: KindCommittee, Learner: "committee", Reads: []string{ReadsObjective, ReadsCommittee},
		Summary: "the committee cascade: levels add one model each to a running average of probabilities, and stop when it is confident",
		Train:   trainCommittee, Load: loadCommittee, Evaluate: evaluateCommittee}
}

// CommitteeCascade is the committee cascade as a router. Level l runs
// Levels[l] and averages its class probabilities with those of the
// levels before (committee.Running, the committee model's rule); it stops
// when its stop score is at least Thresholds[l], and the last level
// always answers. Stopping at level 0 answers with that model; later, with
// the committee of the models run. No model runs twice, and it reads no
// features.
type CommitteeCascade struct {
	Levels     []string
	Stop       string
	Thresholds []float64
	// stops are the learned rule's models, one per level but the last
	// (learners' cnn, one class "right", on stopFeatures).
	stops []learners.Learner
}

func (c *CommitteeCascade) check() error {
	switch {
	case len(c.Levels) == 0:
		return errors.New("committee cascade: no levels")
	case c.Stop != StopThreshold && c.Stop != StopLearned:
		return fmt.Errorf("committee cascade: stop rule %q, want %s or %s", c.Stop, StopThreshold, StopLearned)
	case len(c.Thresholds) != len(c.Levels)-1:
		return fmt.Errorf("committee cascade: %d levels need %d thresholds (one per level but the last), have %d",
			len(c.Levels), len(c.Levels)-1, len(c.Thresholds))
	case c.Stop == StopLearned && len(c.stops) != len(c.Levels)-1:
		return fmt.Errorf("committee cascade: %d levels need %d stop models, have %d", len(c.Levels), len(c.Levels)-1, len(c.stops))
	}
	for i, m := range c.Levels {
		if m == "" || slices.Contains(c.Levels[:i], m) {
			return fmt.Errorf("committee cascade: level %d model %q is empty or repeated (a cascade never runs a model twice)", i, m)
		}
	}
	for l, t := range c.Thresholds {
		if math.IsNaN(t) {
			return fmt.Errorf("committee cascade: level %d threshold is NaN", l)
		}
	}
	return nil
}

// Needs implements route.Router: the cascade reads no features.
func (*CommitteeCascade) Needs() route.Needs { return route.Needs{} }

// Models implements route.Router: the levels, in run order.
func (c *CommitteeCascade) Models() []string { return slices.Clone(c.Levels) }

// Route implements route.Router. The decision's Class is the level it
// stopped at and Scores the stop score of each level it checked; Model is
// the level-0 model, or the committee of the models run
// (committee.CommitteeName, in run order) with their mean as Answer.
func (c *CommitteeCascade) Route(in route.Input) (route.Decision, error) {
	if err := c.check(); err != nil {
		return route.Decision{}, err
	}
	d := route.Decision{MeanDist: -1, Reason: route.ReasonCascade}
	var run *committee.Running
	classes := 0
	for l, m := range c.Levels {
		out, err := in.Run(m)
		if err != nil {
			return route.Decision{}, err
		}
		if run == nil {
			classes = len(out.Scores)
			if classes == 0 {
				return route.Decision{}, fmt.Errorf("committee cascade: level 0 (%s) gave no class scores", m)
			}
			run = committee.NewRunning(classes, 0, classes)
		} else if len(out.Scores) != classes {
			return route.Decision{}, fmt.Errorf("committee cascade: level %d (%s) gave %d class scores, level 0 gave %d: the levels must share one class layout",
				l, m, len(out.Scores), classes)
		}
		lv := run.Add(out.Scores)
		d.Ran, d.Class = append(d.Ran, m), l
		if l == len(c.Levels)-1 {
			break
		}
		s, err := c.score(l, lv, classes)
		if err != nil {
			return route.Decision{}, err
		}
		d.Scores = append(d.Scores, s)
		if s >= c.Thresholds[l] {
			break
		}
	}
	if len(d.Ran) == 1 {
		d.Model = d.Ran[0]
	} else {
		d.Model, d.Answer = committee.CommitteeName(d.Ran), slices.Clone(run.Mean())
	}
	return d, nil
}

// score is level l's stop score: the running average's top probability,
// or the learned rule's probability that the level's answer is right.
func (c *CommitteeCascade) score(l int, lv committee.Level, classes int) (float64, error) {
	if c.Stop == StopThreshold {
		return lv.MaxProb, nil
	}
	dec, err := c.stops[l].Predict(stopFeatures(lv, classes))
	if err != nil {
		return 0, fmt.Errorf("committee cascade: level %d stop model: %w", l, err)
	}
	return dec.Scores[0], nil
}

// StopFeatureNames name stopFeatures' columns.
var StopFeatureNames = []string{"max_prob", "margin", "entropy_over_log_classes", "agree"}

// stopFeatures are what the learned rule reads of a level, each in [0, 1]
// (so no scaler is fitted): the running average's top probability, its
// margin over the second, its entropy over the largest possible
// (log of the class count), and the share of the models run whose own
// top-1 is the average's.
func stopFeatures(lv committee.Level, classes int) []float64 {
	h := 0.0
	if classes > 1 {
		h = lv.Entropy / math.Log(float64(classes))
	}
	return []float64{lv.MaxProb, lv.Margin, h, lv.Agree}
}

// CommitteeSearchOptions set the search of CommitteeSearch.
type CommitteeSearchOptions struct {
	Criterion profileview.Criterion `json:"criterion"`
	// MaxLevels bounds an order's length (default DefaultMaxLevels);
	// Quantiles is the threshold grid (default DefaultQuantiles: the
	// 0, 1/Q, ..., 1 quantiles of the level's training scores, and never).
	MaxLevels int `json:"max_levels"`
	Quantiles int `json:"quantiles"`
	// StopFolds, StopL2 and Seed fit the learned rule out of fold
	// (defaults DefaultStopFolds, DefaultStopL2; the folds are seeded).
	StopFolds int     `json:"stop_folds"`
	StopL2    float64 `json:"stop_l2"`
	Seed      int64   `json:"seed"`
}

func (o *CommitteeSearchOptions) defaults() error {
	o.MaxLevels = cmpOr(o.MaxLevels, DefaultMaxLevels)
	o.Quantiles = cmpOr(o.Quantiles, DefaultQuantiles)
	o.StopFolds = cmpOr(o.StopFolds, DefaultStopFolds)
	if o.StopL2 == 0 {
		o.StopL2 = DefaultStopL2
	}
	switch {
	case o.MaxLevels < 1 || o.Quantiles < 1 || o.StopFolds < 2 || o.StopL2 < 0:
		return fmt.Errorf("committee search: max levels %d, quantiles %d, stop folds %d, L2 %g: want >= 1, >= 1, >= 2, >= 0",
			o.MaxLevels, o.Quantiles, o.StopFolds, o.StopL2)
	}
	_, err := profileview.ParseCriterion(string(o.Criterion))
	return err
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// CommitteeSearch holds what the committee cascade's training searches
// over: for every order of 1..MaxLevels distinct ladder models, every
// training image's statistics and correctness at each level, and the
// learned rule's out-of-fold scores. Settings lists every (order,
// thresholds) on the grid with its training result; Choose picks one for
// an objective by baselines.Objective's rule. Everything comes from the
// training images' cached probability vectors and the training store's
// costs: no test image is read.
type CommitteeSearch struct {
	Ladder  []string
	CostMS  []float64
	Dataset string
	Images  int
	Options CommitteeSearchOptions
	// Singles are the ladder models' training results alone.
	Singles []baselines.Result

	prefixes []*prefix
	byKey    map[string]int
	settings map[string][]setting
	fitted   bool // the learned rule's out-of-fold scores are in
}

// prefix is one order's statistics at its last level.
type prefix struct {
	models  []int // ladder indices, in run order
	parent  int   // index of the prefix one shorter (-1 at depth 1)
	correct []bool
	maxProb []float64
	x       [][]float64 // stopFeatures
	oof     []float64   // learned rule's out-of-fold scores (levels with a successor only)
	costMS  float64     // of every model of the prefix
}

// setting is one searched configuration: an order (a prefix index) and a
// grid position per level but the last.
type setting struct {
	order int
	grid  []int
	hits  int
	ms    float64
}

// NewCommitteeSearch computes the search's statistics. vectors are the
// ladder models' cached probability vectors on the training set, rows the
// vector rows of the training images (in view order), costMS each ladder
// model's mean latency from the training store.
func NewCommitteeSearch(vectors []*committee.Probs, rows []int, costMS []float64, o CommitteeSearchOptions) (*CommitteeSearch, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if len(vectors) == 0 || len(vectors) != len(costMS) {
		return nil, fmt.Errorf("committee search: %d models' vectors and %d costs", len(vectors), len(costMS))
	}
	if len(rows) == 0 {
		return nil, errors.New("committee search: no training images")
	}
	ref := vectors[0]
	s := &CommitteeSearch{CostMS: slices.Clone(costMS), Dataset: ref.Dataset, Images: len(rows), Options: o,
		byKey: map[string]int{}, settings: map[string][]setting{}}
	for _, p := range vectors {
		switch {
		case p.Dataset != ref.Dataset || len(p.Files) != len(ref.Files) || p.Outputs != ref.Outputs ||
			p.LabelOffset != ref.LabelOffset || p.NumClasses != ref.NumClasses:
			return nil, fmt.Errorf("committee search: vectors of %s (%s, %d images, %d outputs) and %s (%s, %d images, %d outputs) do not pair: compute them on one set",
				ref.Model, ref.Dataset, len(ref.Files), ref.Outputs, p.Model, p.Dataset, len(p.Files), p.Outputs)
		case slices.Contains(s.Ladder, p.Model):
			return nil, fmt.Errorf("committee search: model %s given twice", p.Model)
		}
		s.Ladder = append(s.Ladder, p.Model)
	}
	for _, r := range rows {
		if r < 0 || r >= len(ref.Files) {
			return nil, fmt.Errorf("committee search: image row %d outside the vectors' %d images", r, len(ref.Files))
		}
		for _, p := range vectors {
			if p.Errors[r] != "" {
				return nil, fmt.Errorf("committee search: %s was unreadable for %s (%s): leave it out of the training images", ref.Files[r], p.Model, p.Errors[r])
			}
		}
	}
	s.listPrefixes(o.MaxLevels)
	s.fillPrefixes(vectors, rows)
	for j := range s.Ladder {
		s.Singles = append(s.Singles, s.result(s.prefixes[s.byKey[key([]int{j})]].correct, costMS[j]))
	}
	return s, nil
}

func key(models []int) string {
	parts := make([]string, len(models))
	for i, m := range models {
		parts[i] = fmt.Sprint(m)
	}
	return strings.Join(parts, ">")
}

// listPrefixes lists every order of 1..maxLevels distinct ladder models,
// depth first (a prefix before its extensions).
func (s *CommitteeSearch) listPrefixes(maxLevels int) {
	var rec func(parent int, models []int)
	rec = func(parent int, models []int) {
		for j := range s.Ladder {
			if slices.Contains(models, j) {
				continue
			}
			m := append(slices.Clone(models), j)
			p := &prefix{models: m, parent: parent}
			for _, k := range m {
				p.costMS += s.CostMS[k]
			}
			s.byKey[key(m)] = len(s.prefixes)
			s.prefixes = append(s.prefixes, p)
			if len(m) < maxLevels {
				rec(len(s.prefixes)-1, m)
			}
		}
	}
	rec(-1, nil)
}

// fillPrefixes walks every prefix on every image, depth first, adding one
// output per prefix to a running mean truncated to its parent.
func (s *CommitteeSearch) fillPrefixes(vectors []*committee.Probs, rows []int) {
	ref := vectors[0]
	n := len(rows)
	for _, p := range s.prefixes {
		p.correct, p.maxProb, p.x = make([]bool, n), make([]float64, n), make([][]float64, n)
	}
	run := committee.NewRunning(ref.Outputs, ref.LabelOffset, ref.NumClasses)
	for k, r := range rows {
		item := datasets.Item{File: ref.Files[r], Label: ref.Labels[r]}
		for _, p := range s.prefixes {
			run.Truncate(len(p.models) - 1)
			lv := run.Add(vectors[p.models[len(p.models)-1]].Row(r))
			pred := profile.Prediction(ref.Dataset, item, "", run.Top())
			p.correct[k] = pred.Correct1
			if s.Options.Criterion == profileview.Top5 {
				p.correct[k] = pred.Correct5
			}
			p.maxProb[k], p.x[k] = lv.MaxProb, stopFeatures(lv, ref.NumClasses)
		}
	}
}

// stopFolds assigns each training image a fold of the learned rule,
// from a seeded permutation.
func (s *CommitteeSearch) stopFolds() []int {
	fold := make([]int, s.Images)
	for pos, i := range rand.New(rand.NewPCG(uint64(s.Options.Seed), 0x73746f70)).Perm(s.Images) { // stream: "stop"
		fold[i] = pos % s.Options.StopFolds
	}
	return fold
}

// fitOutOfFold gives every prefix that has a successor level its learned
// stop scores, each image's from a model fitted without its fold (once).
func (s *CommitteeSearch) fitOutOfFold() error {
	if s.fitted {
		return nil
	}
	s.fitted = true
	fold := s.stopFolds()
	for _, p := range s.prefixes {
		if len(p.models) >= s.Options.MaxLevels || len(p.models) >= len(s.Ladder) {
			continue
		}
		p.oof = make([]float64, s.Images)
		for f := range s.Options.StopFolds {
			var train, test []int
			for i := range s.Images {
				if fold[i] == f {
					test = append(test, i)
				} else {
					train = append(train, i)
				}
			}
			l, err := s.fitStop(p, train)
			if err != nil {
				return err
			}
			for _, i := range test {
				d, err := l.Predict(p.x[i])
				if err != nil {
					return fmt.Errorf("committee search: stop model: %w", err)
				}
				p.oof[i] = d.Scores[0]
			}
		}
	}
	return nil
}

// fitStop fits a prefix's stop model on the given images: learners' cnn
// (logistic regression) with one class, "right"; a wrong answer is None.
func (s *CommitteeSearch) fitStop(p *prefix, rows []int) (learners.Learner, error) {
	l, err := learners.New("cnn", learners.Params{L2: s.Options.StopL2})
	if err != nil {
		return nil, err
	}
	d := learners.Data{Classes: 1}
	for _, i := range rows {
		y := learners.None
		if p.correct[i] {
			y = 0
		}
		d.X, d.Y = append(d.X, p.x[i]), append(d.Y, y)
	}
	if err := l.Fit(d, s.Options.Seed); err != nil {
		return nil, fmt.Errorf("committee search: fit the stop model of %s: %w", s.orderNames(p), err)
	}
	return l, nil
}

func (s *CommitteeSearch) orderNames(p *prefix) string {
	names := make([]string, len(p.models))
	for i, m := range p.models {
		names[i] = s.Ladder[m]
	}
	return strings.Join(names, " > ")
}

// scores are a prefix's stop scores under a rule.
func (p *prefix) scores(stop string) []float64 {
	if stop == StopLearned {
		return p.oof
	}
	return p.maxProb
}

// grid is a level's candidate thresholds: the 0, 1/Q, ..., 1 quantiles
// (nearest rank) of its training scores, distinct, then never.
func (s *CommitteeSearch) grid(p *prefix, stop string) []float64 {
	v := slices.Clone(p.scores(stop))
	slices.Sort(v)
	var out []float64
	for k := 0; k <= s.Options.Quantiles; k++ {
		q := v[int(math.Round(float64(k)/float64(s.Options.Quantiles)*float64(len(v)-1)))]
		if len(out) == 0 || q != out[len(out)-1] {
			out = append(out, q)
		}
	}
	return append(out, never)
}

// chain is an order's prefixes, level by level.
func (s *CommitteeSearch) chain(order int) []*prefix {
	var out []*prefix
	for i := order; i >= 0; i = s.prefixes[i].parent {
		out = append(out, s.prefixes[i])
	}
	slices.Reverse(out)
	return out
}

// enumerate evaluates every setting of a rule once.
func (s *CommitteeSearch) enumerate(stop string) ([]setting, error) {
	if st, ok := s.settings[stop]; ok {
		return st, nil
	}
	switch stop {
	case StopThreshold:
	case StopLearned:
		if err := s.fitOutOfFold(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("committee search: stop rule %q, want %s or %s", stop, StopThreshold, StopLearned)
	}
	var out []setting
	for o := range s.prefixes {
		levels := s.chain(o)
		grids := make([][]float64, len(levels)-1)
		scores := make([][]float64, len(levels)-1)
		for l := range grids {
			grids[l], scores[l] = s.grid(levels[l], stop), levels[l].scores(stop)
		}
		pos := make([]int, len(grids))
		th := make([]float64, len(grids))
		for {
			for l, k := range pos {
				th[l] = grids[l][k]
			}
			hits, ms := 0, 0.0
			for i := range s.Images {
				l := 0
				for l < len(th) && scores[l][i] < th[l] {
					l++
				}
				if levels[l].correct[i] {
					hits++
				}
				ms += levels[l].costMS
			}
			out = append(out, setting{order: o, grid: slices.Clone(pos), hits: hits, ms: ms / float64(s.Images)})
			// The next grid position, odometer style.
			l := len(pos) - 1
			for l >= 0 {
				pos[l]++
				if pos[l] < len(grids[l]) {
					break
				}
				pos[l] = 0
				l--
			}
			if l < 0 {
				break
			}
		}
	}
	s.settings[stop] = out
	return out, nil
}

// Setting is a searched configuration with its training result.
type Setting struct {
	Levels     []string  `json:"levels"`
	Stop       string    `json:"stop"`
	Thresholds []float64 `json:"thresholds"`
	// Quantiles says which grid point each threshold is (the training
	// quantile of the level's scores; 2 means never).
	Quantiles []float64        `json:"threshold_quantiles"`
	Train     baselines.Result `json:"train"`
	Met       bool             `json:"met"`
}

// Count is the number of settings a rule's search evaluates (0 before it
// ran).
func (s *CommitteeSearch) Count(stop string) int { return len(s.settings[stop]) }

// Curve is every setting of a rule on the training accuracy/latency
// Pareto front (no other setting as accurate and faster, or more
// accurate and as fast), fastest first.
func (s *CommitteeSearch) Curve(stop string) ([]Setting, error) {
	all, err := s.enumerate(stop)
	if err != nil {
		return nil, err
	}
	idx := make([]int, len(all))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		x, y := all[idx[a]], all[idx[b]]
		if x.ms != y.ms {
			return x.ms < y.ms
		}
		return x.hits > y.hits
	})
	var out []Setting
	best := -1
	for _, i := range idx {
		if all[i].hits > best {
			best = all[i].hits
			out = append(out, s.describe(all[i], stop, baselines.Objective{}))
		}
	}
	return out, nil
}

// Choose returns the setting of a rule that the objective prefers on the
// training images (baselines.Objective.Better; when none meets it, the
// one nearest to it, Met false); ties go to the earlier in search order.
func (s *CommitteeSearch) Choose(stop string, obj baselines.Objective) (Setting, error) {
	if err := obj.Check(); err != nil {
		return Setting{}, err
	}
	all, err := s.enumerate(stop)
	if err != nil {
		return Setting{}, err
	}
	best := 0
	for i := 1; i < len(all); i++ {
		if obj.Better(s.brief(all[i]), s.brief(all[best])) {
			best = i
		}
	}
	return s.describe(all[best], stop, obj), nil
}

// brief is a setting's result as the objective compares it.
func (s *CommitteeSearch) brief(st setting) baselines.Result {
	return baselines.Result{Images: s.Images, Hits: st.hits, Accuracy: 100 * float64(st.hits) / float64(s.Images), MeanMS: st.ms}
}

// describe is a setting with names, thresholds and its full training
// result.
func (s *CommitteeSearch) describe(st setting, stop string, obj baselines.Objective) Setting {
	levels := s.chain(st.order)
	out := Setting{Stop: stop, Thresholds: []float64{}, Quantiles: []float64{}}
	for _, m := range levels[len(levels)-1].models {
		out.Levels = append(out.Levels, s.Ladder[m])
	}
	for l, k := range st.grid {
		g := s.grid(levels[l], stop)
		out.Thresholds = append(out.Thresholds, g[k])
		q := 2.0
		if k < len(g)-1 {
			q = s.quantileOf(levels[l], stop, g[k])
		}
		out.Quantiles = append(out.Quantiles, q)
	}
	out.Train = s.trainResult(st, levels, out.Thresholds, stop)
	if obj.BudgetMS > 0 || obj.TargetAcc > 0 {
		out.Met = obj.Meets(out.Train)
	}
	return out
}

// quantileOf is the grid quantile whose value v is (the first).
func (s *CommitteeSearch) quantileOf(p *prefix, stop string, v float64) float64 {
	sorted := slices.Clone(p.scores(stop))
	slices.Sort(sorted)
	for k := 0; k <= s.Options.Quantiles; k++ {
		if sorted[int(math.Round(float64(k)/float64(s.Options.Quantiles)*float64(len(sorted)-1)))] == v {
			return float64(k) / float64(s.Options.Quantiles)
		}
	}
	return math.NaN()
}

// trainResult is a setting's full result on the training images: share
// per answer and p95 latency besides accuracy and mean.
func (s *CommitteeSearch) trainResult(st setting, levels []*prefix, th []float64, stop string) baselines.Result {
	r := baselines.Result{Images: s.Images, Hits: st.hits, Accuracy: 100 * float64(st.hits) / float64(s.Images), MeanMS: st.ms,
		Share: map[string]float64{}}
	lat := make([]float64, s.Images)
	runs := 0
	for i := range s.Images {
		l := 0
		for l < len(th) && levels[l].scores(stop)[i] < th[l] {
			l++
		}
		lat[i] = levels[l].costMS
		runs += l + 1
		r.Share[s.answerName(levels[l])] += 100 / float64(s.Images)
	}
	r.P95MS = nearestRank(lat, 0.95)
	r.Runs = float64(runs) / float64(s.Images)
	return r
}

func (s *CommitteeSearch) answerName(p *prefix) string {
	names := make([]string, len(p.models))
	for i, m := range p.models {
		names[i] = s.Ladder[m]
	}
	return committee.CommitteeName(names)
}

// Router is a chosen setting as a router: the learned rule's stop models
// are fitted on every training image here (the setting's thresholds were
// chosen on their out-of-fold scores).
func (s *CommitteeSearch) Router(st Setting) (*CommitteeCascade, error) {
	c := &CommitteeCascade{Levels: slices.Clone(st.Levels), Stop: st.Stop, Thresholds: slices.Clone(st.Thresholds)}
	if c.Stop == StopLearned {
		var models []int
		all := make([]int, s.Images)
		for i := range all {
			all[i] = i
		}
		for _, name := range c.Levels[:len(c.Levels)-1] {
			j := slices.Index(s.Ladder, name)
			if j < 0 {
				return nil, fmt.Errorf("committee search: level %s is not a ladder model", name)
			}
			models = append(models, j)
			l, err := s.fitStop(s.prefixes[s.byKey[key(models)]], all)
			if err != nil {
				return nil, err
			}
			c.stops = append(c.stops, l)
		}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// result is the training result of answering with one prefix alone.
func (s *CommitteeSearch) result(correct []bool, ms float64) baselines.Result {
	hits := 0
	for _, c := range correct {
		if c {
			hits++
		}
	}
	return baselines.Result{Images: s.Images, Hits: hits, Accuracy: 100 * float64(hits) / float64(s.Images), MeanMS: ms, P95MS: ms, Runs: 1}
}

// BestSingle is the most accurate ladder model on the training images
// (ties: the cheaper, then the earlier).
func (s *CommitteeSearch) BestSingle() int {
	best := 0
	for j, r := range s.Singles {
		b := s.Singles[best]
		if r.Hits > b.Hits || (r.Hits == b.Hits && s.CostMS[j] < s.CostMS[best]) {
			best = j
		}
	}
	return best
}

// CommitteeTarget is what the committee cascade is trained for: exactly
// one of a latency budget, an accuracy, or a gain over the training set's
// most accurate single model (points); none means a budget of that
// model's latency.
type CommitteeTarget struct {
	BudgetMS  float64 `json:"budget_ms,omitempty"`
	TargetAcc float64 `json:"target_accuracy_pct,omitempty"`
	Gain      float64 `json:"gain_pp,omitempty"`
	HasGain   bool    `json:"has_gain,omitempty"`
}

// Objective turns the target into the search's objective.
func (s *CommitteeSearch) Objective(t CommitteeTarget) (baselines.Objective, error) {
	set := 0
	for _, b := range []bool{t.BudgetMS != 0, t.TargetAcc != 0, t.HasGain} {
		if b {
			set++
		}
	}
	if set > 1 || t.BudgetMS < 0 || t.TargetAcc < 0 {
		return baselines.Objective{}, errors.New("committee cascade: give at most one of a latency budget, a target accuracy and a target gain, the first two positive")
	}
	best := s.BestSingle()
	var obj baselines.Objective
	switch {
	case t.BudgetMS > 0:
		obj.BudgetMS = t.BudgetMS
	case t.TargetAcc > 0:
		obj.TargetAcc = t.TargetAcc
	case t.HasGain:
		obj.TargetAcc = s.Singles[best].Accuracy + t.Gain
		if obj.TargetAcc <= 0 || obj.TargetAcc > 100 {
			return obj, fmt.Errorf("committee cascade: target gain %+g points over %s (%.2f%%) gives %.2f%%: want an accuracy in (0, 100]",
				t.Gain, s.Ladder[best], s.Singles[best].Accuracy, obj.TargetAcc)
		}
	default:
		obj.BudgetMS = s.CostMS[best]
	}
	return obj, obj.Check()
}

// SearchInfo records the search a bundle's setting came from.
type SearchInfo struct {
	Ladder   []string               `json:"ladder"`
	CostMS   []float64              `json:"ladder_cost_ms"`
	Options  CommitteeSearchOptions `json:"options"`
	Orders   int                    `json:"orders"`
	Settings int                    `json:"settings"`
	Space    string                 `json:"space"`
	Seconds  float64                `json:"seconds,omitempty"`
}

// Info describes the search for a manifest.
func (s *CommitteeSearch) Info(stop string, took time.Duration) SearchInfo {
	return SearchInfo{Ladder: s.Ladder, CostMS: s.CostMS, Options: s.Options, Orders: len(s.prefixes), Settings: s.Count(stop),
		Space: fmt.Sprintf("every order of 1 to %d distinct models of the ladder (%d orders); per level but the last, a threshold at one of the "+
			"0, 1/%d, ..., 1 training quantiles of its stop score (distinct values) or never; the learned rule's scores out of %d folds (seed %d)",
			s.Options.MaxLevels, len(s.prefixes), s.Options.Quantiles, s.Options.StopFolds, s.Options.Seed),
		Seconds: took.Seconds()}
}

// committeeSettings are a committee bundle's own manifest fields.
type committeeSettings struct {
	Learner   string         `json:"learner"`
	Committee *CommitteeInfo `json:"committee"`
}

// CommitteeInfo is the manifest entry of a committee bundle.
type CommitteeInfo struct {
	Levels    []string            `json:"levels"`
	Stop      string              `json:"stop"`
	StopFile  string              `json:"stop_file"`
	Objective baselines.Objective `json:"objective"`
	Target    CommitteeTarget     `json:"target"`
	Chosen    Setting             `json:"chosen"`
	Search    SearchInfo          `json:"search"`
	// Vectors name the training images' probability vectors the search
	// read: each ladder model's cache key (committee.Probs.Key).
	Vectors map[string]string `json:"vectors,omitempty"`
}

// stopRecord is the bundle's stop.json: the levels it was fitted for, the
// thresholds and, for the learned rule, its models' files.
type stopRecord struct {
	Levels     []string  `json:"levels"`
	Stop       string    `json:"stop"`
	Thresholds []float64 `json:"thresholds"`
	Features   []string  `json:"features,omitempty"`
	Models     []string  `json:"models,omitempty"`
}

func stopModelFile(l int) string { return fmt.Sprintf("stop/level_%d.bin", l) }

// trainCommittee searches level orders and thresholds on the training
// store's images for the target: statistics from the cached vectors
// (TrainOptions.Vectors), latencies from the store's costs.
func trainCommittee(ctx context.Context, o TrainOptions) (*Trained, error) {
	stop := o.Stop
	if stop == "" {
		stop = StopThreshold
	}
	v, err := profileview.Load(ctx, o.Store, profileview.Options{Criterion: o.Criterion, Datasets: o.Datasets, Threads: o.Threads})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	start := time.Now()
	s, err := SearchOnView(v, o.Vectors, o.Candidates, CommitteeSearchOptions{Criterion: o.Criterion, Seed: o.Seed})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	target := CommitteeTarget{BudgetMS: o.Objective.BudgetMS, TargetAcc: o.Objective.TargetAcc}
	if o.TargetGain != nil {
		target.Gain, target.HasGain = *o.TargetGain, true
	}
	obj, err := s.Objective(target)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	st, err := s.Choose(stop, obj)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	c, err := s.Router(st)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	keys := map[string]string{}
	for _, p := range o.Vectors {
		if slices.Contains(s.Ladder, p.Model) {
			keys[p.Model] = p.Key
		}
	}
	t, err := FromCommittee(c, v, CommitteeInfo{Objective: obj, Target: target, Chosen: st, Search: s.Info(stop, time.Since(start)), Vectors: keys})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	met := "met"
	if !st.Met {
		met = "not met on the training set: the nearest setting"
	}
	best := s.BestSingle()
	t.Summary = []string{
		fmt.Sprintf("searched %d settings (%s stop rule) of a committee cascade on %d images of %s (%s, latency at %d thread(s)) in %.1f s",
			s.Count(stop), stop, s.Images, s.Dataset, o.Criterion, v.CostFrom.Threads, time.Since(start).Seconds()),
		fmt.Sprintf("levels %s, thresholds %v", strings.Join(c.Levels, " > "), c.Thresholds),
		fmt.Sprintf("objective %s (%s): training accuracy %.2f%%, mean %.3f ms; most accurate single model %s: %.2f%%, %.3f ms",
			obj, met, st.Train.Accuracy, st.Train.MeanMS, s.Ladder[best], s.Singles[best].Accuracy, s.CostMS[best]),
	}
	return t, nil
}

// SearchOnView builds the search over a training view: the ladder is
// candidates (default: every model of the view that vectors covers, in
// view order), costs the view's, images the view's, whose vectors must be
// of the files the store profiled.
func SearchOnView(v *profileview.View, vectors []*committee.Probs, candidates []string, o CommitteeSearchOptions) (*CommitteeSearch, error) {
	if len(v.Datasets) != 1 {
		return nil, fmt.Errorf("the committee cascade trains on one data set, the view holds %v: pass -dataset", v.Datasets)
	}
	if len(vectors) == 0 {
		return nil, errors.New("no probability vectors of the training images (modelpick train computes them for -learner committee)")
	}
	by := map[string]*committee.Probs{}
	for _, p := range vectors {
		by[p.Model] = p
	}
	ladder := candidates
	if len(ladder) == 0 {
		for _, m := range v.Models {
			if by[m] != nil {
				ladder = append(ladder, m)
			}
		}
	}
	var vecs []*committee.Probs
	var cost []float64
	for _, m := range ladder {
		j, err := v.Column(m)
		if err != nil {
			return nil, err
		}
		p := by[m]
		switch {
		case p == nil:
			return nil, fmt.Errorf("no probability vectors of %s on the training images: compute them (modelpick train does, from the model spec)", m)
		case p.Dataset != v.Datasets[0]:
			return nil, fmt.Errorf("the vectors of %s are of data set %s, the training images of %s", m, p.Dataset, v.Datasets[0])
		case p.Inputs["files_sha256"] != v.FilesSHA256[j]:
			return nil, fmt.Errorf("the vectors of %s were computed with files %.12s, store %s profiled %.12s: compute them with the profiled files",
				m, p.Inputs["files_sha256"], v.Store, v.FilesSHA256[j])
		}
		vecs, cost = append(vecs, p), append(cost, v.Cost[j])
	}
	rows, err := VectorRows(vecs[0], v.Items)
	if err != nil {
		return nil, err
	}
	return NewCommitteeSearch(vecs, rows, cost, o)
}

// VectorRows maps each view item to its row of the vectors, checking the
// label.
func VectorRows(p *committee.Probs, items []profileview.Item) ([]int, error) {
	at := map[string]int{}
	for i, f := range p.Files {
		at[f] = i
	}
	rows := make([]int, len(items))
	for i, it := range items {
		r, ok := at[it.File]
		switch {
		case !ok || it.Dataset != p.Dataset:
			return nil, fmt.Errorf("image %s/%s of the store has no probability vector (vectors of %s cover %d images): compute them on the store's images",
				it.Dataset, it.File, p.Dataset, len(p.Files))
		case p.Labels[r] != it.Label:
			return nil, fmt.Errorf("image %s: label %d in the store, %d in the vectors' data set", it.File, it.Label, p.Labels[r])
		}
		rows[i] = r
	}
	return rows, nil
}

// FromCommittee is a committee cascade trained on v, ready for Write.
func FromCommittee(c *CommitteeCascade, v *profileview.View, info CommitteeInfo) (*Trained, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	rec := stopRecord{Levels: c.Levels, Stop: c.Stop, Thresholds: c.Thresholds}
	files := map[string][]byte{}
	if c.Stop == StopLearned {
		rec.Features = StopFeatureNames
		for l, m := range c.stops {
			b, err := m.MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("stop model of level %d: %w", l, err)
			}
			files[stopModelFile(l)] = b
			rec.Models = append(rec.Models, stopModelFile(l))
		}
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	files[stopFile] = append(b, '\n')
	info.Levels, info.Stop, info.StopFile = c.Levels, c.Stop, stopFile
	return &Trained{Router: c, Profile: v, Files: files,
		Manifest: bundle.Manifest{Router: KindCommittee, Criterion: v.Criterion, CandidatesFrom: "committee cascade search",
			Candidates: slices.Clone(c.Levels), Fallback: "none", Training: bundle.TrainingOf(v, len(v.Items))},
		Settings: committeeSettings{Learner: KindCommittee, Committee: &info}}, nil
}

// loadCommittee restores a committee cascade from its manifest and
// stop.json, refusing a stop file that does not fit the levels.
func loadCommittee(b *bundle.Bundle) (route.Router, error) {
	bad := func(format string, a ...any) error { return fmt.Errorf(format+": %w", append(a, bundle.ErrBundle)...) }
	var s committeeSettings
	if err := b.Settings(&s); err != nil {
		return nil, err
	}
	if s.Committee == nil {
		return nil, bad("router %q but no \"committee\" entry in %s: retrain the bundle", b.Manifest.Router, bundle.ManifestFile)
	}
	data, err := b.File(s.Committee.StopFile)
	if err != nil {
		return nil, err
	}
	var rec stopRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, bad("%s: %v", s.Committee.StopFile, err)
	}
	switch {
	case !slices.Equal(rec.Levels, s.Committee.Levels):
		return nil, bad("%s was fitted for levels %v, the manifest's levels are %v: retrain the bundle (modelpick train -learner committee)",
			s.Committee.StopFile, rec.Levels, s.Committee.Levels)
	case len(rec.Thresholds) != len(rec.Levels)-1:
		return nil, bad("%s has %d thresholds for %d levels (one per level but the last, %d): retrain the bundle (modelpick train -learner committee)",
			s.Committee.StopFile, len(rec.Thresholds), len(rec.Levels), len(rec.Levels)-1)
	case rec.Stop != s.Committee.Stop:
		return nil, bad("%s holds the %q stop rule, the manifest says %q: retrain the bundle", s.Committee.StopFile, rec.Stop, s.Committee.Stop)
	}
	c := &CommitteeCascade{Levels: rec.Levels, Stop: rec.Stop, Thresholds: rec.Thresholds}
	if rec.Stop == StopLearned {
		if !slices.Equal(rec.Features, StopFeatureNames) {
			return nil, bad("%s: stop models read %v, this build computes %v: retrain the bundle", s.Committee.StopFile, rec.Features, StopFeatureNames)
		}
		if len(rec.Models) != len(rec.Levels)-1 {
			return nil, bad("%s lists %d stop models for %d levels (want %d): retrain the bundle", s.Committee.StopFile, len(rec.Models), len(rec.Levels), len(rec.Levels)-1)
		}
		for _, f := range rec.Models {
			mb, err := b.File(f)
			if err != nil {
				return nil, err
			}
			l, err := learners.Load(mb)
			if err != nil {
				return nil, bad("%s: %v", f, err)
			}
			c.stops = append(c.stops, l)
		}
	}
	if err := c.check(); err != nil {
		return nil, bad("%v", err)
	}
	return c, nil
}

// VectorInput is image row of cached probability vectors as a router
// sees it: Run returns a model's class scores (after its label offset), as
// the classifier does. It has no features or embedding.
func VectorInput(vectors []*committee.Probs, row int) route.Input {
	by := map[string]*committee.Probs{}
	for _, p := range vectors {
		by[p.Model] = p
	}
	return vectorInput{by: by, row: row}
}

type vectorInput struct {
	by  map[string]*committee.Probs
	row int
}

func (in vectorInput) Features([]string) ([]float64, error) {
	return nil, errors.New("offline routing from probability vectors has no image features")
}

func (in vectorInput) Embedding(string) ([]float64, error) {
	return nil, errors.New("offline routing from probability vectors has no embedding")
}

func (in vectorInput) Run(model string) (route.Output, error) {
	p := in.by[model]
	if p == nil {
		return route.Output{}, fmt.Errorf("no probability vectors of %s", model)
	}
	if p.Errors[in.row] != "" {
		return route.Output{}, fmt.Errorf("%s on %s: %s", model, p.Files[in.row], p.Errors[in.row])
	}
	row := p.Row(in.row)
	return route.Output{Model: model, Scores: row[p.LabelOffset : p.LabelOffset+p.NumClasses]}, nil
}

// Outcome is a router's decision on one image, routed offline from the
// cached vectors: what ran, what answered and whether it was right.
type Outcome struct {
	Ran      []string `json:"ran"`
	Answer   string   `json:"answer"` // a model, or a committee of the models run
	Level    int      `json:"level"`  // the decision's Class
	Top1     int      `json:"top1"`
	Correct1 bool     `json:"correct1"`
	Correct5 bool     `json:"correct5"`
	// ModelMS is the cost of every model run, from the costs given;
	// DecisionMS the router's own time on this machine (Route over
	// outputs already computed, mean of the repeats).
	ModelMS    float64 `json:"model_ms"`
	DecisionMS float64 `json:"decision_ms"`
}

// RouteVectors routes image rows of the vectors with r, a router that
// reads only model outputs, exactly as the classifier would on the same
// outputs, and times each decision repeats times (0: not timed).
// costMS gives each model's latency.
func RouteVectors(r route.Router, vectors []*committee.Probs, rows []int, costMS map[string]float64, repeats int) ([]Outcome, error) {
	if needs := r.Needs(); len(needs.Features) > 0 || needs.Backbone != "" {
		return nil, errors.New("offline routing from probability vectors: the router reads features or an embedding")
	}
	by := map[string]*committee.Probs{}
	for _, p := range vectors {
		by[p.Model] = p
	}
	for _, m := range r.Models() {
		if by[m] == nil {
			return nil, fmt.Errorf("offline routing: no probability vectors of %s", m)
		}
		if _, ok := costMS[m]; !ok {
			return nil, fmt.Errorf("offline routing: no cost of %s", m)
		}
	}
	ref := by[r.Models()[0]]
	out := make([]Outcome, len(rows))
	for k, row := range rows {
		in := vectorInput{by: by, row: row}
		d, err := r.Route(in)
		if err != nil {
			return nil, fmt.Errorf("offline routing of %s: %w", ref.Files[row], err)
		}
		if repeats > 0 {
			t := time.Now()
			for range repeats {
				_, _ = r.Route(in)
			}
			out[k].DecisionMS = float64(time.Since(t)) / float64(time.Millisecond) / float64(repeats)
		}
		scores := d.Answer
		if scores == nil {
			o, err := in.Run(d.Model)
			if err != nil {
				return nil, err
			}
			scores = o.Scores
		}
		ran := d.Ran
		if len(ran) == 0 {
			ran = []string{d.Model}
		}
		top := inference.Top(scores, profile.TopK, 0, len(scores))
		pred := profile.Prediction(ref.Dataset, datasets.Item{File: ref.Files[row], Label: ref.Labels[row]}, "", top)
		o := &out[k]
		o.Ran, o.Answer, o.Level, o.Correct1, o.Correct5 = slices.Clone(ran), d.Model, d.Class, pred.Correct1, pred.Correct5
		o.Top1 = -1
		if len(top.Index) > 0 {
			o.Top1 = top.Index[0]
		}
		for _, m := range ran {
			o.ModelMS += costMS[m]
		}
	}
	return out, nil
}

// CommitteeReport is a committee bundle's evaluation on a test store, in
// the shape of the premodel's (premodel.Report): the bundle's row first
// (kind premodel), then every single model of the test store, any
// committee it profiled (kind baseline), then the oracle. Routing comes from the test images' cached vectors, accuracy
// and latency of the single models from the test store.
type CommitteeReport struct {
	Bundle      string                `json:"bundle"`
	Router      string                `json:"router"`
	Criterion   profileview.Criterion `json:"criterion"`
	TestStore   string                `json:"test_store"`
	Datasets    []string              `json:"datasets"`
	Images      int                   `json:"images"`
	Excluded    map[string]int        `json:"excluded"`
	Levels      []string              `json:"levels"`
	Stop        string                `json:"stop"`
	Thresholds  []float64             `json:"thresholds"`
	CostThreads int                   `json:"cost_threads"`
	Methods     []premodel.Method     `json:"methods"`
	BestSingle  string                `json:"best_single"`
	// StopShare is the percentage of images stopping at each level.
	StopShare []float64 `json:"stop_share_pct"`
	Overhead  struct {
		DecisionMeanMS float64 `json:"decision_mean_ms"`
		DecisionP95MS  float64 `json:"decision_p95_ms"`
	} `json:"overhead"`
	// VectorAgreement counts, per level model, the test images where the
	// store's top-1 correctness equals the vectors' (both from the same
	// model files and images: a check).
	VectorAgreement map[string]string `json:"vector_agreement"`
	Notes           []string          `json:"notes"`
	Records         []CommitteeRecord `json:"records"`
}

// CommitteeRecord is the decision on one test image.
type CommitteeRecord struct {
	Dataset string `json:"dataset"`
	File    string `json:"file"`
	Outcome
}

func evaluateCommittee(ctx context.Context, l *Loaded, o EvalOptions) (Evaluation, error) {
	c, ok := l.Router.(*CommitteeCascade)
	if !ok {
		return Evaluation{}, fmt.Errorf("evaluate: the %s bundle holds no committee cascade", l.Manifest.Router)
	}
	test, err := profileview.Load(ctx, o.Store, profileview.Options{Criterion: l.Manifest.Criterion, Datasets: o.Datasets, Threads: o.Threads})
	if err != nil {
		return Evaluation{}, fmt.Errorf("evaluate: %w", err)
	}
	if err := checkProfiled(l, test); err != nil {
		return Evaluation{}, err
	}
	for _, mi := range l.Manifest.Models {
		for _, p := range o.Vectors {
			if p.Model == mi.Name && p.Inputs["files_sha256"] != mi.FilesSHA256 {
				return Evaluation{}, fmt.Errorf("evaluate: the test vectors of %s were computed with files %.12s, the bundle holds %.12s: compute them with the bundle's models",
					mi.Name, p.Inputs["files_sha256"], mi.FilesSHA256)
			}
		}
	}
	rep, err := EvaluateCommittee(c, test, o.Vectors, max(o.Repeats, 1))
	if err != nil {
		return Evaluation{}, err
	}
	rep.Bundle = l.Dir
	return Evaluation{Report: rep, Markdown: rep.Markdown()}, nil
}

// EvaluateCommittee routes every test image offline from its cached
// vectors (RouteVectors) and reports it beside every single model of the
// test store and the oracle. A routed image's latency is the sum of the
// test store's costs of the models it ran plus the decision's time
// measured here.
func EvaluateCommittee(c *CommitteeCascade, test *profileview.View, vectors []*committee.Probs, repeats int) (CommitteeReport, error) {
	rep := CommitteeReport{Router: KindCommittee, Criterion: test.Criterion, TestStore: test.Store, Datasets: test.Datasets,
		Images: len(test.Items), Excluded: test.Excluded, Levels: c.Levels, Stop: c.Stop, Thresholds: c.Thresholds,
		CostThreads: test.CostFrom.Threads, StopShare: make([]float64, len(c.Levels)), VectorAgreement: map[string]string{}}
	if len(test.Datasets) != 1 {
		return rep, fmt.Errorf("evaluate: a committee cascade is evaluated on one data set, the test store holds %v: pass -dataset", test.Datasets)
	}
	cost := map[string]float64{}
	cols := map[string]int{}
	for _, m := range c.Levels {
		j, err := test.Column(m)
		if err != nil {
			return rep, fmt.Errorf("evaluate: %w: profile the levels' models on the test images", err)
		}
		cost[m], cols[m] = test.Cost[j], j
	}
	var vecs []*committee.Probs
	for _, m := range c.Levels {
		i := slices.IndexFunc(vectors, func(p *committee.Probs) bool { return p.Model == m })
		if i < 0 {
			return rep, fmt.Errorf("evaluate: no probability vectors of %s on the test images (modelpick evaluate computes them for a committee bundle)", m)
		}
		if vectors[i].Dataset != test.Datasets[0] {
			return rep, fmt.Errorf("evaluate: the vectors of %s are of data set %s, the test store's of %s", m, vectors[i].Dataset, test.Datasets[0])
		}
		vecs = append(vecs, vectors[i])
	}
	rows, err := VectorRows(vecs[0], test.Items)
	if err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	outs, err := RouteVectors(c, vecs, rows, cost, repeats)
	if err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	for _, m := range c.Levels {
		single, err := RouteVectors(route.Fixed{Model: m}, vecs, rows, cost, 0)
		if err != nil {
			return rep, fmt.Errorf("evaluate: %w", err)
		}
		same := 0
		for i, o := range single {
			if o.Correct1 == test.Correct1[i][cols[m]] {
				same++
			}
		}
		rep.VectorAgreement[m] = fmt.Sprintf("%d/%d", same, len(rows))
	}
	n := float64(len(outs))
	row := premodel.Method{Name: method.Name("committee cascade (" + c.Stop + ")"), Kind: method.Premodel, Share: map[string]float64{}}
	lat, dec := make([]float64, len(outs)), make([]float64, len(outs))
	for i, o := range outs {
		if o.Correct1 {
			row.Top1 += 100 / n
		}
		if o.Correct5 {
			row.Top5 += 100 / n
		}
		lat[i], dec[i] = o.ModelMS+o.DecisionMS, o.DecisionMS
		row.ModelMS += o.ModelMS / n
		row.OverheadMS += o.DecisionMS / n
		row.Share[o.Answer] += 100 / n
		rep.StopShare[o.Level] += 100 / n
		rep.Records = append(rep.Records, CommitteeRecord{Dataset: test.Items[i].Dataset, File: test.Items[i].File, Outcome: o})
	}
	row.MeanMS, row.P95MS = meanOf(lat), nearestRank(lat, 0.95)
	rep.Overhead.DecisionMeanMS, rep.Overhead.DecisionP95MS = meanOf(dec), nearestRank(dec, 0.95)
	rep.Methods = append(rep.Methods, row)
	best := -1.0
	var committees []premodel.Method
	for j, m := range test.Models {
		idx := make([]int, len(test.Items))
		for i := range idx {
			idx[i] = j
		}
		if IsCommitteeSpec(test.SpecJSON[j]) {
			committees = append(committees, premodel.ChoiceMethod(method.Name(m), method.Baseline, test, idx))
			continue
		}
		sm := premodel.ChoiceMethod(method.Name(m), method.Single, test, idx)
		if sm.Top1 > best {
			best, rep.BestSingle = sm.Top1, m
		}
		rep.Methods = append(rep.Methods, sm)
	}
	rep.Methods = append(rep.Methods, committees...)
	oracle, err := test.Oracle(nil)
	if err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	rep.Methods = append(rep.Methods, premodel.ChoiceMethod(method.OracleAll, method.Oracle, test, oracle))
	top := rep.Methods[len(rep.Methods)-1].Top1
	if test.Criterion == profileview.Top5 {
		top = rep.Methods[len(rep.Methods)-1].Top5
	}
	for i := range rep.Methods {
		if top > 0 {
			rep.Methods[i].OfOracle = 100 * rep.Methods[i].Top1 / top
		}
	}
	rep.Notes = []string{
		"committee cascade: routed offline from the test images' cached probability vectors, through the router's own Route (as the classifier runs it)",
		fmt.Sprintf("latency: the sum of the test store's mean latencies (%d thread(s)) of the models an image ran, plus the router's decision time "+
			"over outputs already computed, timed here (mean of %d repeats); single models: their mean latency", test.CostFrom.Threads, repeats),
		"oracle: the cheapest model that is correct under the criterion; an image no model gets right goes to the cheapest model",
	}
	return rep, nil
}

// IsCommitteeSpec says whether a model's spec, as a store registers it,
// is a committee's.
func IsCommitteeSpec(specJSON string) bool {
	var spec struct {
		Members []string `json:"members"`
	}
	return json.Unmarshal([]byte(specJSON), &spec) == nil && spec.Members != nil
}

func meanOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// nearestRank is the q-quantile of v by nearest rank.
func nearestRank(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[max(0, int(math.Ceil(q*float64(len(s))))-1)]
}

// Markdown renders the report as a short table.
func (r CommitteeReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "committee cascade %s (%s stop rule, thresholds %v) on %d images of %s, %s\n\n",
		strings.Join(r.Levels, " > "), r.Stop, r.Thresholds, r.Images, strings.Join(r.Datasets, ", "), r.Criterion)
	b.WriteString("| method | top-1 % | top-5 % | mean ms | p95 ms | overhead ms | % of oracle top-1 |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range r.Methods {
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.3f | %.3f | %.4f | %.1f |\n", m.Name, m.Top1, m.Top5, m.MeanMS, m.P95MS, m.OverheadMS, m.OfOracle)
	}
	shares := make([]string, len(r.StopShare))
	for l, s := range r.StopShare {
		shares[l] = fmt.Sprintf("level %d %.1f%%", l, s)
	}
	fmt.Fprintf(&b, "\nStops: %s; decision %.4f ms (p95 %.4f); best single model %s; vectors agree with the store (top-1 correctness): %v.\n",
		strings.Join(shares, ", "), r.Overhead.DecisionMeanMS, r.Overhead.DecisionP95MS, r.BestSingle, r.VectorAgreement)
	return b.String()
}
