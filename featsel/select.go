package featsel

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"github.com/modelpick/modelpick/profileview"
)

// Options configure Select.
type Options struct {
	// Threshold is the |r| above which two features are redundant
	// (DefaultThreshold); it must be in (0, 1].
	Threshold float64
	// Tolerance is how far, in percentage points, accuracy may fall below
	// the best seen during elimination (DefaultTolerance); 0 allows no loss.
	Tolerance float64
	CV        CVOptions
	// Resample repeats elimination on bootstrap resamples (Table 4's
	// frequencies and every interval).
	Resample ResampleOptions
	// Time, when not nil, measures the extraction time per image of each
	// feature set (see TimeSets) for the sweep.
	Time func(sets [][]string) ([]float64, error)
	// Progress, when not nil, receives a progress line over the
	// bootstrap resamples (most of the time Select takes).
	Progress io.Writer
}

// DefaultOptions returns the paper's settings: |r| > 0.75, 10-fold CV of a
// K = 5 kNN, and a 0.5-point tolerance; 20 bootstrap resamples.
func DefaultOptions() Options {
	return Options{Threshold: DefaultThreshold, Tolerance: DefaultTolerance, CV: CVOptions{Folds: 10, Seed: 1},
		Resample: ResampleOptions{Resamples: DefaultResamples, KeepShare: DefaultKeepShare, Seed: 1}}
}

// Importance is one feature's share of the premodel's accuracy: the
// accuracy lost when it alone is removed from its set (Table 4's for Fig
// 7, the filtered set for Fig 12), on all images and over the resamples.
type Importance struct {
	Feature string `json:"feature"`
	// On all images (one CV): accuracy without the feature, the drop
	// (points) and the drop's share of the set's positive drops (%).
	AccuracyWithout float64 `json:"premodel_accuracy_without_pct"`
	Drop            float64 `json:"drop_points"`
	Percent         float64 `json:"importance_pct"`
	// The same over the bootstrap resamples.
	DropResampled    Spread `json:"drop_points_resampled"`
	PercentResampled Spread `json:"importance_pct_resampled"`
	// KeptShare is the share of resamples whose elimination kept it, Kept
	// whether Table 4 has it.
	KeptShare float64 `json:"kept_share"`
	Kept      bool    `json:"kept"`
}

// Summary holds the statistics the paper's claims about feature selection
// are checked on, each computed on every resample (Spread).
type Summary struct {
	// NKept is the number of features elimination keeps on a resample;
	// NKeptRule is the size of Table 4's set.
	NKept     Spread `json:"n_kept"`
	NKeptRule int    `json:"n_kept_rule"`
	// PeakN is the number of features at which a resample's elimination
	// path is most accurate (ties: fewer).
	PeakN Spread `json:"peak_n_features"`
	// Premodel accuracy of Table 4's set, of all features, of no feature,
	// Table 4's set minus all features, and the set's selection accuracy.
	KeptAccuracy  Spread `json:"kept_premodel_accuracy_pct"`
	AllAccuracy   Spread `json:"all_premodel_accuracy_pct"`
	NoFeature     Spread `json:"no_feature_premodel_accuracy_pct"`
	KeptMinusAll  Spread `json:"kept_minus_all_points"`
	KeptSelection Spread `json:"kept_selection_accuracy_pct"`
	// KeptN is NKept's median, rounded (halves down): the kept count of
	// Fig 13. TwoFewerDrop is a resample's path accuracy at KeptN features
	// minus at KeptN-2 (no feature at 0); nil below two.
	KeptN        int     `json:"kept_n"`
	TwoFewerDrop *Spread `json:"two_fewer_drop_points,omitempty"`
	// Fig 7, over Table 4's set: the largest and smallest importance
	// share, the smallest drop, and the feature of largest median share.
	TopImportancePct Spread `json:"top_importance_pct"`
	MinImportancePct Spread `json:"min_importance_pct"`
	MinKeptDrop      Spread `json:"min_kept_drop_points"`
	TopFeature       string `json:"top_feature"`
	// Fig 12, over the filtered set ranked by drop: the rank of the first
	// feature after the largest fall between neighbours.
	DropAt Spread `json:"importance_drop_at"`
	// KeptAreMostImportant: no feature outside Table 4's set has a larger
	// median drop than one inside; OwnKeptMostImportant is the share of
	// resamples where the same holds for their own kept set and drops.
	KeptAreMostImportant bool    `json:"kept_are_most_important"`
	OwnKeptMostImportant float64 `json:"own_kept_most_important_share"`
}

