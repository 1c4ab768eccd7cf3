package experiments

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/report"
)

// selectModels runs (or finds) the profile chain and Algorithm 1.
func (e *Env) selectModels(ctx context.Context, s *Spec, p *SelectionParams) (*chain, stages.SelectModelsOut, error) {
	c, err := e.profiled(ctx, s, p.Chain, false)
	if err != nil {
		return nil, stages.SelectModelsOut{}, err
	}
	out, err := pipeline.Do(ctx, e.R, stages.SelectModels(), stages.SelectModelsIn{Store: c.joined.Store,
		Datasets: c.datasetNames(), Models: p.Only, Criterion: string(p.Criterion), Theta: p.Theta, Latency: c.latency})
	return c, out, err
}

// shareRecords turns a trace into Fig 5's records and scalars.
func shareRecords(out stages.SelectModelsOut) ([]report.OptimumShare, []report.Scalar) {
	tr := out.Trace
	var rows []report.OptimumShare
	for j, m := range out.Models {
		r := report.OptimumShare{Model: m, Cost: out.Cost[j], CostUnit: unitOf(out.CostSource),
			AccuracyPct: tr.Accuracy[j], SharePct: tr.OptimumShare[j],
			Images: int(tr.OptimumShare[j]*float64(tr.Images)/100 + 0.5)}
		if k := slices.Index(tr.Chosen, j); k >= 0 {
			r.Chosen, r.Order = true, k+1
		}
		rows = append(rows, r)
	}
	none := int(tr.NoneShare*float64(tr.Images)/100 + 0.5)
	return rows, []report.Scalar{
		{Name: "images", Value: float64(tr.Images), Unit: "images"},
		{Name: "none_share_pct", Value: tr.NoneShare, Unit: "%"},
		{Name: "none_images", Value: float64(none), Unit: "images"},
		{Name: "oracle_chosen_pct", Value: tr.Oracle, Unit: "%"},
		{Name: "oracle_all_pct", Value: out.OracleAll, Unit: "%"},
		{Name: "theta_pp", Value: tr.Theta, Unit: "points"},
	}
}

// stepRecords lists Algorithm 1's steps.
func stepRecords(out stages.SelectModelsOut) []report.SelectionStep {
	var rows []report.SelectionStep
	for i, st := range out.Trace.Steps {
		var set []string
		for _, j := range st.Set {
			set = append(set, out.Models[j])
		}
		rows = append(rows, report.SelectionStep{Step: i + 1, Candidate: out.Models[st.Candidate], Failed: st.Failed,
			GainPP: st.Gain, OraclePct: st.Oracle, Added: st.Added, Set: strings.Join(set, " + ")})
	}
	return rows
}

// selectionMeasures are the numbers the Fig 5 and Fig 6 claims compare.
func selectionMeasures(out stages.SelectModelsOut) map[string]any {
	tr := out.Trace
	top := 0
	for j := range out.Models {
		if tr.OptimumShare[j] > tr.OptimumShare[top] {
			top = j
		}
	}
	rank := out.Rank[top] + 1 // the top model's place in cost order, 1 = cheapest
	best := 0
	for j := range out.Models {
		if tr.Accuracy[j] > tr.Accuracy[best] {
			best = j
		}
	}
	var chosen []string
	for _, j := range tr.Chosen {
		chosen = append(chosen, out.Models[j])
	}
	m := map[string]any{
		"models":                 len(out.Models),
		"images":                 tr.Images,
		"top_share_model":        out.Models[top],
		"top_share_pct":          tr.OptimumShare[top],
		"top_share_cost_rank":    rank,
		"none_share_pct":         tr.NoneShare,
		"chosen":                 chosen,
		"n_chosen":               len(chosen),
		"oracle_chosen_pct":      tr.Oracle,
		"oracle_all_pct":         out.OracleAll,
		"best_single_model":      out.Models[best],
		"best_single_pct":        tr.Accuracy[best],
		"oracle_gain_over_best":  out.OracleAll - tr.Accuracy[best],
		"chosen_gain_over_best":  tr.Oracle - tr.Accuracy[best],
		"cost_source":            out.CostSource,
		"first_chosen_cost_rank": costRank(out, tr.Chosen),
	}
	// Statistics of the images, with their bootstrap intervals (points
	// and shares in percent).
	for stat, key := range map[string]string{
		"top_share":              "top_share_pct",
		"oracle_gain_over_best":  "oracle_gain_over_best",
		"alg1_minus_share_order": "alg1_minus_share_order_oracle_pp",
		"step2_subset_accuracy":  "step2_subset_accuracy_pct",
		"step2_gain":             "step2_gain_pp",
		"step3_gain":             "step3_gain_pp",
		"fail_after_2":           "fail_after_2_pct",
	} {
		if iv, ok := out.Stats[stat]; ok {
			m[key] = bootInterval(iv, 100)
		}
	}
	if iv, ok := out.Stats["n_models_optimal"]; ok {
		m["n_models_optimal_"+out.Criterion] = bootInterval(iv, 1)
	}
	if iv, ok := out.Stats["n_chosen"]; ok {
		m["n_chosen"] = bootInterval(iv, 1)
	}
	return m
}

