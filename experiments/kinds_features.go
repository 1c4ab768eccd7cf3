package experiments

import (
	"context"
	"fmt"
	"strings"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/report"
)

func runFeatureList(ctx context.Context, e *Env, s *Spec, _ *NoParams) (*Result, error) {
	var rows []report.FeatureDef
	kinds := map[string]int{}
	for i, f := range features.Features() {
		rows = append(rows, report.FeatureDef{Index: i + 1, Name: f.Name, Kind: f.Kind, Definition: f.Definition})
		kinds[f.Kind]++
	}
	return &Result{
		Records:  map[string]any{"features": rows},
		Tables:   []string{"features"},
		Measures: map[string]any{"n_features": len(rows), "kinds": kinds},
		Settings: map[string]any{"features_version": features.Version},
		Notes:    []string{"Generated from the feature code (package features); definitions are ours, the paper gives names only."},
	}, nil
}

// selectFeatures runs (or finds) feature selection under criterion.
func (e *Env) selectFeatures(ctx context.Context, s *Spec, p *FeatselParams, criterion profileview.Criterion) (*chain, stages.SelectFeaturesOut, error) {
	c, err := e.profiled(ctx, s, p.Chain, true)
	if err != nil {
		return nil, stages.SelectFeaturesOut{}, err
	}
	out, err := pipeline.Do(ctx, e.R, stages.SelectFeatures(), stages.SelectFeaturesIn{Store: c.joined.Store,
		Datasets: c.datasetNames(), ConfigKey: c.joined.ConfigKey, Names: c.joined.Names, Criterion: string(criterion),
		Folds: e.folds(p.Folds), Seed: p.Seed, Threshold: p.Threshold, Tolerance: p.Tolerance, Learner: p.Learner, K: p.K})
	return c, out, err
}

// folds is the spec's folds, unless the run overrides them.
func (e *Env) folds(spec int) int {
	if e.Opt.Folds > 0 {
		return e.Opt.Folds
	}
	return spec
}

// featselSettings are the settings a feature-selection result records:
// criterion (or criteria), learner and selection settings.
func featselSettings(p *FeatselParams, e *Env, criterion profileview.Criterion, criteria []profileview.Criterion) map[string]any {
	return map[string]any{"criterion": criterion, "criteria": criteria, "learner": p.Learner, "k": p.K,
		"folds": e.folds(p.Folds), "seed": p.Seed, "threshold": p.Threshold, "tolerance_pp": p.Tolerance}
}

func featselNotes(out stages.SelectFeaturesOut, folds int) []string {
	return []string{fmt.Sprintf("Targets: the optimum model of each image by %s; accuracy is the premodel's %d-fold "+
		"cross-validated accuracy at predicting it, pooled over folds.", out.Load.CostSource, folds)}
}

func runCorrelationFilter(ctx context.Context, e *Env, s *Spec, p *SelectFeaturesParams) (*Result, error) {
	_, out, err := e.selectFeatures(ctx, s, &p.FeatselParams, p.Criterion)
	if err != nil {
		return nil, err
	}
	var rows []report.CorrelationRemoval
	for _, r := range out.Removed {
		x := report.CorrelationRemoval{Removed: r.Removed, Kept: r.Kept, Reason: r.Reason}
		if r.R != nil {
			x.R = *r.R
		}
		rows = append(rows, x)
	}
	return &Result{
		Records:  map[string]any{"removed": rows},
		Tables:   []string{"removed"},
		Measures: map[string]any{"n_candidates": len(out.Sweep[0].Features), "n_removed": len(rows), "n_after_filter": len(out.Filtered)},
		Settings: featselSettings(&p.FeatselParams, e, p.Criterion, nil),
		Notes:    append(featselNotes(out, e.folds(p.Folds)), "Of two features with |r| above the threshold, the one with more mutual information with the target is kept (the paper does not state its rule)."),
	}, nil
}

