package experiments

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/method"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/report"
)

// premodelRun is one cross-validated premodel configuration.
type premodelRun struct {
	group   string // what the figure varies ("" for Fig 8)
	learner string
	firstN  int
	base    bool
	// random draws the paper's random equal folds (the protocol check).
	random bool
}

// cvRun is one configuration's repeated cross-validation on one image set,
// with its out-of-fold answers pooled for intervals.
type cvRun struct {
	ds   string
	run  premodelRun
	out  stages.PremodelCVOut
	pool *premodel.Pooled
	st   cvStats
	// kept are the features the premodel reads; selectIn is the feature
	// selection that kept them.
	kept     []string
	selectIn stages.SelectFeaturesIn
}

// premodelCV runs the chain, feature selection on each image set (the
// premodel reads the kept features, as in the paper), and the premodel's
// repeated cross-validation for each run, per set.
func (e *Env) premodelCV(ctx context.Context, s *Spec, p *PremodelParams, runs []premodelRun) ([]cvRun, *chain, error) {
	c, err := e.profiled(ctx, s, p.Chain, true)
	if err != nil {
		return nil, nil, err
	}
	folds := e.folds(p.Folds)
	var out []cvRun
	for _, d := range c.sets {
		sin := e.selectIn(c, d, p)
		fs, err := pipeline.Do(ctx, e.R, stages.SelectFeatures(), sin)
		if err != nil {
			return nil, nil, err
		}
		// Every run reads the same extraction time of each image, so the
		// runs' overheads differ by their decisions, not by when each
		// happened to time the features.
		ft, err := e.featureTimes(ctx, d, fs.Kept)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range runs {
			res, err := e.premodelCVDo(ctx, stages.PremodelCVIn{Store: c.joined.Store, Dataset: d.Name,
				FeatureMS: ft.MS, Criterion: string(p.Criterion), Names: fs.Kept, ConfigKey: c.joined.ConfigKey, Learner: r.learner,
				K: p.K, Theta: p.Theta, Folds: folds, Seed: p.Seeds[0], Seeds: p.Seeds, RandomFolds: r.random, FirstN: r.firstN,
				Baselines: r.base, Platform: stages.PlatformID()})
			if err != nil {
				return nil, nil, fmt.Errorf("%s %s: %w", d.Name, r.learner, err)
			}
			pool := res.Pool()
			out = append(out, cvRun{ds: d.Name, run: r, out: res, pool: pool, st: newCVStats(pool, p, folds), kept: fs.Kept, selectIn: sin})
		}
	}
	return out, c, nil
}

// selectIn is feature selection on one image set: the premodel reads the
// kept features, as in the paper (kNN, the spec's K).
func (e *Env) selectIn(c *chain, d stages.DataSet, p *PremodelParams) stages.SelectFeaturesIn {
	return stages.SelectFeaturesIn{Store: c.joined.Store, Datasets: []string{d.Name}, ConfigKey: c.joined.ConfigKey, Names: c.joined.Names,
		Criterion: string(p.Criterion), Folds: e.folds(p.Folds), Seed: p.Seed, Threshold: p.Threshold, Tolerance: p.Tolerance, Learner: "knn", K: p.K,
		Resamples: p.resamples(), KeepShare: p.keepShare()}
}

// keptFeatures runs (or finds) feature selection on one image set.
func (e *Env) keptFeatures(ctx context.Context, c *chain, d stages.DataSet, p *PremodelParams) (stages.SelectFeaturesOut, error) {
	return pipeline.Do(ctx, e.R, stages.SelectFeatures(), e.selectIn(c, d, p))
}

// geo is the geometric mean (0 when any value is 0).
func geo(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range v {
		if x <= 0 {
			return 0
		}
		sum += math.Log(x)
	}
	return math.Exp(sum / float64(len(v)))
}

// order lists a run's pooled methods: premodel, baselines, single models
// by cost, oracles.
func (r cvRun) order() []method.Name {
	names := slices.Clone(r.pool.Names())
	cost := r.costOf()
	slices.SortStableFunc(names, func(x, y method.Name) int {
		kx, ky := r.pool.Kind(x), r.pool.Kind(y)
		if kx.Rank() != ky.Rank() {
			return kx.Rank() - ky.Rank()
		}
		if kx == method.Single {
			switch {
			case cost[string(x)] < cost[string(y)]:
				return -1
			case cost[string(x)] > cost[string(y)]:
				return 1
			}
		}
		return 0
	})
	return names
}

func (r cvRun) costOf() map[string]float64 {
	cost := map[string]float64{}
	for j, m := range r.out.Models {
		cost[m] = r.out.CostMS[j]
	}
	return cost
}

// premodelName is the run's premodel method.
func (r cvRun) premodelName() method.Name { return method.PremodelOf(r.run.learner) }

