package experiments

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/bootstrap"
	"github.com/modelpick/modelpick/featsel"
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
		Folds: e.folds(p.Folds), Seed: p.Seed, Threshold: p.Threshold, Tolerance: p.Tolerance, Learner: p.Learner, K: p.K,
		Resamples: p.resamples(), KeepShare: p.keepShare()})
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
		"folds": e.folds(p.Folds), "seed": p.Seed, "threshold": p.Threshold, "tolerance_pp": p.Tolerance,
		"resamples": p.resamples(), "keep_share": p.keepShare()}
}

func featselNotes(out stages.SelectFeaturesOut, folds int, p *FeatselParams) []string {
	return []string{
		fmt.Sprintf("Targets: the optimum model of each image by %s. Accuracy is the premodel's under the criterion (§5.4: "+
			"\"the impact on premodel execution time and top-1 accuracy\"): the share of images whose chosen model is right, "+
			"%d-fold cross-validated (stratified by target) and pooled over the folds; an image the premodel sends to none runs "+
			"the cheapest model, as the premodel's default fallback does. Selection accuracy (naming the optimum model) is "+
			"recorded beside it.", out.Load.CostSource, folds),
		fmt.Sprintf("%s. Intervals: %s.", out.Rule, resampleMethod(p)),
	}
}

// resampleMethod says how a Spread's interval was computed.
func resampleMethod(p *FeatselParams) string {
	return fmt.Sprintf("median and %.0f%% percentile interval over %d bootstrap resamples of the images (seed %d), "+
		"the whole selection re-run on each (copies of an image share a fold)", 100*featsel.Level, p.resamples(), p.Seed)
}

// spread is a measure with its interval over the resamples; nil when no
// resample defines it.
func spread(s featsel.Spread, p *FeatselParams) any {
	if s.N == 0 {
		return nil
	}
	return report.Interval{Value: s.Median, Lo: s.Lo, Hi: s.Hi, Method: resampleMethod(p)}
}

// critKey names a measure for a criterion: top-1 keys as they are; a
// top-5 key names top5 where the top-1 key names top1, else takes the
// suffix _top5 (claims.yaml's rule).
func critKey(name string, c profileview.Criterion) string {
	if c != profileview.Top5 {
		return name
	}
	if strings.Contains(name, "top1") {
		return strings.ReplaceAll(name, "top1", "top5")
	}
	return name + "_top5"
}

// absR is |r| between a and each of bs: its smallest and largest on all
// images, and the same statistic over the resamples.
type absR struct {
	min, max       float64
	minRes, maxRes featsel.Spread
	ok             bool
}

func absRGroup(pairs []stages.Pair, a string, bs []string) absR {
	var vals []float64
	var per [][]float64
	for _, p := range pairs {
		if !((p.A == a && slices.Contains(bs, p.B)) || (p.B == a && slices.Contains(bs, p.A))) || p.R == nil {
			continue
		}
		vals = append(vals, math.Abs(*p.R))
		for b, r := range p.Resampled {
			if b >= len(per) {
				per = append(per, nil)
			}
			v := math.NaN()
			if r != nil {
				v = math.Abs(*r)
			}
			per[b] = append(per[b], v)
		}
	}
	if len(vals) != len(bs) {
		return absR{}
	}
	mins, maxs := make([]float64, len(per)), make([]float64, len(per))
	for b, v := range per {
		mins[b], maxs[b] = slices.Min(v), slices.Max(v) // NaN propagates: SpreadOf leaves that resample out
	}
	return absR{min: slices.Min(vals), max: slices.Max(vals), minRes: featsel.SpreadOf(mins), maxRes: featsel.SpreadOf(maxs), ok: true}
}

