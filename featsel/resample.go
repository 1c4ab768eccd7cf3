package featsel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/modelpick/modelpick/bootstrap"
	"github.com/modelpick/modelpick/internal/progress"
)

// DefaultResamples is how many bootstrap resamples of the images the
// selection is repeated on (Table 4's frequencies, every interval).
const DefaultResamples = 20

// DefaultKeepShare is the share of resamples that must keep a feature for
// it to be in Table 4's set: kept by most resamples.
const DefaultKeepShare = 0.5

// Level is the coverage of every percentile interval over resamples.
const Level = 0.95

// resampleStream separates the bootstrap draws from the folds' stream.
const resampleStream = 0x7f4a7c159e3779b9

// Spread is a statistic over the bootstrap resamples: its median and the
// percentile interval at Level (linear between order statistics).
type Spread struct {
	Median float64 `json:"median"`
	Lo     float64 `json:"lo"`
	Hi     float64 `json:"hi"`
	N      int     `json:"n"` // resamples it was computed on
}

// SpreadOf summarises values, one per resample; NaNs (a statistic a
// resample does not define) are left out, and N says how many remain (0:
// the zero Spread, defined nowhere).
func SpreadOf(v []float64) Spread {
	var s []float64
	for _, x := range v {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return Spread{}
	}
	slices.Sort(s)
	a := (1 - Level) / 2
	return Spread{Median: bootstrap.Quantile(s, 0.5), Lo: bootstrap.Quantile(s, a), Hi: bootstrap.Quantile(s, 1-a), N: len(s)}
}

// PathPoint is one set on a resample's elimination path.
type PathPoint struct {
	NFeatures int     `json:"n_features"`
	Removed   string  `json:"removed,omitempty"`
	Accuracy  float64 `json:"premodel_accuracy_pct"`
	Selection float64 `json:"selection_accuracy_pct"`
}

// ResampleRun is the selection on one bootstrap resample of the images.
type ResampleRun struct {
	Index  int `json:"resample"`
	Images int `json:"distinct_images"`
	// Path is elimination from the filtered set down to one feature;
	// Kept the smallest set on it within tolerance of its best.
	Path []PathPoint `json:"path"`
	Kept []string    `json:"kept"`
	// FilteredDrops[i] is the accuracy lost when the i-th feature left by
	// the filter alone is removed from that set (Fig 12).
	FilteredDrops []float64 `json:"filtered_drops_points"`
	// KeptDrops[i] is the accuracy lost when the i-th feature of the
	// final kept set (Table 4's) alone is removed from it (Fig 7).
	KeptDrops []float64 `json:"kept_drops_points"`
	// Scores of Table 4's set, of every feature, and of none.
	Kept4 Score `json:"table4_set"`
	All   Score `json:"all_features"`
	None  Score `json:"no_feature"`
	// R is Pearson's r between every pair of features on the resample
	// (Correlation; NaN where undefined), for Table 3's intervals.
	R [][]float64 `json:"-"`
}

// Frequency is how often the resamples kept a feature left by the filter.
type Frequency struct {
	Feature string  `json:"feature"`
	Share   float64 `json:"share"` // of the resamples, 0..1
	Kept    bool    `json:"kept"`  // in Table 4's set
}

// Resampling is the selection repeated on bootstrap resamples of the
// images: Table 4 is the features most resamples keep.
type Resampling struct {
	Resamples int     `json:"resamples"`
	Seed      int64   `json:"seed"`
	KeepShare float64 `json:"keep_share"`
	Rule      string  `json:"rule"`
	// Frequency covers every feature left by the filter, in Table 2 order.
	Frequency []Frequency   `json:"frequency"`
	Kept      []string      `json:"kept"`
	Runs      []ResampleRun `json:"runs"`
}

// ResampleOptions configure the bootstrap.
type ResampleOptions struct {
	Resamples int     // default DefaultResamples
	KeepShare float64 // default DefaultKeepShare
	Seed      int64   // the draws
}