// bootInterval is a bootstrap interval as measures.json holds it, scaled
// (100: a rate in percent).
func bootInterval(iv stages.Interval, scale float64) report.Interval {
	return report.Interval{Value: scale * iv.Estimate, Lo: scale * iv.Low, Hi: scale * iv.High,
		Method: fmt.Sprintf("percentile bootstrap over the %d images, %d resamples, seed %d, %g%% interval",
			iv.N, iv.Resamples, iv.Seed, 100*iv.Confidence)}
}

func costRank(out stages.SelectModelsOut, chosen []int) int {
	if len(chosen) == 0 {
		return 0
	}
	return out.Rank[chosen[0]] + 1
}

func selectionSettings(p *SelectionParams) map[string]any {
	return map[string]any{"criterion": p.Criterion, "theta_pp": p.Theta, "only": p.Only}
}

func runOptimumShares(ctx context.Context, e *Env, s *Spec, p *SelectionParams) (*Result, error) {
	_, out, err := e.selectModels(ctx, s, p)
	if err != nil {
		return nil, err
	}
	shares, scalars := shareRecords(out)
	res := &Result{
		Records:  map[string]any{"shares": shares, "steps": stepRecords(out)},
		Scalars:  scalars,
		Tables:   []string{"shares", "steps"},
		Figures:  []FigureOut{{View: "shares"}},
		Measures: selectionMeasures(out),
		Settings: selectionSettings(p),
		Notes: []string{fmt.Sprintf("Optimum model of an image: the cheapest model correct on it under %s; cost: %s.",
			p.Criterion.Label(), out.CostSource)},
	}
	return res, nil
}

func runSelectionTrace(ctx context.Context, e *Env, s *Spec, p *SelectionParams) (*Result, error) {
	_, out, err := e.selectModels(ctx, s, p)
	if err != nil {
		return nil, err
	}
	rows, picks := subsetRecords(out)
	m := selectionMeasures(out)
	for k, v := range picks {
		m[k] = v
	}
	_, scalars := shareRecords(out)
	return &Result{
		Records:  map[string]any{"subset_accuracy": rows, "steps": stepRecords(out)},
		Scalars:  scalars,
		Tables:   []string{"subset-accuracy", "steps"},
		Figures:  []FigureOut{{View: "subset-accuracy"}},
		Measures: m,
		Settings: selectionSettings(p),
		Notes: []string{"Panel a: every model's accuracy on all images (Algorithm 1 starts from the most frequent optimum, " +
			"not the most accurate); panels b and c: accuracy on the images the set chosen so far gets wrong, where " +
			"Algorithm 1 picks the most accurate."},
	}, nil
}

