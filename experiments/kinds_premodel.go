package experiments

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/method"

	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/report"
)

// premodelRun is one cross-validated premodel configuration.
type premodelRun struct {
	group   string // what the figure varies ("" for Fig 8)
	learner string
	firstN  int
	base    bool
}

// premodelCV runs the chain, feature selection on each image set (the
// premodel reads the kept features, as in the paper), and the premodel's
// cross-validation for each run, per set; it returns the summaries.
func (e *Env) premodelCV(ctx context.Context, s *Spec, p *PremodelParams, runs []premodelRun) ([]report.MethodSummary, map[string]stages.PremodelCVOut, error) {
	c, err := e.profiled(ctx, s, p.Chain, true)
	if err != nil {
		return nil, nil, err
	}
	folds := e.folds(p.Folds)
	var rows []report.MethodSummary
	outs := map[string]stages.PremodelCVOut{}
	for _, d := range c.sets {
		fs, err := e.keptFeatures(ctx, c, d, p)
		if err != nil {
			return nil, nil, err
		}
		dir := d.Dir
		for _, r := range runs {
			out, err := pipeline.Do(ctx, e.R, stages.PremodelCV(), stages.PremodelCVIn{Store: c.joined.Store, Dataset: d.Name,
				Images: &dir, Criterion: string(p.Criterion), Names: fs.Kept, ConfigKey: c.joined.ConfigKey, Learner: r.learner,
				K: p.K, Theta: p.Theta, Folds: folds, Seed: p.Seed, FirstN: r.firstN, Baselines: r.base,
				Platform: stages.PlatformID()})
			if err != nil {
				return nil, nil, fmt.Errorf("%s %s: %w", d.Name, r.learner, err)
			}
			outs[d.Name+"/"+r.group] = out
			rows = append(rows, summarise(d.Name, r.group, out)...)
		}
	}
	return rows, outs, nil
}

// geo is the geometric mean (0 when any value is 0), with the min and max.
func geo(v []float64) (g, lo, hi float64) {
	if len(v) == 0 {
		return 0, 0, 0
	}
	lo, hi = v[0], v[0]
	sum := 0.0
	zero := false
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
		if x <= 0 {
			zero = true
			continue
		}
		sum += math.Log(x)
	}
	if zero {
		return 0, lo, hi
	}
	return math.Exp(sum / float64(len(v))), lo, hi
}

func geoPtr(v []float64, ok bool) *float64 {
	if !ok || len(v) == 0 {
		return nil
	}
	g, _, _ := geo(v)
	return &g
}