// draw returns a bootstrap resample of n rows (with replacement), seeded
// by seed and the resample's index.
func draw(n int, seed int64, b int) []int {
	rng := rand.New(rand.NewPCG(uint64(seed)^resampleStream, uint64(b)))
	rows := make([]int, n)
	for i := range rows {
		rows[i] = rng.IntN(n)
	}
	slices.Sort(rows)
	return rows
}

// resample runs elimination from filtered on each bootstrap resample of
// t, then Table 4's rule over them, then scores Table 4's set on every
// resample.
func resample(ctx context.Context, t Table, filtered []string, o Options) (Resampling, error) {
	ro := o.Resample
	if ro.Resamples <= 0 {
		ro.Resamples = DefaultResamples
	}
	if ro.KeepShare <= 0 {
		ro.KeepShare = DefaultKeepShare
	}
	res := Resampling{Resamples: ro.Resamples, Seed: ro.Seed, KeepShare: ro.KeepShare,
		Rule: fmt.Sprintf("Table 4 keeps the features that elimination kept on at least %.0f%% of %d bootstrap resamples "+
			"of the images (seed %d); if none reaches it, the most often kept (ties: Table 2 order)", 100*ro.KeepShare, ro.Resamples, ro.Seed)}
	evs := make([]*Evaluator, ro.Resamples)
	count := map[string]int{}
	prog := progress.New(o.Progress, "select-features: bootstrap resamples", "resample", ro.Resamples)
	defer prog.Finish()
	for b := range ro.Resamples {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("featsel: %w", err)
		}
		sample := draw(len(t.X), ro.Seed, b)
		e, err := newEvaluator(t, sample, o.CV)
		if err != nil {
			return res, fmt.Errorf("featsel: resample %d: %w", b, err)
		}
		evs[b] = e
		el, err := Eliminate(ctx, e, filtered, o.Tolerance)
		if err != nil {
			return res, fmt.Errorf("featsel: resample %d: %w", b, err)
		}
		run := ResampleRun{Index: b, Images: distinct(sample), Kept: el.Kept, None: el.Baseline,
			R: Correlation(Table{Names: t.Names, X: rowsOf(t.X, sample)}).R}
		for _, s := range el.Path {
			run.Path = append(run.Path, PathPoint{NFeatures: s.NFeatures, Removed: s.Removed, Accuracy: s.Accuracy, Selection: s.Selection})
		}
		run.FilteredDrops = make([]float64, len(filtered))
		if len(el.Path) > 1 {
			for i, c := range el.Path[1].Candidates {
				run.FilteredDrops[i] = el.Path[0].Accuracy - c.Accuracy
			}
		}
		for _, f := range el.Kept {
			count[f]++
		}
		res.Runs = append(res.Runs, run)
		prog.Step()
	}
	best := filtered[0]
	for _, f := range filtered {
		share := float64(count[f]) / float64(ro.Resamples)
		kept := share >= ro.KeepShare-eps
		res.Frequency = append(res.Frequency, Frequency{Feature: f, Share: share, Kept: kept})
		if kept {
			res.Kept = append(res.Kept, f)
		}
		if count[f] > count[best] {
			best = f
		}
	}
	if len(res.Kept) == 0 {
		res.Kept = []string{best}
		for i := range res.Frequency {
			res.Frequency[i].Kept = res.Frequency[i].Feature == best
		}
	}
	// Table 4's set on every resample: each feature's drop, the set
	// itself and every feature.
	for b, e := range evs {
		drops, sc, err := Drops(ctx, e, res.Kept)
		if err != nil {
			return res, err
		}
		all, err := e.Score(t.Names)
		if err != nil {
			return res, err
		}
		res.Runs[b].KeptDrops, res.Runs[b].Kept4, res.Runs[b].All = drops, sc, all
	}
	return res, nil
}

func distinct(rows []int) int {
	n := 0
	for i, r := range rows {
		if i == 0 || r != rows[i-1] {
			n++
		}
	}
	return n
}