// Select runs the whole selection on t: the correlation filter, backward
// elimination from the filtered set on all images (Fig 13's path) and on
// each bootstrap resample (Table 4's frequencies), importance (Figs 7,
// 12) and the sweep. The returned report's Manifest and Load are left for
// the caller to fill.
func Select(ctx context.Context, t Table, o Options) (Report, error) {
	var r Report
	e, err := NewEvaluator(t, o.CV)
	if err != nil {
		return r, err
	}
	if r.Filter, err = Filter(t, o.Threshold); err != nil {
		return r, err
	}
	if len(r.Filter.Kept) == 0 {
		return r, fmt.Errorf("featsel: every feature is constant on these %d images", len(t.X))
	}
	if r.AllAccuracy, err = e.Score(t.Names); err != nil {
		return r, err
	}
	if r.Elimination, err = Eliminate(ctx, e, r.Filter.Kept, o.Tolerance); err != nil {
		return r, err
	}
	if r.Resampling, err = resample(ctx, t, r.Filter.Kept, o); err != nil {
		return r, err
	}
	if r.Importance, err = keptImportance(ctx, e, r.Resampling); err != nil {
		return r, err
	}
	r.FilteredImportance = filteredImportance(r.Filter.Kept, r.Elimination, r.Resampling)
	var t4 []Score
	for _, set := range Table4Sets(r.Resampling) {
		sc, err := e.Score(set)
		if err != nil {
			return r, err
		}
		t4 = append(t4, sc)
	}
	var times []float64
	if o.Time != nil {
		if times, err = o.Time(SweepSets(t.Names, r.Elimination, r.Resampling)); err != nil {
			return r, err
		}
	}
	if r.Sweep, err = Sweep(t.Names, r.AllAccuracy, r.Elimination, r.Resampling, t4, times); err != nil {
		return r, err
	}
	r.Summary = summarise(r)
	return r, nil
}

// keptImportance is Fig 7: each feature of Table 4's set, its drop on all
// images and over the resamples.
func keptImportance(ctx context.Context, e *Evaluator, rs Resampling) ([]Importance, error) {
	drops, sc, err := Drops(ctx, e, rs.Kept)
	if err != nil {
		return nil, err
	}
	per := make([][]float64, len(rs.Runs))
	for b, run := range rs.Runs {
		per[b] = run.KeptDrops
	}
	out := importances(rs.Kept, drops, sc.Accuracy, per)
	for i := range out {
		out[i].Kept = true
		out[i].KeptShare = shareOf(rs, out[i].Feature)
	}
	return out, nil
}

// filteredImportance is Fig 12: every feature the filter left, its drop
// from the filtered set on all images (the elimination's first step) and
// over the resamples, ranked by median drop (ties: Table 2 order).
func filteredImportance(filtered []string, el Elimination, rs Resampling) []Importance {
	drops := make([]float64, len(filtered))
	if len(el.Path) > 1 {
		for i, c := range el.Path[1].Candidates {
			drops[i] = el.Path[0].Accuracy - c.Accuracy
		}
	}
	per := make([][]float64, len(rs.Runs))
	for b, run := range rs.Runs {
		per[b] = run.FilteredDrops
	}
	out := importances(filtered, drops, el.Path[0].Accuracy, per)
	for i := range out {
		out[i].KeptShare = shareOf(rs, out[i].Feature)
		out[i].Kept = slices.Contains(rs.Kept, out[i].Feature)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].DropResampled.Median > out[b].DropResampled.Median })
	return out
}

// importances builds the records of a set: drops on all images (set
// accuracy acc) and per resample (per[b][i]).
func importances(set []string, drops []float64, acc float64, per [][]float64) []Importance {
	pct := Normalise(drops)
	perPct := make([][]float64, len(per))
	for b := range per {
		perPct[b] = Normalise(per[b])
	}
	out := make([]Importance, len(set))
	for i, f := range set {
		d, p := make([]float64, len(per)), make([]float64, len(per))
		for b := range per {
			d[b], p[b] = per[b][i], perPct[b][i]
		}
		out[i] = Importance{Feature: f, AccuracyWithout: acc - drops[i], Drop: drops[i], Percent: pct[i],
			DropResampled: SpreadOf(d), PercentResampled: SpreadOf(p)}
	}
	return out
}

func shareOf(rs Resampling, f string) float64 {
	for _, x := range rs.Frequency {
		if x.Feature == f {
			return x.Share
		}
	}
	return 0
}