// table3Pairs are the |r| Table 3 prints, as measure name, kept feature
// and the removed features.
var table3Pairs = []struct {
	name, kept string
	removed    []string
}{
	{"avg_perceived_brightness_avg_brightness", "avg_perceived_brightness", []string{"avg_brightness"}},
	{"edge_length1_edge_length4_7", "edge_length1", []string{"edge_length4", "edge_length5", "edge_length6", "edge_length7"}},
	{"hue1_hue2_6", "hue1", []string{"hue2", "hue3", "hue4", "hue5", "hue6"}},
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
	m := map[string]any{"n_candidates": len(out.Sweep[0].Features), "n_removed": len(rows), "n_after_filter": len(out.Filtered),
		"after_filter": out.Filtered}
	var pairRows []report.Scalar
	for _, g := range table3Pairs {
		r := absRGroup(out.Pairs, g.kept, g.removed)
		if !r.ok {
			continue
		}
		if len(g.removed) == 1 {
			m["abs_r_"+g.name] = spread(r.minRes, &p.FeatselParams)
			pairRows = append(pairRows, report.Scalar{Name: "|r| " + g.kept + " – " + g.removed[0] + " (all images)", Value: r.min})
			continue
		}
		m["abs_r_min_"+g.name] = spread(r.minRes, &p.FeatselParams)
		m["abs_r_max_"+g.name] = spread(r.maxRes, &p.FeatselParams)
		pairRows = append(pairRows, report.Scalar{Name: "smallest |r| " + g.kept + " – " + strings.Join(g.removed, ", ") + " (all images)", Value: r.min},
			report.Scalar{Name: "largest |r| " + g.kept + " – " + strings.Join(g.removed, ", ") + " (all images)", Value: r.max})
	}
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return &Result{
		Records:  map[string]any{"removed": rows},
		Scalars:  pairRows,
		Tables:   []string{"removed", "scalars"},
		Measures: critKeys(m, p.Criterion),
		Settings: featselSettings(&p.FeatselParams, e, p.Criterion, nil),
		Notes: append(featselNotes(out, e.folds(p.Folds), &p.FeatselParams),
			"Of two features with |r| above the threshold, the one with more mutual information with the target is kept (the paper does not state its rule).",
			"The paper's pairs of Table 3: |r| on all images in the table above; the measures are the same statistic over the resamples."),
	}, nil
}

// critKeys renames every measure for the criterion (critKey).
func critKeys(m map[string]any, c profileview.Criterion) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[critKey(k, c)] = v
	}
	return out
}

func runKeptFeatures(ctx context.Context, e *Env, s *Spec, p *SelectFeaturesParams) (*Result, error) {
	_, out, err := e.selectFeatures(ctx, s, &p.FeatselParams, p.Criterion)
	if err != nil {
		return nil, err
	}
	fp := &p.FeatselParams
	var rows []report.KeptFeature
	for _, f := range out.Frequency {
		kind := ""
		if d, ok := features.Lookup(f.Feature); ok {
			kind = d.Kind
		}
		r := report.KeptFeature{Feature: f.Feature, Kind: kind, KeptSharePct: 100 * f.Share, InTable4: f.Kept}
		for _, x := range out.Importance {
			if x.Feature == f.Feature {
				v := x.PercentResampled
				r.ImportancePct, r.ImportanceLoPct, r.ImportanceHiPct = &v.Median, &v.Lo, &v.Hi
			}
		}
		rows = append(rows, r)
	}
	slices.SortStableFunc(rows, func(a, b report.KeptFeature) int { return cmp.Compare(b.KeptSharePct, a.KeptSharePct) })
	sm := out.Summary
	scalars := []report.Scalar{
		{Name: "features kept per resample (median)", Value: sm.NKept.Median},
		{Name: "features in Table 4 (kept by at least " + fmt.Sprintf("%.0f%%", 100*fp.keepShare()) + " of resamples)", Value: float64(sm.NKeptRule)},
		{Name: "premodel accuracy: all features, all images", Value: out.All.Accuracy, Unit: "%"},
		{Name: "premodel accuracy: Table 4's set (median over resamples)", Value: sm.KeptAccuracy.Median, Unit: "%"},
		{Name: "premodel accuracy: all features (median over resamples)", Value: sm.AllAccuracy.Median, Unit: "%"},
		{Name: "premodel accuracy: no feature (median over resamples)", Value: sm.NoFeature.Median, Unit: "%"},
		{Name: "selection accuracy: Table 4's set (median over resamples)", Value: sm.KeptSelection.Median, Unit: "%"},
	}
	freq := map[string]float64{}
	for _, f := range out.Frequency {
		freq[f.Feature] = f.Share
	}
	m := map[string]any{"n_kept": spread(sm.NKept, fp), "n_kept_rule": sm.NKeptRule, "kept": out.Kept, "kept_share": freq,
		"kept_premodel_accuracy": spread(sm.KeptAccuracy, fp), "all_premodel_accuracy": spread(sm.AllAccuracy, fp),
		"kept_minus_all": spread(sm.KeptMinusAll, fp), "no_feature_premodel_accuracy": spread(sm.NoFeature, fp),
		"kept_selection_accuracy": spread(sm.KeptSelection, fp)}
	return &Result{
		Records:  map[string]any{"kept": rows},
		Scalars:  scalars,
		Tables:   []string{"kept", "scalars"},
		Measures: critKeys(m, p.Criterion),
		Settings: featselSettings(fp, e, p.Criterion, nil),
		Notes: append(featselNotes(out, e.folds(p.Folds), fp), "Every feature the correlation filter left is listed, by how often "+
			"elimination kept it; importance (Fig 7's, of Table 4's set) is the median share over the resamples with its interval."),
	}, nil
}