func runKeptFeatures(ctx context.Context, e *Env, s *Spec, p *SelectFeaturesParams) (*Result, error) {
	_, out, err := e.selectFeatures(ctx, s, &p.FeatselParams, p.Criterion)
	if err != nil {
		return nil, err
	}
	imp := map[string]float64{}
	for _, x := range out.Importance {
		imp[x.Feature] = x.Percent
	}
	var rows []report.KeptFeature
	for _, f := range out.Kept {
		kind := ""
		if d, ok := features.Lookup(f); ok {
			kind = d.Kind
		}
		rows = append(rows, report.KeptFeature{Feature: f, Kind: kind, ImportancePct: imp[f]})
	}
	scalars := []report.Scalar{
		{Name: "cv_accuracy_all_features", Value: out.AllAccuracy, Unit: "%"},
		{Name: "cv_accuracy_after_filter", Value: out.Sweep[min(1, len(out.Sweep)-1)].Accuracy, Unit: "%"},
		{Name: "cv_accuracy_kept", Value: out.KeptAccuracy, Unit: "%"},
		{Name: "cv_accuracy_no_features", Value: out.Baseline, Unit: "%"},
	}
	return &Result{
		Records: map[string]any{"kept": rows},
		Scalars: scalars,
		Tables:  []string{"kept", "scalars"},
		Measures: map[string]any{"n_kept": len(rows), "kept": out.Kept, "kept_cv_accuracy": out.KeptAccuracy,
			"all_cv_accuracy": out.AllAccuracy, "kept_minus_all": out.KeptAccuracy - out.AllAccuracy,
			"no_feature_cv_accuracy": out.Baseline},
		Settings: featselSettings(&p.FeatselParams, e, p.Criterion, nil),
		Notes:    featselNotes(out, e.folds(p.Folds)),
	}, nil
}

func runImportance(ctx context.Context, e *Env, s *Spec, p *ImportanceParams) (*Result, error) {
	var rows []report.Importance
	m := map[string]any{}
	var notes []string
	for _, c := range p.Criteria {
		_, out, err := e.selectFeatures(ctx, s, &p.FeatselParams, c)
		if err != nil {
			return nil, err
		}
		top, topPct := "", -1.0
		for _, x := range out.Importance {
			rows = append(rows, report.Importance{Criterion: c.Label(), Feature: x.Feature,
				AccuracyWithoutPct: x.AccuracyWithout, DropPP: x.Drop, ImportancePct: x.Percent})
			if x.Percent > topPct {
				top, topPct = x.Feature, x.Percent
			}
		}
		m["top_feature_"+string(c)] = top
		m["top_importance_pct_"+string(c)] = topPct
		m["n_kept_"+string(c)] = len(out.Kept)
		notes = featselNotes(out, e.folds(p.Folds))
	}
	return &Result{
		Records:  map[string]any{"importance": rows},
		Tables:   []string{"importance"},
		Figures:  []FigureOut{{View: "importance"}},
		Measures: m,
		Settings: featselSettings(&p.FeatselParams, e, "", p.Criteria),
		Notes: append(notes, "Importance: the CV accuracy lost when the feature alone is removed from the kept set, "+
			"clamped at zero and normalised to 100% ("+joinCriteria(p.Criteria)+")."),
	}, nil
}

func runFeatureSweep(ctx context.Context, e *Env, s *Spec, p *SweepParams) (*Result, error) {
	c, out, err := e.selectFeatures(ctx, s, &p.FeatselParams, p.Criterion)
	if err != nil {
		return nil, err
	}
	var ms []float64
	if p.Timing > 0 {
		imgs, err := stages.TimingImages(e.R, c.sets[0], p.Timing)
		if err != nil {
			return nil, err
		}
		t, err := pipeline.Do(ctx, e.R, stages.FeatureTiming(), stages.FeatureTimingIn{Sets: out.SweepSets, Images: imgs,
			Reps: 3, Platform: stages.PlatformID()})
		if err != nil {
			return nil, err
		}
		ms = t.MS
	}
	var rows []report.SweepPoint
	for i, p := range out.Sweep {
		r := report.SweepPoint{NFeatures: p.NFeatures, Stage: p.Stage, AccuracyPct: p.Accuracy,
			Removed: out.Reached[i], Features: strings.Join(p.Features, " ")}
		if i < len(ms) {
			v := ms[i]
			r.ExtractMS = &v
		}
		rows = append(rows, r)
	}
	m := map[string]any{"n_kept": len(out.Kept), "kept_cv_accuracy": out.KeptAccuracy, "all_cv_accuracy": out.AllAccuracy,
		"kept_minus_all": out.KeptAccuracy - out.AllAccuracy}
	if len(ms) > 1 {
		m["extract_ms_all"] = ms[0]
		// The kept set's point: the sweep entry with as many features.
		for i, p := range out.Sweep {
			if p.Stage == "elimination" && p.NFeatures == len(out.Kept) {
				m["extract_ms_kept"] = ms[i]
				m["extract_speedup_kept"] = ms[0] / ms[i]
			}
		}
	}
	return &Result{
		Records:  map[string]any{"sweep": rows},
		Tables:   []string{"sweep"},
		Figures:  []FigureOut{{View: "sweep"}},
		Measures: m,
		Settings: featselSettings(&p.FeatselParams, e, p.Criterion, nil),
		Notes: append(featselNotes(out, e.folds(p.Folds)), "Extraction time: decode the JPEG and compute the set, one thread, mean over "+
			"the first images of the set after a warm-up pass; measured on this machine."),
	}, nil
}

func joinCriteria(cs []profileview.Criterion) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c)
	}
	return strings.Join(parts, ", ")
}
