package featsel

import (
	"context"
	"fmt"

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
	// Time, when not nil, measures the extraction time per image of each
	// feature set (see TimeSets) for the sweep.
	Time func(sets [][]string) ([]float64, error)
}

// DefaultOptions returns the paper's settings: |r| > 0.75, 10-fold CV of a
// K = 5 kNN, and a 0.5-point tolerance.
func DefaultOptions() Options {
	return Options{Threshold: DefaultThreshold, Tolerance: DefaultTolerance, CV: CVOptions{Folds: 10, Seed: 1}}
}

// Select runs the whole selection on t: the correlation filter, backward
// elimination from the filtered set with importance, and the sweep. The
// returned report's Manifest and Load are left for the caller to fill.
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
	if r.AllAccuracy, err = e.Accuracy(t.Names); err != nil {
		return r, err
	}
	if r.Elimination, err = Eliminate(ctx, e, r.Filter.Kept, o.Tolerance); err != nil {
		return r, err
	}
	var times []float64
	if o.Time != nil {
		if times, err = o.Time(SweepSets(t.Names, r.Elimination)); err != nil {
			return r, err
		}
	}
	r.Sweep, err = Sweep(t.Names, r.AllAccuracy, r.Elimination, times)
	return r, err
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
