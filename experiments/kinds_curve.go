package experiments

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/modelpick/modelpick/bootstrap"
	"github.com/modelpick/modelpick/learncurve"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/report"
)

// curveRun is what the learning curve and feature information share: the
// chain, Table 4's features (selected on the first image set, as Fig 8's
// premodel there) and every image set's name (pooled).
type curveRun struct {
	c    *chain
	kept []string
	sets []string
	p    *RepeatedCVParams
}

func (e *Env) curveRun(ctx context.Context, s *Spec, p *RepeatedCVParams) (*curveRun, error) {
	c, err := e.profiled(ctx, s, p.Chain, true)
	if err != nil {
		return nil, err
	}
	fs, err := e.keptFeatures(ctx, c, c.sets[0], &p.PremodelParams)
	if err != nil {
		return nil, err
	}
	return &curveRun{c: c, kept: fs.Kept, sets: c.datasetNames(), p: p}, nil
}

// Feature sets the premodel is cross-validated on.
const (
	setTable4 = "table4"
	setAll    = "all"
)

// outcome runs (or finds) one configuration's repeated CV.
func (r *curveRun) outcome(ctx context.Context, e *Env, set string, size int, shuffle, none bool) (learncurve.Outcome, error) {
	names := r.kept
	if set == setAll {
		names = r.c.joined.Names
	}
	return pipeline.Do(ctx, e.R, stages.PremodelCurve(), stages.PremodelCurveIn{Store: r.c.joined.Store, Datasets: r.sets,
		Criterion: string(r.p.Criterion), Names: names, ConfigKey: r.c.joined.ConfigKey, Learner: r.p.Learner, K: r.p.K,
		Theta: r.p.Theta, Folds: e.folds(r.p.CVFolds), Seeds: r.p.Seeds, TrainSize: size, Shuffle: shuffle, NoFeatures: none})
}

// level is the coverage of the learning curve's intervals.
const level = 0.95

// bootstrapOf is the mean of x over the images with its interval, as a
// measure.
func (r *curveRun) bootstrapOf(x []float64, what string) (report.Interval, error) {
	iv, err := bootstrap.Mean(x, r.p.Bootstrap, uint64(r.p.Seed), level)
	return report.Interval{Value: iv.Estimate, Lo: iv.Low, Hi: iv.High, Method: fmt.Sprintf("%s: mean over the %d images of each image's "+
		"outcome averaged over %d CV seeds (%d folds), %.0f%% percentile bootstrap over the images (%d resamples, seed %d)",
		what, len(x), len(r.p.Seeds), r.p.CVFolds, 100*level, r.p.Bootstrap, r.p.Seed)}, err
}

// combined bootstraps a per-image linear combination.
func (r *curveRun) combined(what string, w []float64, xs ...[]float64) (report.Interval, error) {
	x, err := learncurve.Combine(w, xs...)
	if err != nil {
		return report.Interval{}, err
	}
	return r.bootstrapOf(x, what+" (paired image by image)")
}

// seedsRange is the mean, min and max of v.
func seedsRange(v []float64) (mean, lo, hi float64) {
	for _, x := range v {
		mean += x / float64(len(v))
	}
	return mean, slices.Min(v), slices.Max(v)
}