func runImportance(ctx context.Context, e *Env, s *Spec, p *ImportanceParams) (*Result, error) {
	var rows []report.Importance
	m := map[string]any{}
	var notes []string
	fp := &p.FeatselParams
	for _, c := range p.Criteria {
		_, out, err := e.selectFeatures(ctx, s, fp, c)
		if err != nil {
			return nil, err
		}
		set := out.Importance
		if p.Filtered {
			set = out.FilteredImportance
		}
		for i, x := range set {
			rows = append(rows, report.Importance{Criterion: c.Label(), Feature: x.Feature, Rank: i + 1, InTable4: x.Kept,
				KeptSharePct: 100 * x.KeptShare, AccuracyWithoutPct: x.AccuracyWithout, DropPP: x.Drop,
				DropMedianPP: x.DropResampled.Median, DropLoPP: x.DropResampled.Lo, DropHiPP: x.DropResampled.Hi,
				ImportancePct: x.PercentResampled.Median, ImportanceLoPct: x.PercentResampled.Lo, ImportanceHiPct: x.PercentResampled.Hi})
		}
		sm, k := out.Summary, string(c)
		if p.Filtered {
			m["importance_drop_at_"+k] = spread(sm.DropAt, fp)
			m["kept_are_most_important_"+k] = sm.KeptAreMostImportant
			m["own_kept_most_important_share_"+k] = sm.OwnKeptMostImportant
			m["n_after_filter_"+k] = len(out.Filtered)
		} else {
			m["top_feature_"+k] = sm.TopFeature
			m["top_importance_pct_"+k] = spread(sm.TopImportancePct, fp)
			m["min_importance_pct_"+k] = spread(sm.MinImportancePct, fp)
			m["min_kept_drop_pp_"+k] = spread(sm.MinKeptDrop, fp)
		}
		m["n_kept_"+k] = len(out.Kept)
		notes = featselNotes(out, e.folds(p.Folds), fp)
	}
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	what := "Importance: the premodel accuracy lost when the feature alone is removed from Table 4's set; the share is the " +
		"loss's part of all positive losses (%)"
	if p.Filtered {
		what = "Importance: the premodel accuracy lost when the feature alone is removed from the set the correlation filter " +
			"left (every such feature is shown, ranked by median loss); the share is the loss's part of all positive losses (%)"
	}
	return &Result{
		Records:  map[string]any{"importance": rows},
		Tables:   []string{"importance"},
		Figures:  []FigureOut{{View: "importance"}},
		Measures: m,
		Settings: featselSettings(fp, e, "", p.Criteria),
		Notes:    append(notes, what+", median and interval over the resamples ("+joinCriteria(p.Criteria)+")."),
	}, nil
}