// subsetRecords are Fig 6's panels: a (all images), b and c (the images the
// first one and two chosen models fail), from the trace's steps.
func subsetRecords(out stages.SelectModelsOut) ([]report.SubsetAccuracy, map[string]any) {
	tr := out.Trace
	var rows []report.SubsetAccuracy
	picks := map[string]any{}
	panels := []string{"a", "b", "c"}
	for i, st := range tr.Steps {
		if i >= len(panels) {
			break
		}
		subset := "all images"
		if i > 0 {
			var before []string
			for _, j := range st.Before {
				before = append(before, out.Models[j])
			}
			subset = "images " + strings.Join(before, " and ") + " get wrong"
		}
		for j, m := range out.Models {
			rows = append(rows, report.SubsetAccuracy{Panel: panels[i], Subset: subset, Images: st.Failed, Model: m,
				AccuracyPct: st.AccuracyOnFailed[j], Picked: j == st.Candidate})
		}
		picks["panel_"+panels[i]+"_pick"] = out.Models[st.Candidate]
		best := 0
		for j := range out.Models {
			if st.AccuracyOnFailed[j] > st.AccuracyOnFailed[best] {
				best = j
			}
		}
		picks["panel_"+panels[i]+"_most_accurate"] = out.Models[best]
	}
	return rows, picks
}

// runPaperScale imports external per-image results and runs Algorithm 1,
// the oracle and the optimum shares on them, with latency only from the
// named published source.
func runPaperScale(ctx context.Context, e *Env, s *Spec, p *PaperScaleParams) (*Result, error) {
	dir, err := e.R.HashDir(s.Resolve(p.Import.Dir))
	if err != nil {
		return nil, err
	}
	e.input("per-image results", p.Import.Dir, dir)
	in := stages.ImportIn{Dir: dir, Format: p.Import.Format, Dataset: p.Import.Dataset, Models: p.Import.Models, Limit: e.Opt.Limit}
	if p.Import.GroundTruth != "" {
		gt, err := e.R.HashFile(s.Resolve(p.Import.GroundTruth))
		if err != nil {
			return nil, err
		}
		e.input("ground truth", p.Import.GroundTruth, gt)
		in.GroundTruth = &gt
	}
	lat, err := e.latency(s, p.Latency)
	if err != nil {
		return nil, err
	}
	lf, err := ReadLatency(s.Resolve(p.Latency))
	if err != nil {
		return nil, err
	}
	imp, err := pipeline.Do(ctx, e.R, stages.Import(), in)
	if err != nil {
		return nil, err
	}
	out, err := pipeline.Do(ctx, e.R, stages.SelectModels(), stages.SelectModelsIn{Store: imp.Store,
		Datasets: []string{p.Import.Dataset}, Criterion: string(p.Criterion), Theta: p.Theta, Latency: lat})
	if err != nil {
		return nil, err
	}
	tr := out.Trace
	var models []report.ModelSummary
	for j, m := range out.Models {
		r := report.ModelSummary{Model: m, Top1Pct: tr.Accuracy[j], LatencyMS: out.Cost[j],
			LatencySource: "published, " + shortSource(lf.Source), OptimumSharePct: tr.OptimumShare[j]}
		if k := slices.Index(tr.Chosen, j); k >= 0 {
			r.Chosen, r.Order = true, k+1
		}
		models = append(models, r)
	}
	slices.SortStableFunc(models, func(a, b report.ModelSummary) int {
		switch {
		case a.LatencyMS < b.LatencyMS:
			return -1
		case a.LatencyMS > b.LatencyMS:
			return 1
		}
		return 0
	})
	shares, scalars := shareRecords(out)
	m := selectionMeasures(out)
	m["imported_images"] = imp.Summary.Images
	m["imported_models"] = len(imp.Summary.Models)
	// Where the oracle's accuracy would put a single model.
	return &Result{
		Records:  map[string]any{"models": models, "shares": shares, "steps": stepRecords(out)},
		Scalars:  scalars,
		Tables:   []string{"models", "shares", "steps"},
		Figures:  []FigureOut{{View: "models"}, {File: s.Name + "-shares", View: "shares"}},
		Measures: m,
		Settings: map[string]any{"criterion": p.Criterion, "theta_pp": p.Theta, "import": p.Import, "latency_source": lf.Source},
		Notes: append([]string{
			fmt.Sprintf("%d images x %d models imported from %s (top-1 class per image; no scores, no timings).",
				imp.Summary.Images, len(imp.Summary.Models), p.Import.Dir),
			"Latency (and so the optimum model of each image and Algorithm 1's first pick) comes only from the published " +
				"figures named here, measured on other hardware than ours: " + lf.Source,
		}, lf.Notes...),
	}, nil
}

// shortSource keeps the first clause of a source for axis labels.
func shortSource(s string) string {
	if i := strings.IndexAny(s, ";("); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