func runLearningCurve(ctx context.Context, e *Env, s *Spec, p *LearningCurveParams) (*Result, error) {
	r, err := e.curveRun(ctx, s, &p.RepeatedCVParams)
	if err != nil {
		return nil, err
	}
	var rows []report.LearningPoint
	m := map[string]any{}
	var notes []string
	for _, set := range []string{setTable4, setAll} {
		full, err := r.outcome(ctx, e, set, 0, false, false)
		if err != nil {
			return nil, err
		}
		outs := []learncurve.Outcome{}
		for _, n := range p.TrainSizes {
			if float64(n) >= full.TrainImages {
				continue // as many as the folds hold: the full point
			}
			o, err := r.outcome(ctx, e, set, n, false, false)
			if err != nil {
				return nil, err
			}
			outs = append(outs, o)
		}
		outs = append(outs, full)
		best := full.BestRates()
		bestPct, _, _ := seedsRange(best)
		for _, o := range outs {
			acc, err := r.bootstrapOf(o.Rates(), "premodel accuracy")
			if err != nil {
				return nil, err
			}
			gap, err := r.combined("premodel minus best single", []float64{1, -1}, o.Rates(), best)
			if err != nil {
				return nil, err
			}
			sel, lo, hi := seedsRange(o.SelectionPct)
			rows = append(rows, report.LearningPoint{Features: set, TrainImages: o.TrainImages, AccuracyPct: acc.Value,
				AccuracyLoPct: acc.Lo, AccuracyHiPct: acc.Hi, GapPP: gap.Value, GapLoPP: gap.Lo, GapHiPP: gap.Hi,
				SelectionPct: sel, SelectionMinPct: lo, SelectionMaxPct: hi, BestSingle: o.BestSingle,
				BestSinglePct: bestPct, OraclePct: o.OraclePct, Seeds: len(o.Seeds)})
		}
		sfx := ""
		if set == setAll {
			sfx = "_all_features"
		}
		first, last := outs[0], outs[len(outs)-1]
		k := critKey
		if m[k("premodel_top1_at_min_images", p.Criterion)+sfx], err = r.bootstrapOf(first.Rates(), "premodel accuracy"); err != nil {
			return nil, err
		}
		if m[k("premodel_top1_at_max_images", p.Criterion)+sfx], err = r.bootstrapOf(last.Rates(), "premodel accuracy"); err != nil {
			return nil, err
		}
		if m[k("gap_to_best_single_pp_at_max_images", p.Criterion)+sfx], err = r.combined("premodel minus best single",
			[]float64{1, -1}, last.Rates(), best); err != nil {
			return nil, err
		}
		m[k("train_images_min", p.Criterion)+sfx], m[k("train_images_max", p.Criterion)+sfx] = first.TrainImages, last.TrainImages
		sel, lo, hi := seedsRange(last.SelectionPct)
		m[k("selection_pct_at_max_images", p.Criterion)+sfx] = report.Interval{Value: sel, Lo: lo, Hi: hi,
			Method: fmt.Sprintf("mean and range over %d CV seeds", len(last.Seeds))}
		if len(outs) < 2 {
			continue
		}
		// The last doubling: the gain from the point before the last, per
		// doubling of the training images, and that gain carried on,
		// log-linearly, to the paper's training images.
		prev := outs[len(outs)-2]
		doublings := math.Log2(last.TrainImages / prev.TrainImages)
		toPaper := math.Log2(float64(p.PaperImages) / last.TrainImages)
		if m[k("gain_pp_last_doubling", p.Criterion)+sfx], err = r.combined(fmt.Sprintf("premodel accuracy at %.0f minus at %.0f training images",
			last.TrainImages, prev.TrainImages), []float64{1, -1}, last.Rates(), prev.Rates()); err != nil {
			return nil, err
		}
		if m[k("gain_pp_per_doubling_last", p.Criterion)+sfx], err = r.combined(fmt.Sprintf("(accuracy at %.0f minus at %.0f) / %.2f doublings",
			last.TrainImages, prev.TrainImages, doublings), []float64{1 / doublings, -1 / doublings}, last.Rates(), prev.Rates()); err != nil {
			return nil, err
		}
		m["doublings_to_paper_images"] = toPaper
		w := toPaper / doublings
		if m[k("projected_gap_pp_at_paper_images", p.Criterion)+sfx], err = r.combined(fmt.Sprintf("gap to the best single model at "+
			"%.0f images plus the last doubling's gain per doubling times the %.2f doublings to %d images (log-linear)",
			last.TrainImages, toPaper, p.PaperImages), []float64{1 + w, -w, -1}, last.Rates(), prev.Rates(), best); err != nil {
			return nil, err
		}
		if set == setTable4 {
			notes = append(notes, fmt.Sprintf("Projection to the paper's %d training images: the gap to the best single model at %.0f "+
				"images plus the last doubling's gain per doubling carried on for the %.2f doublings to %d, as if accuracy grew "+
				"linearly in log(images); learning curves flatten, so this is if anything optimistic for the premodel.",
				p.PaperImages, last.TrainImages, toPaper, p.PaperImages))
		}
	}
	for key, v := range m {
		if iv, ok := v.(report.Interval); ok && (math.IsNaN(iv.Value) || math.IsInf(iv.Value, 0)) {
			delete(m, key)
		}
	}
	m["table4_features"] = r.kept
	return &Result{
		Records:  map[string]any{"learning_curve": rows},
		Tables:   []string{"learning-curve"},
		Figures:  []FigureOut{{View: "learning-curve"}},
		Measures: m,
		Settings: curveSettings(&p.RepeatedCVParams, e, map[string]any{"train_sizes": p.TrainSizes, "paper_train_images": p.PaperImages}),
		Notes:    append(curveNotes(r, e), notes...),
	}, nil
}

