package extract

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/store"
)

// Ensure extracts the named features (nil: all) at opts of every image of
// the data sets in st (none: every data set it holds) that lacks them, from the folder the store recorded for each
// set (a profile or features run's dataset_dir): what a command that reads
// features does on a store profiled but never featured, instead of
// stopping. Images already featured are skipped, as by Run. It returns
// one Summary per set that had work, and names `modelpick features` with
// its flags when a set's folder is not readable here.
func Ensure(ctx context.Context, st *store.Store, sets []string, names []string, opts features.Options, progress io.Writer) ([]Summary, error) {
	var out []Summary
	ex, err := features.NewExtractor(names, opts)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	done, err := stored(ctx, st, ex.ConfigKey(), ex.Names())
	if err != nil {
		return nil, err
	}
	images, err := st.Images(ctx, "")
	if err != nil {
		return nil, err
	}
	lacking := map[string]bool{}
	for _, im := range images {
		if im.Error == "" && !done[im.SHA256] && (len(sets) == 0 || slices.Contains(sets, im.Dataset)) {
			lacking[im.Dataset] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(lacking)) {
		dirs, err := st.DatasetDirs(ctx, name)
		if err != nil {
			return out, err
		}
		if len(dirs) == 0 {
			return out, fmt.Errorf("store %s has no features of data set %s and recorded no folder of its images that exists here: "+
				"run `modelpick features -data DIR -store %s` on its images", st.Path(), name, st.Path())
		}
		set, err := datasets.Load(dirs[0])
		if err != nil { // extraction needs no labels (a flat folder profiled with -ground-truth)
			if set, err = datasets.LoadWith(dirs[0], datasets.Options{Unlabelled: true}); err != nil {
				return out, fmt.Errorf("features of %s: %w", name, err)
			}
		}
		sum, err := Run(ctx, Options{Set: set, Store: st, Names: names, Features: opts, Progress: progress})
		if err != nil {
			return out, err
		}
		if sum.Computed > 0 || sum.Failed > 0 {
			out = append(out, sum)
		}
	}
	return out, nil
}