// summarise gives one row per pooled method (only the premodel's when
// premodelOnly): pooled values with intervals, and the paper's geometric
// means over the folds.
func summarise(r cvRun, crit profileview.Criterion, premodelOnly bool) ([]report.MethodSummary, error) {
	p, st, out := r.pool, r.st, r.out
	all := st.all()
	accF, msF := map[method.Name][]float64{}, map[method.Name][]float64{}
	var cands []string
	for _, f := range out.Folds {
		for _, m := range append(slices.Clone(f.Methods), f.Baselines...) {
			acc := m.Top1 // a baseline's Top1 is its accuracy under the criterion
			if crit == profileview.Top5 && m.Kind != method.Baseline {
				acc = m.Top5
			}
			accF[m.Name], msF[m.Name] = append(accF[m.Name], acc), append(msF[m.Name], m.MeanMS)
		}
		for _, c := range f.Candidates {
			if !slices.Contains(cands, c) {
				cands = append(cands, c)
			}
		}
	}
	oracle := p.Accuracy(method.OracleAll, crit, all)
	cost := r.costOf()
	var rows []report.MethodSummary
	for _, name := range r.order() {
		kind := p.Kind(name)
		if premodelOnly && kind != method.Premodel {
			continue
		}
		row := report.MethodSummary{Dataset: r.ds, Group: r.run.group, Method: name, Kind: kind, Criterion: string(crit),
			Folds: len(out.Folds) / len(out.Seeds), Seeds: len(out.Seeds), EnergyStatus: out.EnergyStatus,
			AccuracyGeoPct: geo(accF[name]), MeanGeoMS: geo(msF[name])}
		t1, err := st.interval(func(idx []int) float64 { return p.Accuracy(name, profileview.Top1, idx) })
		if err != nil {
			return nil, err
		}
		t5, err := st.interval(func(idx []int) float64 { return p.Accuracy(name, profileview.Top5, idx) })
		if err != nil {
			return nil, err
		}
		ms, err := st.intervalCost(func(idx []int, c []float64) float64 { return p.MeanMS(name, idx, c) })
		if err != nil {
			return nil, err
		}
		row.Top1Pct, row.Top1LoPct, row.Top1HiPct = t1.Value, t1.Lo, t1.Hi
		row.Top5Pct, row.Top5LoPct, row.Top5HiPct = t5.Value, t5.Lo, t5.Hi
		row.MeanMS, row.MeanLoMS, row.MeanHiMS = ms.Value, ms.Lo, ms.Hi
		row.MinImageMS, row.MaxImageMS = p.LatencyRange(name)
		fe, de := p.Overhead(name, all)
		row.OverheadMS = fe + de
		row.PrecisionPct, row.RecallPct, row.F1Pct, row.MacroF1Pct = p.PRF(name, all)
		if oracle > 0 {
			row.OfOraclePct = 100 * p.Accuracy(name, crit, all) / oracle
		}
		if kind == method.Premodel {
			sel := p.Selection(name, all)
			row.SelectionAccPct, row.Candidates = &sel, strings.Join(cands, " ")
		}
		if kind != method.Single {
			row.Routing = routing(p.Shares(name), out.Models, cost)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// routing lists the shares of images per model, cheapest model first,
// "none" (no prediction) last.
func routing(share map[string]float64, models []string, cost map[string]float64) string {
	order := slices.Clone(models)
	slices.SortStableFunc(order, func(a, b string) int {
		switch {
		case cost[a] < cost[b]:
			return -1
		case cost[a] > cost[b]:
			return 1
		}
		return 0
	})
	var parts []string
	for _, m := range append(order, "none") {
		if v := share[m]; v > 0.05 {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", m, v))
		}
	}
	return strings.Join(parts, ", ")
}

// premodelSettings are the settings a premodel result records: the
// learner (or the learners) and the premodel's settings.
func premodelSettings(p *PremodelParams, e *Env, learner string, learners []string) map[string]any {
	return map[string]any{"criterion": p.Criterion, "learner": learner, "learners": learners, "k": p.K,
		"folds": e.folds(p.Folds), "seed": p.Seed, "cv_seeds": p.Seeds, "bootstrap_resamples": p.Bootstrap, "theta_pp": p.Theta,
		"threshold": p.Threshold, "tolerance_pp": p.Tolerance}
}

func premodelNotes(p *PremodelParams, e *Env, name string) []string {
	crit := critName(p.Criterion)
	other, spec := "top-5", name+"-top5"
	if p.Criterion == profileview.Top5 {
		other, spec = "top-1", strings.TrimSuffix(name, "-top5")
	}
	return []string{
		fmt.Sprintf("Criterion %s: the premodel is trained on %s targets (each image's cheapest model whose %s answer is right) and "+
			"scored by %s accuracy; the oracle is the %s one. The table's %s column is this premodel's %s accuracy; the premodel "+
			"trained for %s, as the paper trains one per criterion, is experiment %s.", crit, crit, crit, crit, crit, other, other, other, spec),
		fmt.Sprintf("%d-fold cross-validation per image set, stratified by each image's optimum model, repeated with seeds %s: each image "+
			"is answered once per seed by a premodel trained on the other folds. Values are pooled over the images and averaged over the "+
			"seeds; [lo, hi] is a 95%% percentile bootstrap over the images (%d resamples, seed %d), latencies also drawn within their "+
			"measured 95%% intervals. The paper's statistic, the geometric mean over the folds, is in the table beside the pooled values.",
			e.folds(p.Folds), seedList(p.Seeds), p.Bootstrap, p.Seed),
		"The premodel reads the features kept by feature selection on the same image set (Table 4's procedure, kNN K as set), " +
			"and its candidates are Algorithm 1's choice on each training fold; when its last level names no candidate it runs the " +
			"cheapest candidate (the paper's option (i), a pre-specified model).",
		"Latency: each model's mean latency from the cost profile, plus for the premodel its feature extraction (timed here once per " +
			"image, the same times for every premodel of the experiment) and decision (timed per fold); precision and recall are those of " +
			"the top-1 answer, macro averages over the classes, F1 the paper's 2PR/(P+R) of the two, macro F1 the mean of the classes' own F1.",
	}
}

// bestSingle, fastest and costliest are the single models that are the
// most accurate under crit on all the images (ties: the cheaper), the
// cheapest and the dearest.
func (r cvRun) singles(crit profileview.Criterion) (best, fastest, costliest method.Name, all []method.Name) {
	cost := r.costOf()
	idx := r.st.all()
	bestAcc := -1.0
	for _, n := range r.order() {
		if r.pool.Kind(n) != method.Single {
			continue
		}
		all = append(all, n)
		c := cost[string(n)]
		if a := r.pool.Accuracy(n, crit, idx); a > bestAcc || (a == bestAcc && c < cost[string(best)]) {
			best, bestAcc = n, a
		}
		if fastest == "" || c < cost[string(fastest)] {
			fastest = n
		}
		if costliest == "" || c > cost[string(costliest)] {
			costliest = n
		}
	}
	return best, fastest, costliest, all
}

func runOverall(ctx context.Context, e *Env, s *Spec, p *OneLearnerParams) (*Result, error) {
	runs, c, err := e.premodelCV(ctx, s, &p.PremodelParams, []premodelRun{{learner: p.Learner, base: true},
		{group: "random folds", learner: p.Learner, random: true}})
	if err != nil {
		return nil, err
	}
	crit := p.Criterion
	ms := newMeasures(crit)
	var rows []report.MethodSummary
	var notes []string
	for k := 0; k+1 < len(runs); k += 2 {
		r, rnd := runs[k], runs[k+1]
		rs, err := summarise(r, crit, false)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
		n, err := overallMeasures(e, ms, r, rnd, rs, c, crit)
		if err != nil {
			return nil, err
		}
		notes = append(notes, n...)
	}
	if ms.err != nil {
		return nil, ms.err
	}
	return &Result{
		Records:  map[string]any{"methods": rows},
		Tables:   []string{"overall"},
		Figures:  []FigureOut{{View: "overall"}},
		Measures: ms.m,
		Settings: premodelSettings(&p.PremodelParams, e, p.Learner, nil),
		Notes: append(append(notes, premodelNotes(&p.PremodelParams, e, s.Name)...),
			"Baselines: the max-softmax cascade over the same candidates (one shared threshold calibrated on the training folds "+
				"for a mean latency at most the premodel's on the test fold), and random routing between the two candidates "+
				"bracketing that latency (seeded). Energy: as the cost profile says (no meter here: not measured).",
			"The premodel's memory: its encoded learner and the arrays it keeps (training rows, classes, neighbour distances, "+
				"scaler), against its candidates' model files. Its training time (§5.5's \"model selection and parameter tuning\"): "+
				"Algorithm 1 and the learner's fit per fold, against generating the training data: the profile (every model on every "+
				"image), the cost profile and the features, from the stages' recorded compute times; feature selection, a design step "+
				"run once (here over bootstrap resamples), is counted in neither."),
	}, nil
}

// overallMeasures are Fig 8's measures on one image set (claims.yaml's
// keys; a top-5 experiment's named by measures.key).
func overallMeasures(e *Env, ms *measures, r, rnd cvRun, rows []report.MethodSummary, c *chain, crit profileview.Criterion) ([]string, error) {
	p, st, ds := r.pool, r.st, r.ds
	pm := r.premodelName()
	for _, n := range []method.Name{pm, method.OracleAll, method.OracleCandidates} {
		if !p.Has(n) {
			return nil, fmt.Errorf("%s: no out-of-fold answers of %s", ds, n)
		}
	}
	best, fastest, costliest, singles := r.singles(crit)
	if best == "" {
		return nil, fmt.Errorf("%s: no single model", ds)
	}
	jb, jf, jc := p.Column(string(best)), p.Column(string(fastest)), p.Column(string(costliest))
	all := st.all()
	acc := func(n method.Name) func(idx []int) float64 {
		return func(idx []int) float64 { return p.Accuracy(n, crit, idx) }
	}
	diff := func(a, b method.Name) func(idx []int) float64 {
		return func(idx []int) float64 { return p.Accuracy(a, crit, idx) - p.Accuracy(b, crit, idx) }
	}
	over := func(idx []int) float64 { f, d := p.Overhead(pm, idx); return f + d }
	pmMS := func(idx []int, cost []float64) float64 { return p.MeanMS(pm, idx, cost) }

	ms.iv("premodel_top1_"+ds, st, acc(pm))
	ms.ivCost("premodel_mean_ms_"+ds, st, pmMS)
	ms.iv("premodel_overhead_ms_"+ds, st, over)
	ms.set("best_single_"+ds, string(best))
	ms.iv("best_single_top1_"+ds, st, acc(best))
	ms.ivCost("best_single_mean_ms_"+ds, st, func(_ []int, cost []float64) float64 { return cost[jb] })
	ms.iv("top1_gain_pp_"+ds, st, diff(pm, best))
	ms.ivCost("speedup_vs_best_single_"+ds, st, func(idx []int, cost []float64) float64 { return cost[jb] / pmMS(idx, cost) })
	ms.iv("oracle_top1_"+ds, st, acc(method.OracleAll))
	ms.iv("of_oracle_pct_"+ds, st, func(idx []int) float64 {
		return 100 * p.Accuracy(pm, crit, idx) / p.Accuracy(method.OracleAll, crit, idx)
	})
	ms.iv("selection_accuracy_"+ds, st, func(idx []int) float64 { return p.Selection(pm, idx) })
	for _, b := range []struct {
		name method.Name
		key  string
	}{{method.CascadeMatched, "cascade"}, {method.RandomMatched, "random"}} {
		if p.Has(b.name) {
			ms.iv(b.key+"_top1_"+ds, st, acc(b.name))
			ms.iv("premodel_minus_"+b.key+"_pp_"+ds, st, diff(pm, b.name))
		}
	}
	// §5.1's roles: the paper's MobileNet is the fastest single model, its
	// Inception the most accurate.
	ms.iv("premodel_minus_fastest_top1_pp_"+ds, st, diff(pm, fastest))
	ms.ivCost("best_single_over_fastest_ms_"+ds, st, func(_ []int, cost []float64) float64 { return cost[jb] / cost[jf] })
	least := fastest
	for _, n := range singles {
		if p.Accuracy(n, crit, all) < p.Accuracy(least, crit, all) {
			least = n
		}
	}
	ms.set("fastest_is_least_accurate_"+ds, least == fastest)
	ms.ivCost("premodel_over_fastest_ms_"+ds, st, func(idx []int, cost []float64) float64 { return pmMS(idx, cost) / cost[jf] })
	ms.ivCost("overhead_pct_of_premodel_"+ds, st, func(idx []int, cost []float64) float64 { return 100 * over(idx) / pmMS(idx, cost) })
	ms.ivCost("overhead_pct_of_cheapest_"+ds, st, func(idx []int, cost []float64) float64 { return 100 * over(idx) / cost[jf] })
	ms.ivCost("overhead_pct_of_costliest_"+ds, st, func(idx []int, cost []float64) float64 { return 100 * over(idx) / cost[jc] })
	ms.iv("extraction_pct_of_overhead_"+ds, st, func(idx []int) float64 { f, d := p.Overhead(pm, idx); return 100 * f / (f + d) })
	ms.iv("avoidable_miss_pct_"+ds, st, func(idx []int) float64 { return p.Avoidable(pm, crit, idx) })
	// Fig 8d: the premodel's precision, recall and F1 against the best
	// single model's in each (the paper's F1, and the macro F1 beside it).
	for k, key := range []string{"precision_gain_pp_", "recall_gain_pp_", "f1_gain_pp_", "macro_f1_gain_pp_"} {
		get := func(n method.Name, idx []int) float64 {
			pr, rc, f1, mf := p.PRF(n, idx)
			return []float64{pr, rc, f1, mf}[k]
		}
		// Against the single model best in this metric on all the images,
		// named before resampling: a paired difference of two methods
		// (a maximum re-taken in every resample would bias the interval).
		// A macro average over a resample is itself biased low: a class
		// some answer predicts but no drawn image holds counts as a zero,
		// so these intervals' upper ends sit near their estimates.
		top := singles[0]
		for _, n := range singles {
			if get(n, all) > get(top, all) {
				top = n
			}
		}
		ms.iv(key+ds, st, func(idx []int) float64 { return get(pm, idx) - get(top, idx) })
	}
	// The cascade's levels (§5.2: "The accuracy for each of our KNN
	// models in our premodel").
	if r.run.learner == "knn-cascade" {
		for l := range 3 {
			// Enough images reach the level that a resample of them
			// almost surely holds some.
			if p.Reached(pm, l) >= 20*len(r.out.Seeds) {
				ms.iv(fmt.Sprintf("level%d_accuracy_pct_%s", l+1, ds), st, func(idx []int) float64 { return p.Level(pm, l, idx) })
			}
		}
	}
	size, train, err := premodelCosts(e, r, c)
	if err != nil {
		return nil, err
	}
	if size > 0 {
		ms.set("premodel_bytes_pct_of_models_"+ds, size)
	}
	if train > 0 {
		ms.set("training_data_pct_of_training_time_"+ds, train)
	}
	// Protocol differences, measured (REPRODUCE.md's table).
	ms.iv("fallback_share_pct_"+ds, st, func(idx []int) float64 { return p.FallbackShare(pm, idx) })
	ms.iv("fallback_none_minus_cheapest_top1_pp_"+ds, st, func(idx []int) float64 {
		return p.AccuracyWithFallback(pm, crit, idx, -1) - p.Accuracy(pm, crit, idx)
	})
	ms.iv("fallback_best_minus_cheapest_top1_pp_"+ds, st, func(idx []int) float64 {
		return p.AccuracyWithFallback(pm, crit, idx, jb) - p.Accuracy(pm, crit, idx)
	})
	if rnd.pool.Has(pm) && rnd.pool.N() == p.N() {
		ms.iv("stratified_minus_random_folds_top1_pp_"+ds, st, func(idx []int) float64 {
			return p.Accuracy(pm, crit, idx) - rnd.pool.Accuracy(pm, crit, idx)
		})
	}
	geoAcc, geoMS := 0.0, 0.0
	for _, row := range rows {
		a := row.Top1Pct
		if crit == profileview.Top5 {
			a = row.Top5Pct
		}
		geoAcc = math.Max(geoAcc, math.Abs(row.AccuracyGeoPct-a))
		if row.MeanMS > 0 {
			geoMS = math.Max(geoMS, 100*math.Abs(row.MeanGeoMS-row.MeanMS)/row.MeanMS)
		}
	}
	ms.set("geo_vs_pooled_max_accuracy_pp_"+ds, geoAcc)
	ms.set("geo_vs_pooled_max_mean_ms_pct_"+ds, geoMS)

	seedAcc := p.SeedAccuracies(pm, crit)
	lo, hi := slices.Min(seedAcc), slices.Max(seedAcc)
	pa, _ := ms.value("premodel_top1_" + ds)
	var ivLo, ivHi float64
	if v, ok := ms.m[ms.key("premodel_top1_"+ds)].(report.Interval); ok {
		ivLo, ivHi = v.Lo, v.Hi
	}
	inside := "inside"
	if lo < ivLo || hi > ivHi {
		inside = "NOT inside"
	}
	bestAcc, _ := ms.value("best_single_top1_" + ds)
	or, _ := ms.value("oracle_top1_" + ds)
	pmMean, _ := ms.value("premodel_mean_ms_" + ds)
	bestMS, _ := ms.value("best_single_mean_ms_" + ds)
	return []string{fmt.Sprintf("%s: the premodel reaches %.1f%% %s at %.2f ms per image; the most accurate single model, %s, %.1f%% at "+
		"%.2f ms (%.2fx the premodel's time); the oracle %.1f%%. One seed's cross-validation alone gives the premodel %.1f%% to %.1f%% "+
		"(seeds %s), %s its interval [%.1f, %.1f].", ds, pa, critName(crit), pmMean, best, bestAcc, bestMS, bestMS/pmMean, or, lo, hi,
		seedList(r.out.Seeds), inside, ivLo, ivHi)}, nil
}

// critName is a criterion as the prose writes it.
func critName(c profileview.Criterion) string {
	if c == profileview.Top5 {
		return "top-5"
	}
	return "top-1"
}

// premodelCosts are the premodel's size as a percentage of its candidate
// models' files (the mean over the folds), and generating the training
// data (profiling every model on every image, measuring each model's
// latency, extracting the features) as a percentage of that and the
// premodel's training (Train: Algorithm 1, scaling, the learner's fit;
// the mean over the folds), the paper's "model selection and parameter
// tuning", from the stages' recorded compute times. Feature selection, a
// design step run once (and here over bootstrap resamples), is not
// counted. 0 where not known.
func premodelCosts(e *Env, r cvRun, c *chain) (sizePct, dataPct float64, err error) {
	files := map[string]int64{}
	for _, m := range c.models {
		for _, f := range m.Files {
			st, err := os.Stat(f.Path)
			if err != nil {
				return 0, 0, fmt.Errorf("model %s: %w", m.Spec.Name, err)
			}
			files[m.Spec.Name] += st.Size()
		}
	}
	var pcts []float64
	trainMS := 0.0
	for _, f := range r.out.Folds {
		var b int64
		for _, cand := range f.Candidates {
			b += files[cand]
		}
		if b > 0 {
			pcts = append(pcts, 100*float64(f.PremodelBytes)/float64(b))
		}
		trainMS += f.TrainMS / float64(len(r.out.Folds))
	}
	for _, x := range pcts {
		sizePct += x / float64(len(pcts))
	}
	var d stages.DataSet
	for _, s := range c.sets {
		if s.Name == r.ds {
			d = s
		}
	}
	prof, ok1 := stageSeconds(e, stages.Profile(), stages.ProfileIn{Set: d, Models: c.models, Runtime: c.rt})
	feat, ok2 := stageSeconds(e, stages.Features(), stages.FeaturesIn{Set: d})
	if ok1 && ok2 && trainMS > 0 {
		data := prof + feat
		if c.latency == nil {
			if cost, ok := stageSeconds(e, stages.CostStage(), stages.CostIn{Set: c.sets[0], Models: c.models, Runtime: c.rt,
				Timing: e.timing(), Meter: "auto", Platform: stages.PlatformID()}); ok {
				data += cost
			}
		}
		dataPct = 100 * data / (data + trainMS/1000)
	}
	return sizePct, dataPct, nil
}

// stageSeconds is the recorded compute time of stage s on in, when this
// run used it.
func stageSeconds[I, O any](e *Env, s pipeline.Stage[I, O], in I) (float64, bool) {
	key, _, err := pipeline.Key(s, in)
	if err != nil {
		return 0, false
	}
	for _, r := range e.R.Records() {
		if r.Key == key && r.Stage == s.Name {
			return r.ComputeSeconds, true
		}
	}
	return 0, false
}

// groupRows summarises each run's premodel.
func groupRows(runs []cvRun, crit profileview.Criterion) ([]report.MethodSummary, error) {
	var rows []report.MethodSummary
	for _, r := range runs {
		rs, err := summarise(r, crit, true)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
	}
	return rows, nil
}

// groupMeasures are the measures of figures that vary the premodel (Figs
// 9-11): each group's accuracy and overhead with intervals, paired over
// the images, the most accurate and the fastest group (the lowest
// overhead), and, where the groups are learners, whether the best is kNN.
func groupMeasures(ms *measures, runs []cvRun, crit profileview.Criterion, learnerGroups bool) {
	for _, ds := range runDatasets(runs) {
		rs := runsOf(runs, ds)
		if len(rs) == 0 {
			continue
		}
		st, all := rs[0].st, rs[0].st.all()
		var best, fastest *cvRun
		for i := range rs {
			r := &rs[i]
			pm := r.premodelName()
			ms.iv("top1_"+ds+"_"+r.run.group, st, func(idx []int) float64 { return r.pool.Accuracy(pm, crit, idx) })
			ms.iv("overhead_ms_"+ds+"_"+r.run.group, st, func(idx []int) float64 { f, d := r.pool.Overhead(pm, idx); return f + d })
			if best == nil || r.pool.Accuracy(pm, crit, all) > best.pool.Accuracy(best.premodelName(), crit, all) {
				best = r
			}
			if fastest == nil || overheadOf(*r, all) < overheadOf(*fastest, all) {
				fastest = r
			}
		}
		ms.set("best_group_"+ds, best.run.group)
		ms.iv("best_top1_"+ds, st, func(idx []int) float64 { return best.pool.Accuracy(best.premodelName(), crit, idx) })
		if learnerGroups {
			// The paper's finding is about the learner kind: is the best
			// premodel kNN at every level (knn or the kNN cascade)?
			ms.set("best_is_knn_"+ds, isKNN(best.run.group))
		}
		ms.set("fastest_group_"+ds, fastest.run.group)
	}
}

// bestRun is the run whose premodel is the most accurate on idx.
func bestRun(runs []*cvRun, crit profileview.Criterion, idx []int) *cvRun {
	best := runs[0]
	for _, r := range runs {
		if r.pool.Accuracy(r.premodelName(), crit, idx) > best.pool.Accuracy(best.premodelName(), crit, idx) {
			best = r
		}
	}
	return best
}

func overheadOf(r cvRun, idx []int) float64 {
	f, d := r.pool.Overhead(r.premodelName(), idx)
	return f + d
}

func isKNN(group string) bool {
	for _, l := range strings.Split(group, ".") {
		if l != "knn" && l != "knn-cascade" {
			return false
		}
	}
	return true
}

func runDatasets(runs []cvRun) []string {
	var out []string
	for _, r := range runs {
		if !slices.Contains(out, r.ds) {
			out = append(out, r.ds)
		}
	}
	return out
}

func runsOf(runs []cvRun, ds string) []cvRun {
	var out []cvRun
	for _, r := range runs {
		if r.ds == ds {
			out = append(out, r)
		}
	}
	return out
}

// runOf is the run of a group on ds, nil when there is none.
func runOf(runs []cvRun, ds, group string) *cvRun {
	for i := range runs {
		if runs[i].ds == ds && runs[i].run.group == group {
			return &runs[i]
		}
	}
	return nil
}

func runLearners(ctx context.Context, e *Env, s *Spec, p *LearnersParams) (*Result, error) {
	var runs []premodelRun
	for _, l := range p.Learners {
		runs = append(runs, premodelRun{group: l, learner: l})
	}
	cr, _, err := e.premodelCV(ctx, s, &p.PremodelParams, runs)
	if err != nil {
		return nil, err
	}
	rows, err := groupRows(cr, p.Criterion)
	if err != nil {
		return nil, err
	}
	ms := newMeasures(p.Criterion)
	groupMeasures(ms, cr, p.Criterion, true)
	for _, ds := range runDatasets(cr) {
		learnerMeasures(ms, cr, ds, p.Criterion)
	}
	if ms.err != nil {
		return nil, ms.err
	}
	return &Result{Records: map[string]any{"methods": rows}, Tables: []string{"groups"}, Figures: []FigureOut{{View: "groups"}},
		Measures: ms.m, Settings: premodelSettings(&p.PremodelParams, e, "", p.Learners),
		Notes: append(premodelNotes(&p.PremodelParams, e, s.Name), "The kNN premodel of the comparisons is the paper's chosen one, the kNN cascade "+
			"(knn-cascade); its rivals are the decision tree (dt) and the SVM (svm). Overhead: feature extraction plus the decision; "+
			"every learner reads the same features, so their overheads differ by the decision.")}, nil
}

// learnerMeasures are Fig 9's comparisons on one image set: the kNN
// premodel against the decision tree and the SVM, paired over the images.
func learnerMeasures(ms *measures, runs []cvRun, ds string, crit profileview.Criterion) {
	knn := runOf(runs, ds, "knn-cascade")
	if knn == nil {
		knn = runOf(runs, ds, "knn")
	}
	if knn == nil {
		return
	}
	st := knn.st
	ms.iv("knn_decision_ms_"+ds, st, func(idx []int) float64 { _, d := knn.pool.Overhead(knn.premodelName(), idx); return d })
	var others []*cvRun
	for _, g := range []string{"dt", "svm"} {
		if r := runOf(runs, ds, g); r != nil {
			others = append(others, r)
		}
	}
	if len(others) == 0 {
		return
	}
	// Against the more accurate of the two on all the images.
	top := bestRun(others, crit, st.all())
	ms.iv("knn_minus_best_other_top1_pp_"+ds, st, func(idx []int) float64 {
		return knn.pool.Accuracy(knn.premodelName(), crit, idx) - top.pool.Accuracy(top.premodelName(), crit, idx)
	})
	ms.iv("knn_overhead_over_dt_svm_"+ds, st, func(idx []int) float64 {
		sum := 0.0
		for _, o := range others {
			sum += overheadOf(*o, idx)
		}
		return overheadOf(*knn, idx) / (sum / float64(len(others)))
	})
}

func runHierarchies(ctx context.Context, e *Env, s *Spec, p *LearnersParams) (*Result, error) {
	var runs []premodelRun
	for _, l := range p.Learners {
		// An X.Y.Z hierarchy has one level per candidate: its candidates
		// are the first that many of Algorithm 1's order.
		runs = append(runs, premodelRun{group: l, learner: l, firstN: strings.Count(l, ".") + 1})
	}
	cr, _, err := e.premodelCV(ctx, s, &p.PremodelParams, runs)
	if err != nil {
		return nil, err
	}
	rows, err := groupRows(cr, p.Criterion)
	if err != nil {
		return nil, err
	}
	ms := newMeasures(p.Criterion)
	groupMeasures(ms, cr, p.Criterion, true)
	// The all-kNN hierarchy against the best of the others, paired.
	for _, ds := range runDatasets(cr) {
		knn := runOf(cr, ds, "knn.knn.knn")
		if knn == nil {
			continue
		}
		var others []cvRun
		for _, r := range runsOf(cr, ds) {
			if r.run.group != knn.run.group {
				others = append(others, r)
			}
		}
		if len(others) == 0 {
			continue
		}
		// Against the most accurate and the fastest other hierarchy on
		// all the images, named before resampling.
		var ptrs []*cvRun
		fast := &others[0]
		for i := range others {
			ptrs = append(ptrs, &others[i])
			if overheadOf(others[i], knn.st.all()) < overheadOf(*fast, knn.st.all()) {
				fast = &others[i]
			}
		}
		top := bestRun(ptrs, p.Criterion, knn.st.all())
		ms.iv("knn_minus_best_other_top1_pp_"+ds, knn.st, func(idx []int) float64 {
			return knn.pool.Accuracy(knn.premodelName(), p.Criterion, idx) - top.pool.Accuracy(top.premodelName(), p.Criterion, idx)
		})
		ms.iv("knn_minus_fastest_other_overhead_ms_"+ds, knn.st, func(idx []int) float64 {
			return overheadOf(*knn, idx) - overheadOf(*fast, idx)
		})
	}
	if ms.err != nil {
		return nil, ms.err
	}
	return &Result{Records: map[string]any{"methods": rows}, Tables: []string{"groups"}, Figures: []FigureOut{{View: "groups"}},
		Measures: ms.m, Settings: premodelSettings(&p.PremodelParams, e, "", p.Learners),
		Notes: append(premodelNotes(&p.PremodelParams, e, s.Name), "Each hierarchy's candidates: the first N models of Algorithm 1's full order on each training fold, N its number of levels.",
			"Every hierarchy reads the same features, extracted in the same time per image, so their overheads differ by the decision alone "+
				"(microseconds against the features' milliseconds): the fastest group is decided by those.")}, nil
}

func runModelCount(ctx context.Context, e *Env, s *Spec, p *ModelCountParams) (*Result, error) {
	models, err := e.models(s, p.Chain)
	if err != nil {
		return nil, err
	}
	var runs []premodelRun
	for n := 1; n <= min(p.MaxModels, len(models)); n++ {
		runs = append(runs, premodelRun{group: fmt.Sprintf("%d models", n), learner: p.Learner, firstN: n})
	}
	cr, _, err := e.premodelCV(ctx, s, &p.PremodelParams, runs)
	if err != nil {
		return nil, err
	}
	rows, err := groupRows(cr, p.Criterion)
	if err != nil {
		return nil, err
	}
	ms := newMeasures(p.Criterion)
	groupMeasures(ms, cr, p.Criterion, false)
	for _, ds := range runDatasets(cr) {
		modelCountMeasures(ms, runsOf(cr, ds), ds, p.Criterion, p.Theta)
	}
	if ms.err != nil {
		return nil, ms.err
	}
	return &Result{Records: map[string]any{"methods": rows}, Tables: []string{"groups"}, Figures: []FigureOut{{View: "model-count"}},
		Measures: ms.m, Settings: premodelSettings(&p.PremodelParams, e, p.Learner, nil),
		Notes: append(premodelNotes(&p.PremodelParams, e, s.Name), fmt.Sprintf("N models: the premodel's candidates are the first N of "+
			"Algorithm 1's full order (θ = 0) on each training fold, N from 1 to %d (the paper's \"up to 5\"); the time bars span "+
			"the fastest and the slowest test image, as the paper's do (\"the range of inference time across testing images\").", p.MaxModels))}, nil
}

// modelCountMeasures are Fig 11's on one image set: where the accuracy
// plateaus, how the time grows, how the overhead stays.
func modelCountMeasures(ms *measures, rs []cvRun, ds string, crit profileview.Criterion, theta float64) {
	if len(rs) == 0 {
		return
	}
	st := rs[0].st
	// "The fewest models whose premodel is within θ of the best top-1
	// over 1-5 models".
	upTo5 := rs[:min(5, len(rs))]
	ms.iv("n_models_at_plateau_"+ds, st, func(idx []int) float64 {
		acc := make([]float64, len(upTo5))
		for k, r := range upTo5 {
			acc[k] = r.pool.Accuracy(r.premodelName(), crit, idx)
		}
		top := slices.Max(acc)
		for k, a := range acc {
			if a >= top-theta {
				return float64(k + 1)
			}
		}
		return float64(len(acc))
	})
	if len(rs) >= 5 {
		one, five := rs[0], rs[4]
		ms.ivCost("mean_ms_ratio_5_to_1_models_"+ds, st, func(idx []int, cost []float64) float64 {
			return five.pool.MeanMS(five.premodelName(), idx, cost) / one.pool.MeanMS(one.premodelName(), idx, cost)
		})
	}
	ms.iv("overhead_max_over_min_"+ds, st, func(idx []int) float64 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range upTo5 {
			o := overheadOf(r, idx)
			lo, hi = math.Min(lo, o), math.Max(hi, o)
		}
		return hi / lo
	})
}

func runBudgetCurve(ctx context.Context, e *Env, s *Spec, p *CurveParams) (*Result, error) {
	c, err := e.profiled(ctx, s, p.Chain, true)
	if err != nil {
		return nil, err
	}
	var rows []report.CurvePoint
	ms := newMeasures(p.Criterion)
	for _, d := range c.sets {
		fs, err := e.keptFeatures(ctx, c, d, &p.PremodelParams)
		if err != nil {
			return nil, err
		}
		overhead, err := e.keptFeatureMS(ctx, d, fs.Kept, p.Timing)
		if err != nil {
			return nil, err
		}
		out, err := pipeline.Do(ctx, e.R, stages.Curve(), stages.CurveIn{Store: c.joined.Store, Dataset: d.Name,
			Criterion: string(p.Criterion), Names: fs.Kept, ConfigKey: c.joined.ConfigKey, Learner: p.Learner, K: p.K,
			Theta: p.Theta, Folds: e.folds(p.Folds), Seed: p.Seeds[0], Seeds: p.Seeds, OverheadMS: overhead})
		if err != nil {
			return nil, err
		}
		pts, err := curveMeasures(ms, out, d.Name, p, e.folds(p.Folds))
		if err != nil {
			return nil, err
		}
		rows = append(rows, pts...)
		ms.set("knob_overhead_ms_"+d.Name, overhead)
	}
	if ms.err != nil {
		return nil, ms.err
	}
	return &Result{Records: map[string]any{"curve": rows}, Tables: []string{"curve"}, Figures: []FigureOut{{View: "curve"}},
		Measures: ms.m, Settings: premodelSettings(&p.PremodelParams, e, p.Learner, nil),
		Notes: []string{"Budget knob: the premodel's cumulative scores over Algorithm 1's candidates (cost order), from out-of-fold " +
			"decisions, choose the first candidate whose cumulative score reaches alpha; every alpha is one point, its accuracy the " +
			"mean over the seeds' cross-validations (" + seedList(p.Seeds) + "), with a 95% percentile bootstrap interval over the images. " +
			"Its cost per image includes the feature extraction time measured on this machine.",
			"Softmax cascade: one shared threshold on the stored top-1 score of each model, every threshold one point.",
			"All points are accuracy and mean latency on every image of the set (no held-out calibration: a curve, not a tuned setting)."}}, nil
}

// curveMeasures are the budget curve's points on one image set, the
// knob's with their accuracy's interval, and its measures: the knob's
// best point against the most accurate single model, paired over the
// images, and the knob's cheapest point as accurate as that model.
func curveMeasures(ms *measures, out stages.CurveOut, ds string, p *CurveParams, folds int) ([]report.CurvePoint, error) {
	st := cvStats{n: out.Images, resamples: p.Bootstrap, seed: uint64(p.Seed),
		desc: fmt.Sprintf("the knob's out-of-fold decisions of %d-fold cross-validation repeated over seeds %s, each image's answers averaged over the seeds",
			folds, seedList(out.Seeds))}
	seeds := float64(len(out.Seeds))
	acc := func(hits []int, idx []int) float64 {
		h := 0
		for _, i := range idx {
			h += hits[i]
		}
		return 100 * float64(h) / (seeds * float64(len(idx)))
	}
	var rows []report.CurvePoint
	var knob, singles [][]int
	best, bestMS := -1.0, 0.0
	for _, pt := range out.Points {
		row := report.CurvePoint{Dataset: ds, Method: pt.Method, Param: pt.Param, AccuracyPct: pt.Accuracy, AccuracyLo: pt.Accuracy,
			AccuracyHi: pt.Accuracy, MeanMS: pt.MeanMS}
		if _, single := pt.Method.SingleModel(); single && len(pt.Hits) == out.Images {
			singles = append(singles, pt.Hits)
			if pt.Accuracy > best {
				best, bestMS = pt.Accuracy, pt.MeanMS
			}
		}
		if pt.Method.IsKnob() && len(pt.Hits) == out.Images {
			knob = append(knob, pt.Hits)
			iv, err := st.interval(func(idx []int) float64 { return acc(pt.Hits, idx) })
			if err != nil {
				return nil, err
			}
			row.AccuracyPct, row.AccuracyLo, row.AccuracyHi = iv.Value, iv.Lo, iv.Hi
		}
		rows = append(rows, row)
	}
	if len(singles) == 0 || len(knob) == 0 {
		return rows, nil
	}
	// The knob's best setting and the best single model on all the
	// images, named before resampling: a paired difference.
	bestOf := func(hs [][]int) []int {
		top := hs[0]
		for _, h := range hs {
			if acc(h, st.all()) > acc(top, st.all()) {
				top = h
			}
		}
		return top
	}
	bk, bs := bestOf(knob), bestOf(singles)
	ms.iv("best_single_top1_"+ds, st, func(idx []int) float64 { return acc(bs, idx) })
	ms.set("best_single_mean_ms_"+ds, bestMS)
	ms.iv("knob_best_minus_best_single_pp_"+ds, st, func(idx []int) float64 { return acc(bk, idx) - acc(bs, idx) })
	// The knob's cheapest point at least as accurate as the best single
	// model (a read-off of the curve, without an interval).
	for _, pt := range out.Points {
		if pt.Method.IsKnob() && pt.Accuracy >= best {
			if v, ok := ms.value("knob_ms_at_best_single_" + ds); !ok || pt.MeanMS < v {
				ms.set("knob_ms_at_best_single_"+ds, pt.MeanMS)
			}
		}
	}
	if k, ok := ms.value("knob_ms_at_best_single_" + ds); ok && k > 0 {
		ms.set("knob_speedup_at_best_single_"+ds, bestMS/k)
	}
	return rows, nil
}