func curveSettings(p *RepeatedCVParams, e *Env, more map[string]any) map[string]any {
	s := map[string]any{"criterion": p.Criterion, "learner": p.Learner, "k": p.K, "theta_pp": p.Theta, "cv_folds": e.folds(p.CVFolds),
		"seeds": p.Seeds, "bootstrap": p.Bootstrap, "selection_folds": e.folds(p.Folds), "seed": p.Seed, "threshold": p.Threshold,
		"tolerance_pp": p.Tolerance, "resamples": p.resamples(), "keep_share": p.keepShare()}
	for k, v := range more {
		s[k] = v
	}
	return s
}

func curveNotes(r *curveRun, e *Env) []string {
	return []string{
		fmt.Sprintf("The premodel (%s, K = %d, Algorithm 1's candidates on each training fold, theta %g, the cheapest candidate as "+
			"fallback) is %d-fold cross-validated on %v pooled, once per seed %v; a smaller training size trains each fold on a "+
			"seeded random subset of its training images, tested on the whole fold.", r.p.Learner, r.p.K, r.p.Theta,
			e.folds(r.p.CVFolds), r.sets, r.p.Seeds),
		fmt.Sprintf("table4 features: Table 4's procedure on %s (%v); all: the %d candidate features (nothing selected, so nothing "+
			"tuned on the test images).", r.sets[0], r.kept, len(r.c.joined.Names)),
	}
}

