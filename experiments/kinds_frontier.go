package experiments

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/bootstrap"
	"github.com/modelpick/modelpick/committee"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/buildinfo"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/onnxconv"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/report"
	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/routers"
	"github.com/modelpick/modelpick/store"
)

// FrontierParams are the frontier experiment's (beyond the paper): two
// image sets, each the training set of the other; models, the spec of the
// single models and committees (profiled and costed in one run); ladder,
// the single models' own spec (the paper's premodel selects its features
// there, as Fig 8 does); the budgets the routers are trained for, as
// multiples of the training set's most accurate single model's latency;
// and the bootstrap's resamples (bootstrap; resamples is feature
// selection's, as in Fig 8).
type FrontierParams struct {
	CurveParams `yaml:",inline"`
	Ladder      string    `yaml:"ladder" spec:"required"`
	Budgets     []float64 `yaml:"budgets" spec:"required"`
}

// The goals of issue 11, at these budgets: (a) top-1 at least the
// reference's + 1.5 points at 1x its latency; (b) at least the
// reference's at 0.6x.
const (
	goalABudget = 1.0
	goalBBudget = 0.6
)

func (p *FrontierParams) validate(c checker) error {
	if len(p.Images) != 2 {
		return c.errAt("images", "%d image sets, want 2 (each is trained on and tested on the other)", len(p.Images))
	}
	if err := each(c, "budgets", p.Budgets, func(f string, b float64) error {
		if !(b > 0) {
			return c.errAt(f, "%v, want > 0 (a multiple of the training set's most accurate single model's latency)", b)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, g := range []float64{goalABudget, goalBBudget} {
		if !slices.Contains(p.Budgets, g) {
			return c.errAt("budgets", "%v lacks %g, a goal's budget", p.Budgets, g)
		}
	}
	if _, err := inference.ParseSpecFile(c.s.Resolve(p.Ladder)); err != nil {
		return c.errAt("ladder", "%v", err)
	}
	return p.CurveParams.validateCurve(c)
}

// frontierIn is one train/test direction of the frontier stage.
type frontierIn struct {
	// Store is the joined store of the models spec (singles and
	// committees, one cost run) on both sets, with features.
	Store     pipeline.File  `json:"store"`
	Train     stages.DataSet `json:"train"`
	Test      stages.DataSet `json:"test"`
	Singles   []stages.Model `json:"singles"`
	Runtime   stages.Runtime `json:"runtime"`
	Criterion string         `json:"criterion"`
	// The paper's premodel: the features kept on the training set (Fig
	// 8's selection) and its extraction time per image measured here.
	Kept      []string  `json:"kept"`
	ConfigKey string    `json:"config_key"`
	Learner   string    `json:"learner"`
	K         int       `json:"k"`
	Theta     float64   `json:"theta"`
	Seed      int64     `json:"seed"`
	FeatureMS float64   `json:"feature_ms"`
	Budgets   []float64 `json:"budgets"`
	Resamples int       `json:"resamples"`
	// Search is the committee cascade's search (routers defaults).
	Search   routers.CommitteeSearchOptions `json:"search"`
	Platform string                         `json:"platform"`
	// VectorCache is where the probability vectors are cached (not part
	// of the key: their own key covers what they depend on).
	VectorCache string `json:"-"`
}

// frontierOut is a direction's rows and measures; Timed are the measures
// that include the routers' measured time.
type frontierOut struct {
	Rows     []report.FrontierRow `json:"rows"`
	Measures map[string]any       `json:"measures"`
	Timed    map[string]any       `json:"timed"`
	Search   map[string]any       `json:"search"`
}

// frontierStage computes one direction: everything chosen or trained on
// Train's images, scored on Test's.
func frontierStage() pipeline.Stage[frontierIn, frontierOut] {
	return pipeline.Stage[frontierIn, frontierOut]{
		Name: "frontier", Version: "1",
		Code: []string{"go " + buildinfo.Go(), "onnxconv " + onnxconv.Version, "opencv " + buildinfo.OpenCV()},
		// Measured here: the routers' and the premodel's own time.
		Volatile: []string{"rows[*].mean_ms", "rows[*].overhead_ms", "rows[*].latency_ratio", "rows[*].latency_ratio_lo",
			"rows[*].latency_ratio_hi", "timed"},
		Run: func(ctx context.Context, w *pipeline.Work, in frontierIn) (frontierOut, error) {
			return runFrontierDirection(ctx, in)
		},
	}
}

// method is one compared method's per-image outcome on the test images.
type frontierMethod struct {
	row     report.FrontierRow
	correct []bool
	// modelMS is the mean cost of the models run (no measured time).
	modelMS float64
}

func runFrontierDirection(ctx context.Context, in frontierIn) (frontierOut, error) {
	out := frontierOut{Measures: map[string]any{}, Timed: map[string]any{}, Search: map[string]any{}}
	st, err := store.Open(in.Store.Path)
	if err != nil {
		return out, err
	}
	defer st.Close()
	crit := profileview.Criterion(in.Criterion)
	var singles []string
	for _, m := range in.Singles {
		singles = append(singles, m.Spec.Name)
	}
	// The test images are the premodel's (features and every profile).
	table := func(d string) (*profileview.Table, error) {
		return profileview.LoadTable(ctx, st, profileview.Options{Criterion: crit, Datasets: []string{d}, Models: singles}, in.ConfigKey, in.Kept)
	}
	trainT, err := table(in.Train.Name)
	if err != nil {
		return out, err
	}
	testT, err := table(in.Test.Name)
	if err != nil {
		return out, err
	}
	all, err := profileview.Load(ctx, st, profileview.Options{Criterion: crit, Datasets: []string{in.Test.Name}})
	if err != nil {
		return out, err
	}
	train, test := trainT.View, testT.View
	n := len(test.Items)
	allRow := map[string]int{}
	for i, it := range all.Items {
		allRow[it.File] = i
	}
	for _, it := range test.Items {
		if _, ok := allRow[it.File]; !ok {
			return out, fmt.Errorf("frontier: test image %s lacks a model's profile", it.File)
		}
	}
	vectors := func(d stages.DataSet) ([]*committee.Probs, error) {
		set, err := d.Load()
		if err != nil {
			return nil, err
		}
		specs := make([]inference.Spec, len(in.Singles))
		for i, m := range in.Singles {
			specs[i] = m.Spec
		}
		load := inference.Options{Threads: in.Runtime.Threads, Provider: in.Runtime.Provider, ORTLibrary: in.Runtime.Library.Path, CacheDir: in.Runtime.ImportCache}
		return committee.ComputeProbs(ctx, specs, set, committee.ProbsOptions{Load: load, CacheDir: in.VectorCache, Limit: d.Limit})
	}
	trainVecs, err := vectors(in.Train)
	if err != nil {
		return out, err
	}
	testVecs, err := vectors(in.Test)
	if err != nil {
		return out, err
	}

	// The reference: the test set's most accurate single model (ties: the
	// cheaper), on the same images and from the same cost run.
	cost := map[string]float64{}
	for j, m := range test.Models {
		cost[m] = test.Cost[j]
	}
	correct := test.Correct()
	ref := 0
	hits := func(j int) int {
		h := 0
		for i := range n {
			if correct[i][j] {
				h++
			}
		}
		return h
	}
	for j := range test.Models {
		if hits(j) > hits(ref) || (hits(j) == hits(ref) && test.Cheaper(j, ref)) {
			ref = j
		}
	}
	refName, refMS := test.Models[ref], test.Cost[ref]
	refCorrect := make([]bool, n)
	for i := range n {
		refCorrect[i] = correct[i][ref]
	}
	dir := in.Train.Name + "_to_" + in.Test.Name
	var methods []frontierMethod
	// add scores a method: c is each test image's correctness, model the
	// cost of the models it ran and over its own measured time (nil:
	// none).
	add := func(r report.FrontierRow, c []bool, model, over []float64) error {
		r.Train, r.Test, r.Reference = in.Train.Name, in.Test.Name, refName
		top := 0
		for _, ok := range c {
			if ok {
				top++
			}
		}
		r.Top1Pct = 100 * float64(top) / float64(n)
		g, err := bootstrap.PairedDiff(c, refCorrect, in.Resamples, uint64(in.Seed), 0.95)
		if err != nil {
			return err
		}
		r.GainPP, r.GainLoPP, r.GainHiPP = 100*g.Estimate, 100*g.Low, 100*g.High
		ratio, modelMS := make([]float64, n), 0.0
		for i, v := range model {
			modelMS += v / float64(n)
			if over != nil {
				r.OverheadMS += over[i] / float64(n)
				v += over[i]
			}
			ratio[i] = v / refMS
		}
		lr, err := bootstrap.Mean(ratio, in.Resamples, uint64(in.Seed), 0.95)
		if err != nil {
			return err
		}
		r.MeanMS, r.Ratio, r.RatioLo, r.RatioHi = lr.Estimate*refMS, lr.Estimate, lr.Low, lr.High
		methods = append(methods, frontierMethod{row: r, correct: c, modelMS: modelMS})
		return nil
	}
	fixed := func(group string, v *profileview.View, row func(i int) int, j int) error {
		c, ms := make([]bool, n), make([]float64, n)
		for i := range n {
			c[i], ms[i] = v.Correct()[row(i)][j], v.Cost[j]
		}
		return add(report.FrontierRow{Group: group, Method: v.Models[j]}, c, ms, nil)
	}
	same := func(i int) int { return i }
	fromAll := func(i int) int { return allRow[test.Items[i].File] }
	for j := range test.Models {
		if err := fixed("single", test, same, j); err != nil {
			return out, err
		}
	}
	for j, m := range all.Models {
		if routers.IsCommitteeSpec(all.SpecJSON[j]) {
			if err := fixed("committee", all, fromAll, j); err != nil {
				return out, fmt.Errorf("committee %s: %w", m, err)
			}
		}
	}
	oracle, err := test.Oracle(nil)
	if err != nil {
		return out, err
	}
	if err := choices("oracle", "oracle (single models)", test, oracle, nil, add); err != nil {
		return out, err
	}

	// The paper's premodel, trained on the training set.
	pm, err := premodel.Train(trainT, premodel.Options{Learner: in.Learner, Params: learners.Params{K: in.K}, Theta: in.Theta, Seed: in.Seed})
	if err != nil {
		return out, fmt.Errorf("frontier premodel: %w", err)
	}
	pr, err := premodel.Evaluate(ctx, pm, testT, premodel.EvalOptions{})
	if err != nil {
		return out, fmt.Errorf("frontier premodel: %w", err)
	}
	over := make([]float64, n)
	for i := range over {
		over[i] = in.FeatureMS + pr.Overhead.DecisionMeanMS
	}
	if err := choices("premodel", string(pr.Methods[0].Name)+" over "+strings.Join(pm.Candidates, " > "), test, pr.Methods[0].Choice, over, add); err != nil {
		return out, err
	}

	// The routers, one per budget: chosen on the training images only.
	trainCost := train.Cost
	s, err := routers.SearchOnView(train, trainVecs, singles, in.Search)
	if err != nil {
		return out, err
	}
	best := s.BestSingle()
	trainRefMS := trainCost[slices.Index(train.Models, s.Ladder[best])]
	testRows, err := routers.VectorRows(testVecs[0], test.Items)
	if err != nil {
		return out, err
	}
	cands, err := train.SelectModels(in.Theta)
	if err != nil {
		return out, err
	}
	levels := baselines.ByCost(train, cands.Chosen)
	goal := map[float64]map[string]frontierMethod{}
	for _, b := range in.Budgets {
		obj := baselines.Objective{BudgetMS: b * trainRefMS}
		goal[b] = map[string]frontierMethod{}
		for _, stop := range []string{routers.StopThreshold, routers.StopLearned} {
			st, err := s.Choose(stop, obj)
			if err != nil {
				return out, err
			}
			r, err := s.Router(st)
			if err != nil {
				return out, err
			}
			group := map[string]string{routers.StopThreshold: report.FrontierThreshold, routers.StopLearned: report.FrontierLearned}[stop]
			row := report.FrontierRow{Group: group, Method: fmt.Sprintf("%s at budget %gx", group, b), Knob: b,
				Levels: strings.Join(st.Levels, " > "), TrainTop1Pct: st.Train.Accuracy, TrainMeanMS: st.Train.MeanMS}
			if err := routed(r, row, crit, testVecs, testRows, cost, add); err != nil {
				return out, err
			}
			goal[b][stop] = methods[len(methods)-1]
		}
		// The max-softmax cascade over Algorithm 1's models, calibrated on
		// the training images for the same budget (routers' softmax kind).
		bc, cal, err := baselines.CalibrateCascade(train, levels, baselines.RuleGreedy, obj)
		if err != nil {
			return out, err
		}
		sc := &routers.SoftmaxCascade{Levels: bc.Models, Thresholds: bc.Thresholds}
		row := report.FrontierRow{Group: report.FrontierSoftmax, Method: fmt.Sprintf("softmax cascade at budget %gx", b), Knob: b,
			Levels: strings.Join(bc.Models, " > "), TrainTop1Pct: cal.Train.Accuracy, TrainMeanMS: cal.Train.MeanMS}
		if err := routed(sc, row, crit, testVecs, testRows, cost, add); err != nil {
			return out, err
		}
		goal[b]["softmax"] = methods[len(methods)-1]
	}
	// Random routing between the two single models whose costs bracket
	// each goal router's test latency (its models' costs, seeded).
	var cols []int
	for j := range test.Models {
		cols = append(cols, j)
	}
	for _, b := range []float64{goalABudget, goalBBudget} {
		target := goal[b][routers.StopThreshold].modelMS
		rnd, _, err := baselines.RandomMatched(test, cols, target, uint64(in.Seed))
		if err != nil {
			return out, err
		}
		name := fmt.Sprintf("random routing at the committee cascade's latency (budget %gx): %s / %s", b, rnd.Low, rnd.High)
		if err := choices("random", name, test, rnd.Choice, nil, add); err != nil {
			return out, err
		}
	}

	for _, m := range methods {
		out.Rows = append(out.Rows, m.row)
	}
	// The goals, with intervals, and the stop rules side by side.
	iv := func(v, lo, hi float64, how string) map[string]any {
		return map[string]any{"value": v, "lo": lo, "hi": hi, "method": how}
	}
	gainHow := fmt.Sprintf("paired bootstrap over the %d test images, %d resamples, seed %d, 95%%", n, in.Resamples, in.Seed)
	ratioHow := fmt.Sprintf("bootstrap of the mean over the %d test images, %d resamples, seed %d, 95%%", n, in.Resamples, in.Seed)
	for _, g := range []struct {
		name   string
		budget float64
	}{{"goal_a", goalABudget}, {"goal_b", goalBBudget}} {
		for _, stop := range []string{routers.StopThreshold, routers.StopLearned} {
			m := goal[g.budget][stop].row
			suffix := ""
			if stop == routers.StopLearned {
				suffix = "_learned"
			}
			out.Measures[g.name+suffix+"_gain_pp_"+dir] = iv(m.GainPP, m.GainLoPP, m.GainHiPP, gainHow)
			out.Timed[g.name+suffix+"_latency_ratio_"+dir] = iv(m.Ratio, m.RatioLo, m.RatioHi, ratioHow)
			out.Measures[g.name+suffix+"_levels_"+dir] = m.Levels
		}
		th, le := goal[g.budget][routers.StopThreshold], goal[g.budget][routers.StopLearned]
		d, err := bootstrap.PairedDiff(le.correct, th.correct, in.Resamples, uint64(in.Seed), 0.95)
		if err != nil {
			return out, err
		}
		out.Measures[g.name+"_learned_minus_threshold_pp_"+dir] = iv(100*d.Estimate, 100*d.Low, 100*d.High, gainHow)
		sm := goal[g.budget]["softmax"]
		d, err = bootstrap.PairedDiff(th.correct, sm.correct, in.Resamples, uint64(in.Seed), 0.95)
		if err != nil {
			return out, err
		}
		out.Measures[g.name+"_minus_softmax_cascade_pp_"+dir] = iv(100*d.Estimate, 100*d.Low, 100*d.High, gainHow)
	}
	out.Measures["reference_"+dir] = refName
	out.Measures["reference_ms_"+dir] = refMS
	out.Measures["train_reference_"+dir] = s.Ladder[best]
	out.Measures["test_images_"+dir] = n
	for _, stop := range []string{routers.StopThreshold, routers.StopLearned} {
		out.Search[stop] = s.Info(stop, 0)
	}
	return out, nil
}

// choices adds a method that runs test column choice[i] on image i, after
// over[i] ms of its own (nil: none).
func choices(group, name string, v *profileview.View, choice []int, over []float64, add func(report.FrontierRow, []bool, []float64, []float64) error) error {
	c, ms := make([]bool, len(choice)), make([]float64, len(choice))
	for i, j := range choice {
		if j >= 0 { // no prediction: wrong, and nothing runs
			c[i], ms[i] = v.Correct()[i][j], v.Cost[j]
		}
	}
	return add(report.FrontierRow{Group: group, Method: name}, c, ms, over)
}

// routed routes the test images offline from their vectors with r
// (routers.RouteVectors: the router's own Route, its time measured here
// over outputs already computed) and adds it.
func routed(r route.Router, row report.FrontierRow, crit profileview.Criterion, vecs []*committee.Probs, rows []int, cost map[string]float64,
	add func(report.FrontierRow, []bool, []float64, []float64) error) error {
	const repeats = 3
	outs, err := routers.RouteVectors(r, vecs, rows, cost, repeats)
	if err != nil {
		return err
	}
	c, model, over := make([]bool, len(outs)), make([]float64, len(outs)), make([]float64, len(outs))
	for i, o := range outs {
		c[i], model[i], over[i] = o.Correct1, o.ModelMS, o.DecisionMS
		if crit == profileview.Top5 {
			c[i] = o.Correct5
		}
	}
	return add(row, c, model, over)
}

// runFrontier runs both directions: train on the first set and test on
// the second, and the reverse.
func runFrontier(ctx context.Context, e *Env, s *Spec, p *FrontierParams) (*Result, error) {
	c, err := e.profiled(ctx, s, p.Chain, true)
	if err != nil {
		return nil, err
	}
	// The paper's premodel reads the features kept on its training set by
	// Fig 8's selection over the single models.
	ladder := p.Chain
	ladder.Models = p.Ladder
	lc, err := e.profiled(ctx, s, ladder, true)
	if err != nil {
		return nil, err
	}
	singles, err := stages.LoadModels(e.R, s.Resolve(p.Ladder), nil)
	if err != nil {
		return nil, err
	}
	for _, m := range singles {
		if m.Spec.IsCommittee() {
			return nil, fmt.Errorf("ladder %s: %s is a committee: give the single models' spec", p.Ladder, m.Spec.Name)
		}
	}
	var rows []report.FrontierRow
	m := map[string]any{}
	search := map[string]any{}
	for k, pair := range [][2]stages.DataSet{{c.sets[0], c.sets[1]}, {c.sets[1], c.sets[0]}} {
		train, test := pair[0], pair[1]
		fs, err := e.keptFeatures(ctx, lc, train, &p.PremodelParams)
		if err != nil {
			return nil, err
		}
		featMS, err := e.keptFeatureMS(ctx, test, fs.Kept, p.Timing)
		if err != nil {
			return nil, err
		}
		out, err := pipeline.Do(ctx, e.R, frontierStage(), frontierIn{Store: c.joined.Store, Train: train, Test: test, Singles: singles,
			Runtime: c.rt, Criterion: string(p.Criterion), Kept: fs.Kept, ConfigKey: c.joined.ConfigKey, Learner: p.Learner, K: p.K,
			Theta: p.Theta, Seed: p.Seed, FeatureMS: featMS, Budgets: p.Budgets, Resamples: p.Bootstrap,
			Search: routers.CommitteeSearchOptions{Criterion: p.Criterion, Seed: p.Seed}, Platform: stages.PlatformID(),
			VectorCache: e.Opt.ImportCache})
		if err != nil {
			return nil, fmt.Errorf("%s to %s: %w", train.Name, test.Name, err)
		}
		rows = append(rows, out.Rows...)
		for key, v := range out.Measures {
			m[key] = v
		}
		for key, v := range out.Timed {
			m[key] = v
		}
		search[fmt.Sprintf("direction_%d", k+1)] = out.Search
	}
	settings := premodelSettings(&p.PremodelParams, e, p.Learner, nil)
	settings["budgets"], settings["bootstrap"], settings["committee_search"] = p.Budgets, p.Bootstrap, search
	return &Result{Records: map[string]any{"frontier": rows}, Tables: []string{"frontier", "frontier-curve"},
		Figures: []FigureOut{{View: "frontier"}}, Measures: m, Settings: settings,
		Notes: []string{
			"Each image set trains and the other tests: every threshold, level order, calibration, premodel and committee choice is made on " +
				"the training set's images alone; the test images are only scored.",
			"Reference: the most accurate single model on the test images (ties: the cheaper), its latency from the same cost run as every " +
				"other model; Δ is paired with it image by image (bootstrap percentile interval, 95%).",
			"Latency of a routed image: the sum of the mean latencies of the models it ran, from the one cost run of this experiment's " +
				"models (single models and committees, measured as they run), plus the router's own time measured here (the committee " +
				"cascade's running average and stop rule, the softmax cascade's check; the premodel's feature extraction and decision). " +
				"The latency interval is over the test images (which levels run), not over the cost run's noise. A model's cost is " +
				"its Run alone, as the cost profile defines it for every model; a cascade also repeats the decode-to-input " +
				"preprocessing at each level, which this offline latency leaves out and the classifier pays " +
				"(BenchmarkCommitteeGoals in package classifier measures it, call by call against the reference).",
			"Committee cascade: every order of 1 to 3 single models, thresholds on a grid of training quantiles per level (routers, " +
				"CommitteeSearch), the setting with the best training top-1 within the budget; the learned stop rule is a logistic " +
				"regression on the running average's top probability, margin, entropy and the members' agreement, its thresholds set on " +
				"out-of-fold probabilities. Both are routed offline from the test images' cached probability vectors through the router's " +
				"own Route, which the classifier runs (a test checks that they agree exactly on real images).",
			"Softmax cascade: Algorithm 1's single models in cost order, per-level thresholds calibrated (greedy rule) on the training " +
				"images for the same budget. Random routing: between the two single models whose costs bracket the committee cascade's " +
				"test latency at that budget (its models' costs), seeded. Oracle: each image's cheapest correct single model.",
		}}, nil
}