// summarise computes the claims' statistics on every resample.
func summarise(r Report) Summary {
	rs := r.Resampling
	n := len(rs.Runs)
	col := func(f func(run ResampleRun) float64) Spread {
		v := make([]float64, n)
		for b, run := range rs.Runs {
			v[b] = f(run)
		}
		return SpreadOf(v)
	}
	s := Summary{NKeptRule: len(rs.Kept)}
	s.NKept = col(func(run ResampleRun) float64 { return float64(len(run.Kept)) })
	s.PeakN = col(func(run ResampleRun) float64 {
		best := run.Path[0]
		for _, p := range run.Path[1:] {
			if p.Accuracy >= best.Accuracy-eps { // the path shrinks: ties go to fewer features
				best = p
			}
		}
		return float64(best.NFeatures)
	})
	s.KeptAccuracy = col(func(run ResampleRun) float64 { return run.Kept4.Accuracy })
	s.AllAccuracy = col(func(run ResampleRun) float64 { return run.All.Accuracy })
	s.NoFeature = col(func(run ResampleRun) float64 { return run.None.Accuracy })
	s.KeptMinusAll = col(func(run ResampleRun) float64 { return run.Kept4.Accuracy - run.All.Accuracy })
	s.KeptSelection = col(func(run ResampleRun) float64 { return run.Kept4.Selection })
	s.KeptN = int(math.Ceil(s.NKept.Median - 0.5))
	if s.KeptN >= 2 {
		d := col(func(run ResampleRun) float64 { return pathAt(run, s.KeptN) - pathAt(run, s.KeptN-2) })
		s.TwoFewerDrop = &d
	}
	s.TopImportancePct = col(func(run ResampleRun) float64 { return slices.Max(Normalise(run.KeptDrops)) })
	s.MinImportancePct = col(func(run ResampleRun) float64 { return slices.Min(Normalise(run.KeptDrops)) })
	s.MinKeptDrop = col(func(run ResampleRun) float64 { return slices.Min(run.KeptDrops) })
	top := -1.0
	for _, x := range r.Importance {
		if x.PercentResampled.Median > top {
			top, s.TopFeature = x.PercentResampled.Median, x.Feature
		}
	}
	s.DropAt = col(func(run ResampleRun) float64 { return dropAt(run.FilteredDrops) })
	med := make([]float64, len(r.Filter.Kept))
	kept := make([]bool, len(r.Filter.Kept))
	for i, f := range r.Filter.Kept {
		for _, x := range r.FilteredImportance {
			if x.Feature == f {
				med[i], kept[i] = x.DropResampled.Median, x.Kept
			}
		}
	}
	s.KeptAreMostImportant = mostImportant(med, kept)
	own := 0
	for _, run := range rs.Runs {
		k := make([]bool, len(r.Filter.Kept))
		for i, f := range r.Filter.Kept {
			k[i] = slices.Contains(run.Kept, f)
		}
		if mostImportant(run.FilteredDrops, k) {
			own++
		}
	}
	if n > 0 {
		s.OwnKeptMostImportant = float64(own) / float64(n)
	}
	return s
}

// pathAt is a resample's path accuracy with n features (its no-feature
// accuracy at 0; NaN off the path).
func pathAt(run ResampleRun, n int) float64 {
	if n == 0 {
		return run.None.Accuracy
	}
	for _, p := range run.Path {
		if p.NFeatures == n {
			return p.Accuracy
		}
	}
	return math.NaN()
}

// dropAt ranks drops from largest to smallest (ties: the earlier) and
// returns the 1-based rank of the first feature after the largest fall
// between neighbours (the earliest of equal falls); NaN below two.
func dropAt(drops []float64) float64 {
	if len(drops) < 2 {
		return math.NaN()
	}
	d := slices.Clone(drops)
	sort.SliceStable(d, func(a, b int) bool { return d[a] > d[b] })
	at, fall := 1, math.Inf(-1)
	for k := 0; k+1 < len(d); k++ {
		if g := d[k] - d[k+1]; g > fall+eps {
			at, fall = k+2, g
		}
	}
	return float64(at)
}

// mostImportant says every kept feature's drop is at least every other's.
func mostImportant(drops []float64, kept []bool) bool {
	minKept, maxOther := math.Inf(1), math.Inf(-1)
	for i, d := range drops {
		if kept[i] {
			minKept = min(minKept, d)
		} else {
			maxOther = max(maxOther, d)
		}
	}
	return minKept >= maxOther-eps
}

// Run selects the premodel's features on a profile joined with its
// features (profileview.Table): the table and its targets (TableOf), then
// Select; the report's Load says how the table was built, and its
// Manifest is left for the caller to fill.
func Run(ctx context.Context, p *profileview.Table, o Options) (Report, error) {
	t, info, err := TableOf(p)
	if err != nil {
		return Report{Load: info}, err
	}
	r, err := Select(ctx, t, o)
	r.Load = info
	return r, err
}