func runFeatureInfo(ctx context.Context, e *Env, s *Spec, p *FeatureInfoParams) (*Result, error) {
	r, err := e.curveRun(ctx, s, &p.RepeatedCVParams)
	if err != nil {
		return nil, err
	}
	info, err := pipeline.Do(ctx, e.R, stages.FeatureInfo(), stages.FeatureInfoIn{Store: r.c.joined.Store, Datasets: r.sets,
		Criterion: string(p.Criterion), Names: r.c.joined.Names, ConfigKey: r.c.joined.ConfigKey, Bins: p.Bins,
		Permutations: p.Permutations, Seed: p.Seed})
	if err != nil {
		return nil, err
	}
	var infoRows []report.FeatureInformation
	above, maxMI, maxExcess := 0, 0.0, math.Inf(-1)
	for _, x := range info.Info {
		infoRows = append(infoRows, report.FeatureInformation{Feature: x.Feature, InTable4: slices.Contains(r.kept, x.Feature),
			MIBits: x.MI, NullMeanBits: x.NullMean, NullHiBits: x.NullHi, ExcessBits: x.Excess, P: x.P})
		if x.MI > x.NullHi {
			above++
		}
		maxMI, maxExcess = max(maxMI, x.MI), max(maxExcess, x.Excess)
	}
	configs := []struct {
		name          string
		set           string
		shuffle, none bool
	}{{"Table 4's features", setTable4, false, false}, {"all features", setAll, false, false},
		{"Table 4's features shuffled across images", setTable4, true, false}, {"all features shuffled across images", setAll, true, false},
		{"no features (the training folds' most frequent optimum)", setTable4, false, true}}
	outs := make([]learncurve.Outcome, len(configs))
	for i, cf := range configs {
		if outs[i], err = r.outcome(ctx, e, cf.set, 0, cf.shuffle, cf.none); err != nil {
			return nil, err
		}
	}
	const shuffled4, shuffledAll, noFeatures = 2, 3, 4
	none := outs[noFeatures].Rates()
	var rows []report.PremodelBaseline
	m := map[string]any{"target_entropy_bits": info.EntropyBits, "mi_max_bits": maxMI, "mi_excess_max_bits": maxExcess,
		"n_features_mi_above_shuffled": above, "n_features": len(info.Info),
		"mi_excess_max_pct_of_entropy": 100 * maxExcess / info.EntropyBits, "table4_features": r.kept}
	keys := []string{"table4_features", "all_features", "shuffled_table4_features", "shuffled_all_features", "no_features"}
	for i, cf := range configs {
		acc, err := r.bootstrapOf(outs[i].Rates(), "premodel accuracy")
		if err != nil {
			return nil, err
		}
		d, err := r.combined("minus the premodel without features", []float64{1, -1}, outs[i].Rates(), none)
		if err != nil {
			return nil, err
		}
		sel, lo, hi := seedsRange(outs[i].SelectionPct)
		rows = append(rows, report.PremodelBaseline{Configuration: cf.name, AccuracyPct: acc.Value, AccuracyLoPct: acc.Lo,
			AccuracyHiPct: acc.Hi, MinusNonePP: d.Value, MinusNoneLoPP: d.Lo, MinusNoneHiPP: d.Hi, SelectionPct: sel,
			SelectionMinPct: lo, SelectionMaxPct: hi})
		m[critKey("premodel_top1_"+keys[i], p.Criterion)] = acc
		m[critKey("selection_pct_"+keys[i], p.Criterion)] = report.Interval{Value: sel, Lo: lo, Hi: hi,
			Method: fmt.Sprintf("mean and range over %d CV seeds", len(outs[i].Seeds))}
		if i != noFeatures {
			m[critKey("top1_minus_no_features_pp_"+keys[i], p.Criterion)] = d
		}
	}
	if m[critKey("top1_table4_minus_shuffled_pp", p.Criterion)], err = r.combined("Table 4's features minus the same shuffled",
		[]float64{1, -1}, outs[0].Rates(), outs[shuffled4].Rates()); err != nil {
		return nil, err
	}
	if m[critKey("top1_all_minus_shuffled_pp", p.Criterion)], err = r.combined("all features minus the same shuffled",
		[]float64{1, -1}, outs[1].Rates(), outs[shuffledAll].Rates()); err != nil {
		return nil, err
	}
	best := outs[0].BestRates()
	if m[critKey("best_single_top1", p.Criterion)], err = r.bootstrapOf(best, "best single model ("+outs[0].BestSingle+")"); err != nil {
		return nil, err
	}
	m["best_single"] = outs[0].BestSingle
	m[critKey("oracle_top1", p.Criterion)] = outs[0].OraclePct
	return &Result{
		Records:  map[string]any{"baselines": rows, "information": infoRows},
		Tables:   []string{"baselines", "information"},
		Measures: m,
		Settings: curveSettings(&p.RepeatedCVParams, e, map[string]any{"bins": p.Bins, "permutations": p.Permutations}),
		Notes: append(curveNotes(r, e),
			"Shuffled: each image gets another image's feature values (a seeded permutation per CV seed), so the features keep "+
				"their distribution and lose any link to the image's optimum model. No features: every test image runs the training "+
				"folds' most frequent optimum model (none: the cheapest model).",
			fmt.Sprintf("Mutual information: each of the %d features cut into %d equal-frequency bins, against the optimum model "+
				"of each of the %d images (%s's targets over all models, none a class); the baseline is the same estimate with the "+
				"targets shuffled across the images (%d permutations, seed %d), which keeps the estimator's bias at this many "+
				"images; a feature is above it when its MI exceeds the permutations' 95th percentile.",
				len(info.Info), p.Bins, info.Images, p.Criterion, p.Permutations, p.Seed)),
	}, nil
}