// summarise folds a premodel CV's folds into one row per method.
func summarise(dataset, group string, out stages.PremodelCVOut) []report.MethodSummary {
	type acc struct {
		kind                                   method.Kind
		top1, top5, ms, over, p, r, f, of, sel []float64
		hasPRF, hasTop5                        bool
		cands                                  []string
		share                                  map[string]float64
	}
	var order []method.Name
	by := map[method.Name]*acc{}
	for _, fold := range out.Folds {
		oracle := 0.0
		for _, m := range fold.Methods {
			if m.Name == method.OracleAll {
				oracle = m.Top1
			}
		}
		for _, m := range append(append([]stages.FoldMethod{}, fold.Methods...), fold.Baselines...) {
			a, ok := by[m.Name]
			if !ok {
				a = &acc{kind: m.Kind, hasPRF: m.Precision != nil, hasTop5: m.Kind != method.Baseline, share: map[string]float64{}}
				by[m.Name] = a
				order = append(order, m.Name)
			}
			a.top1, a.top5, a.ms, a.over = append(a.top1, m.Top1), append(a.top5, m.Top5), append(a.ms, m.MeanMS), append(a.over, m.OverheadMS)
			if m.Precision != nil {
				a.p, a.r, a.f = append(a.p, *m.Precision), append(a.r, *m.Recall), append(a.f, *m.F1)
			}
			if oracle > 0 {
				a.of = append(a.of, 100*m.Top1/oracle)
			}
			for model, v := range m.Share {
				a.share[model] += v / float64(len(out.Folds))
			}
			if m.Kind == method.Premodel {
				a.sel = append(a.sel, fold.SelectionAcc)
				for _, c := range fold.Candidates {
					if !slices.Contains(a.cands, c) {
						a.cands = append(a.cands, c)
					}
				}
			}
		}
	}
	// Methods in a fixed order: premodel, baselines, single models by
	// cost, oracles.
	cost := map[string]float64{}
	for j, m := range out.Models {
		cost[m] = out.CostMS[j]
	}
	slices.SortStableFunc(order, func(x, y method.Name) int {
		a, b := by[x], by[y]
		if a.kind.Rank() != b.kind.Rank() {
			return a.kind.Rank() - b.kind.Rank()
		}
		if a.kind == method.Single {
			switch {
			case cost[string(x)] < cost[string(y)]:
				return -1
			case cost[string(x)] > cost[string(y)]:
				return 1
			}
		}
		return 0
	})
	var rows []report.MethodSummary
	for _, name := range order {
		a := by[name]
		r := report.MethodSummary{Dataset: dataset, Group: group, Method: name, Kind: a.kind, Folds: len(out.Folds),
			EnergyStatus: out.EnergyStatus, Candidates: strings.Join(a.cands, " ")}
		r.Top1Pct, r.Top1MinPct, r.Top1MaxPct = geo(a.top1)
		r.MeanMS, r.MeanMinMS, r.MeanMaxMS = geo(a.ms)
		r.Top5Pct = geoPtr(a.top5, a.hasTop5)
		if a.kind == method.Premodel {
			r.OverheadMS, _, _ = geo(a.over)
			r.SelectionAccPct = geoPtr(a.sel, true)
		}
		r.PrecisionPct, r.RecallPct, r.F1Pct = geoPtr(a.p, a.hasPRF), geoPtr(a.r, a.hasPRF), geoPtr(a.f, a.hasPRF)
		r.OfOraclePct, _, _ = geo(a.of)
		if a.kind != method.Single {
			r.Routing = routing(a.share, out.Models, cost)
		}
		rows = append(rows, r)
	}
	return rows
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

// keptFeatures runs (or finds) feature selection on one image set: the
// premodel reads the kept features, as in the paper (kNN, the spec's K).
func (e *Env) keptFeatures(ctx context.Context, c *chain, d stages.DataSet, p *PremodelParams) (stages.SelectFeaturesOut, error) {
	return pipeline.Do(ctx, e.R, stages.SelectFeatures(), stages.SelectFeaturesIn{Store: c.joined.Store,
		Datasets: []string{d.Name}, ConfigKey: c.joined.ConfigKey, Names: c.joined.Names, Criterion: string(p.Criterion),
		Folds: e.folds(p.Folds), Seed: p.Seed, Threshold: p.Threshold, Tolerance: p.Tolerance, Learner: "knn", K: p.K,
		Resamples: p.resamples(), KeepShare: p.keepShare()})
}

// premodelSettings are the settings a premodel result records: the
// learner (or the learners) and the premodel's settings.
func premodelSettings(p *PremodelParams, e *Env, learner string, learners []string) map[string]any {
	return map[string]any{"criterion": p.Criterion, "learner": learner, "learners": learners, "k": p.K,
		"folds": e.folds(p.Folds), "seed": p.Seed, "theta_pp": p.Theta, "threshold": p.Threshold, "tolerance_pp": p.Tolerance}
}

func premodelNotes(p *PremodelParams, e *Env) []string {
	return []string{
		fmt.Sprintf("%d-fold cross-validation per image set, stratified by each image's optimum model (seed %d); "+
			"figures are geometric means over the folds, [min, max] the folds' spread.", e.folds(p.Folds), p.Seed),
		"The premodel reads the features kept by feature selection on the same image set (Table 4's procedure, kNN K as set), " +
			"and its candidates are Algorithm 1's choice on each training fold.",
		"Latency: each model's mean latency from the cost profile, plus for the premodel its feature extraction and decision, " +
			"timed here on the test images; precision, recall and F1 are macro averages over the classes in each fold.",
	}
}

func runOverall(ctx context.Context, e *Env, s *Spec, p *OneLearnerParams) (*Result, error) {
	rows, _, err := e.premodelCV(ctx, s, &p.PremodelParams, []premodelRun{{learner: p.Learner, base: true}})
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	var notes []string
	for _, ds := range datasetsOf(rows) {
		var pm, best, oracle, casc, rnd *report.MethodSummary
		for i := range rows {
			r := &rows[i]
			if r.Dataset != ds {
				continue
			}
			switch {
			case r.Kind == method.Premodel:
				pm = r
			case r.Kind == method.Single && (best == nil || r.Top1Pct > best.Top1Pct):
				best = r
			case r.Method == method.OracleAll:
				oracle = r
			case r.Method == method.CascadeMatched:
				casc = r
			case r.Method == method.RandomMatched:
				rnd = r
			}
		}
		if pm == nil || best == nil || oracle == nil {
			continue
		}
		m["premodel_top1_"+ds] = pm.Top1Pct
		m["premodel_mean_ms_"+ds] = pm.MeanMS
		m["best_single_"+ds] = best.Method
		m["best_single_top1_"+ds] = best.Top1Pct
		m["best_single_mean_ms_"+ds] = best.MeanMS
		m["top1_gain_pp_"+ds] = pm.Top1Pct - best.Top1Pct
		m["speedup_vs_best_single_"+ds] = best.MeanMS / pm.MeanMS
		m["oracle_top1_"+ds] = oracle.Top1Pct
		m["of_oracle_pct_"+ds] = pm.OfOraclePct
		m["premodel_overhead_ms_"+ds] = pm.OverheadMS
		if pm.SelectionAccPct != nil {
			m["selection_accuracy_"+ds] = *pm.SelectionAccPct
		}
		if casc != nil {
			m["cascade_top1_"+ds] = casc.Top1Pct
			m["premodel_minus_cascade_pp_"+ds] = pm.Top1Pct - casc.Top1Pct
		}
		if rnd != nil {
			m["random_top1_"+ds] = rnd.Top1Pct
			m["premodel_minus_random_pp_"+ds] = pm.Top1Pct - rnd.Top1Pct
		}
		notes = append(notes, fmt.Sprintf("%s: the premodel reaches %.1f%% top-1 at %.2f ms per image; the most accurate "+
			"single model, %s, %.1f%% at %.2f ms (%.2fx the premodel's time); the oracle %.1f%%.", ds, pm.Top1Pct, pm.MeanMS,
			best.Method, best.Top1Pct, best.MeanMS, best.MeanMS/pm.MeanMS, oracle.Top1Pct))
	}
	return &Result{
		Records:  map[string]any{"methods": rows},
		Tables:   []string{"overall"},
		Figures:  []FigureOut{{View: "overall"}},
		Measures: m,
		Settings: premodelSettings(&p.PremodelParams, e, p.Learner, nil),
		Notes: append(append(notes, premodelNotes(&p.PremodelParams, e)...),
			"Baselines: the max-softmax cascade over the same candidates (one shared threshold calibrated on the training folds "+
				"for a mean latency at most the premodel's on the test fold), and random routing between the two candidates "+
				"bracketing that latency (seeded). Energy: as the cost profile says (no meter here: not measured)."),
	}, nil
}

func datasetsOf(rows []report.MethodSummary) []string {
	var out []string
	for _, r := range rows {
		if !slices.Contains(out, r.Dataset) {
			out = append(out, r.Dataset)
		}
	}
	return out
}

// premodelRows keeps the premodel rows (the figures' subject).
func premodelRows(rows []report.MethodSummary) []report.MethodSummary {
	var out []report.MethodSummary
	for _, r := range rows {
		if r.Kind == method.Premodel {
			out = append(out, r)
		}
	}
	return out
}

func groupMeasures(rows []report.MethodSummary) map[string]any {
	m := map[string]any{}
	for _, ds := range datasetsOf(rows) {
		var best *report.MethodSummary
		for i := range rows {
			if rows[i].Dataset == ds && (best == nil || rows[i].Top1Pct > best.Top1Pct) {
				best = &rows[i]
			}
		}
		if best != nil {
			m["best_group_"+ds] = best.Group
			m["best_top1_"+ds] = best.Top1Pct
			// The paper's finding is about the learner kind: is the best
			// premodel kNN at every level (knn or the kNN cascade)?
			knn := true
			for _, l := range strings.Split(best.Group, ".") {
				knn = knn && (l == "knn" || l == "knn-cascade")
			}
			m["best_is_knn_"+ds] = knn
		}
		for _, r := range rows {
			if r.Dataset == ds {
				m["top1_"+ds+"_"+r.Group] = r.Top1Pct
				m["overhead_ms_"+ds+"_"+r.Group] = r.OverheadMS
			}
		}
	}
	return m
}

func runLearners(ctx context.Context, e *Env, s *Spec, p *LearnersParams) (*Result, error) {
	var runs []premodelRun
	for _, l := range p.Learners {
		runs = append(runs, premodelRun{group: l, learner: l})
	}
	rows, _, err := e.premodelCV(ctx, s, &p.PremodelParams, runs)
	if err != nil {
		return nil, err
	}
	rows = premodelRows(rows)
	return &Result{Records: map[string]any{"methods": rows}, Tables: []string{"groups"}, Figures: []FigureOut{{View: "groups"}},
		Measures: groupMeasures(rows), Settings: premodelSettings(&p.PremodelParams, e, "", p.Learners),
		Notes: premodelNotes(&p.PremodelParams, e)}, nil
}

func runHierarchies(ctx context.Context, e *Env, s *Spec, p *LearnersParams) (*Result, error) {
	var runs []premodelRun
	for _, l := range p.Learners {
		// An X.Y.Z hierarchy has one level per candidate: its candidates
		// are the first that many of Algorithm 1's order.
		runs = append(runs, premodelRun{group: l, learner: l, firstN: strings.Count(l, ".") + 1})
	}
	rows, _, err := e.premodelCV(ctx, s, &p.PremodelParams, runs)
	if err != nil {
		return nil, err
	}
	rows = premodelRows(rows)
	return &Result{Records: map[string]any{"methods": rows}, Tables: []string{"groups"}, Figures: []FigureOut{{View: "groups"}},
		Measures: groupMeasures(rows), Settings: premodelSettings(&p.PremodelParams, e, "", p.Learners),
		Notes: append(premodelNotes(&p.PremodelParams, e), "Each hierarchy's candidates: the first N models of Algorithm 1's full order on each training fold, N its number of levels.")}, nil
}

func runModelCount(ctx context.Context, e *Env, s *Spec, p *OneLearnerParams) (*Result, error) {
	models, err := e.models(s, p.Chain)
	if err != nil {
		return nil, err
	}
	var runs []premodelRun
	for n := 1; n <= len(models); n++ {
		runs = append(runs, premodelRun{group: fmt.Sprintf("%d models", n), learner: p.Learner, firstN: n})
	}
	rows, _, err := e.premodelCV(ctx, s, &p.PremodelParams, runs)
	if err != nil {
		return nil, err
	}
	rows = premodelRows(rows)
	return &Result{Records: map[string]any{"methods": rows}, Tables: []string{"groups"}, Figures: []FigureOut{{View: "groups"}},
		Measures: groupMeasures(rows), Settings: premodelSettings(&p.PremodelParams, e, p.Learner, nil),
		Notes: append(premodelNotes(&p.PremodelParams, e), "N models: the premodel's candidates are the first N of Algorithm 1's full order (θ = 0) on each training fold; the bars' ends are the folds' min and max.")}, nil
}

func runBudgetCurve(ctx context.Context, e *Env, s *Spec, p *CurveParams) (*Result, error) {
	c, err := e.profiled(ctx, s, p.Chain, true)
	if err != nil {
		return nil, err
	}
	var rows []report.CurvePoint
	m := map[string]any{}
	for _, d := range c.sets {
		fs, err := e.keptFeatures(ctx, c, d, &p.PremodelParams)
		if err != nil {
			return nil, err
		}
		overhead := 0.0
		if p.Timing > 0 {
			imgs, err := stages.TimingImages(e.R, d, p.Timing)
			if err != nil {
				return nil, err
			}
			t, err := pipeline.Do(ctx, e.R, stages.FeatureTiming(), stages.FeatureTimingIn{Sets: [][]string{fs.Kept}, Images: imgs,
				Reps: 3, Platform: stages.PlatformID()})
			if err != nil {
				return nil, err
			}
			overhead = t.MS[0]
		}
		out, err := pipeline.Do(ctx, e.R, stages.Curve(), stages.CurveIn{Store: c.joined.Store, Dataset: d.Name,
			Criterion: string(p.Criterion), Names: fs.Kept, ConfigKey: c.joined.ConfigKey, Learner: p.Learner, K: p.K,
			Theta: p.Theta, Folds: e.folds(p.Folds), Seed: p.Seed, OverheadMS: overhead})
		if err != nil {
			return nil, err
		}
		best := -1.0
		for _, p := range out.Points {
			rows = append(rows, report.CurvePoint{Dataset: d.Name, Method: p.Method, Param: p.Param, AccuracyPct: p.Accuracy, MeanMS: p.MeanMS})
			if _, single := p.Method.SingleModel(); single && p.Accuracy > best {
				best = p.Accuracy
				m["best_single_mean_ms_"+d.Name] = p.MeanMS
			}
		}
		// The knob's cheapest point at least as accurate as the best single model.
		for _, p := range out.Points {
			if p.Method.IsKnob() && p.Accuracy >= best {
				if v, ok := m["knob_ms_at_best_single_"+d.Name].(float64); !ok || p.MeanMS < v {
					m["knob_ms_at_best_single_"+d.Name] = p.MeanMS
				}
			}
		}
		m["best_single_top1_"+d.Name] = best
		if k, ok := m["knob_ms_at_best_single_"+d.Name].(float64); ok && k > 0 {
			m["knob_speedup_at_best_single_"+d.Name] = m["best_single_mean_ms_"+d.Name].(float64) / k
		}
		knobBest := 0.0
		for _, p := range out.Points {
			if p.Method.IsKnob() {
				knobBest = max(knobBest, p.Accuracy)
			}
		}
		m["knob_best_minus_best_single_pp_"+d.Name] = knobBest - best
		m["knob_overhead_ms_"+d.Name] = overhead
	}
	return &Result{Records: map[string]any{"curve": rows}, Tables: []string{"curve"}, Figures: []FigureOut{{View: "curve"}},
		Measures: m, Settings: premodelSettings(&p.PremodelParams, e, p.Learner, nil),
		Notes: []string{"Budget knob: the premodel's cumulative scores over Algorithm 1's candidates (cost order), from out-of-fold " +
			"decisions, choose the first candidate whose cumulative score reaches alpha; every alpha is one point. Its cost " +
			"per image includes the feature extraction time measured on this machine.",
			"Softmax cascade: one shared threshold on the stored top-1 score of each model, every threshold one point.",
			"All points are accuracy and mean latency on every image of the set (no held-out calibration: a curve, not a tuned setting)."}}, nil
}