func runFeatureSweep(ctx context.Context, e *Env, s *Spec, p *SweepParams) (*Result, error) {
	c, out, err := e.selectFeatures(ctx, s, &p.FeatselParams, p.Criterion)
	if err != nil {
		return nil, err
	}
	fp := &p.FeatselParams
	var ms []float64
	var perImage [][]float64
	if p.Timing > 0 {
		imgs, err := stages.TimingImages(e.R, c.sets[0], p.Timing)
		if err != nil {
			return nil, err
		}
		t, err := e.featureTiming(ctx, stages.FeatureTimingIn{Sets: out.SweepSets, Images: imgs,
			Reps: 3, Platform: stages.PlatformID()})
		if err != nil {
			return nil, err
		}
		ms, perImage = t.MS, t.ImageMS
	}
	var rows []report.SweepPoint
	sm := out.Summary
	// Extraction times: every feature, Table 4's set, and the path's sets
	// with Fig 13's kept count (the median over resamples) and two fewer.
	msOf := map[string]float64{}
	imgOf := map[string][]float64{}
	for i, pt := range out.Sweep {
		r := report.SweepPoint{NFeatures: pt.NFeatures, Stage: pt.Stage, AccuracyPct: pt.Accuracy, SelectionPct: pt.Selection,
			MedianPct: pt.Resampled.Median, LoPct: pt.Resampled.Lo, HiPct: pt.Resampled.Hi,
			Removed: out.Reached[i], Features: strings.Join(pt.Features, " ")}
		if i < len(ms) {
			v := ms[i]
			r.ExtractMS = &v
			key := ""
			switch {
			case pt.Stage != featsel.StageElimination:
				key = pt.Stage
			case pt.NFeatures == sm.KeptN:
				key = "kept"
			case pt.NFeatures == sm.KeptN-2:
				key = "two_fewer"
			}
			if key != "" && i < len(perImage) {
				msOf[key], imgOf[key] = v, perImage[i]
			}
		}
		rows = append(rows, r)
	}
	m := map[string]any{"n_kept": spread(sm.NKept, fp), "n_kept_rule": sm.NKeptRule, "kept_n": sm.KeptN,
		"peak_n_features": spread(sm.PeakN, fp), "kept_premodel_accuracy": spread(sm.KeptAccuracy, fp),
		"all_premodel_accuracy": spread(sm.AllAccuracy, fp), "kept_minus_all": spread(sm.KeptMinusAll, fp)}
	if sm.TwoFewerDrop != nil {
		m["top1_drop_pp_two_fewer_than_kept"] = spread(*sm.TwoFewerDrop, fp)
	}
	if all, ok := msOf[featsel.StageAll]; ok {
		m["extract_ms_all"] = all
		if t4, ok := msOf[featsel.StageTable4]; ok {
			m["extract_ms_table4"] = t4
		}
		if kept, ok := msOf["kept"]; ok {
			m["extract_ms_kept"] = kept
			if m["extract_speedup_kept"], err = timeRatio(imgOf[featsel.StageAll], imgOf["kept"], fp.Seed); err != nil {
				return nil, err
			}
			if two, ok := msOf["two_fewer"]; ok {
				m["extract_ms_two_fewer"] = two
				if m["extract_ratio_kept_to_two_fewer"], err = timeRatio(imgOf["kept"], imgOf["two_fewer"], fp.Seed); err != nil {
					return nil, err
				}
			}
		}
	}
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return &Result{
		Records:  map[string]any{"sweep": rows},
		Tables:   []string{"sweep"},
		Figures:  []FigureOut{{View: "sweep"}},
		Measures: critKeys(m, p.Criterion),
		Settings: featselSettings(fp, e, p.Criterion, nil),
		Notes: append(featselNotes(out, e.folds(p.Folds), fp),
			"The curve is elimination on all images; at each number of features its band is the accuracy of every resample's own "+
				"elimination path there; table4 is Table 4's set. Fig 13's kept count is the median number of features the resamples "+
				"keep (kept_n); the drop to two fewer is each resample's path accuracy there minus two features fewer (no feature at 0), "+
				"and the extraction times are of the all-images path's sets with those counts. The peak is where each resample's "+
				"path is most accurate (ties: fewer features). Each path is chosen on the CV it is scored on, so its level is "+
				"optimistic; the resamples' sit above the all-images path, and only differences within one curve compare.",
			"Extraction time: decode the JPEG and compute the set, one thread, mean over "+
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

// timeResamples is the bootstrap of a ratio of extraction times.
const timeResamples = 2000

// timeRatio is the ratio of two feature sets' mean extraction times, timed
// together on the same images, with a percentile bootstrap over the images
// (paired: one resample draws the same images for both).
func timeRatio(num, den []float64, seed int64) (report.Interval, error) {
	if len(num) == 0 || len(num) != len(den) {
		return report.Interval{}, fmt.Errorf("extraction time ratio: %d and %d per-image times", len(num), len(den))
	}
	b, err := bootstrap.RatioOfSums(num, den, timeResamples, uint64(seed), confidence)
	if err != nil {
		return report.Interval{}, err
	}
	return toInterval(b, fmt.Sprintf("ratio of the two sets' mean extraction times over the %d timing images (each image's fastest "+
		"of the recorded repetitions, both sets timed together); %.0f%% percentile bootstrap over the images, paired (%d resamples, seed %d)",
		len(num), 100*confidence, timeResamples, seed))
}
