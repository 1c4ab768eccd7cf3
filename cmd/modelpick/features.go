package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/extract"
	"github.com/modelpick/modelpick/featsel"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/store"
)

// runFeatures extracts image features of a data set into a store.
func runFeatures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("features", stderr)
	var (
		dataDir   = fs.String("data", "", "labelled image folder (labels.txt, or one folder per class)")
		gt        = fs.String("ground-truth", "", "ImageNet ground-truth file (FILE INDEX) for a flat image folder")
		storePath = fs.String("store", "", "store file (SQLite); created if missing, resumed if present")
		only      = fs.String("only", "", "comma-separated feature names (default all 29 of Table 2); only these are computed")
		workers   = fs.Int("workers", runtime.GOMAXPROCS(0), "extraction goroutines")
		limit     = fs.Int("limit", 0, "extract only the first N images of the set (0 = all)")
		maxSide   = fs.Int("max-side", 0, fmt.Sprintf("longest side of the working image (0 = %d); part of the stored config key", features.DefaultMaxSide))
		batch     = fs.Int("batch", extract.DefaultBatchSize, "images per store transaction")
		quiet     = fs.Bool("quiet", false, "no progress line")
	)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "data", "store"); err != nil {
		return err
	}
	if *workers < 1 || *limit < 0 || *batch < 1 || *maxSide < 0 {
		return fmt.Errorf("%w: features: -workers and -batch must be at least 1, -limit and -max-side at least 0", errUsage)
	}
	names := splitList(*only)
	// Validate the names before touching the data or the store.
	if _, err := features.NewExtractor(names, features.Options{MaxSide: *maxSide}); err != nil {
		return fmt.Errorf("%w: -only: %v", errUsage, err)
	}
	set, err := loadSet(*dataDir, *gt)
	if err != nil {
		return err
	}
	st, err := store.Open(*storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	o := extract.Options{Set: set, Store: st, Names: names, Features: features.Options{MaxSide: *maxSide},
		Workers: *workers, Limit: *limit, BatchSize: *batch}
	if !*quiet {
		o.Progress = stderr
	}
	sum, err := extract.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "features %s: %d images (%d already stored, %d computed, %d failed, %d unreadable), %d features each, "+
		"%.2f ms/image/worker, %.1f s on %d workers; config %s\n",
		set.Name, sum.Images, sum.Skipped, sum.Computed, sum.Failed, sum.Unreadable, len(sum.Names),
		sum.ExtractMS, sum.Elapsed, sum.Workers, sum.ConfigKey)
	for _, f := range sum.Failures {
		fmt.Fprintf(stdout, "  %s: %s\n", f.File, f.Error)
	}
	return nil
}

func loadSet(dir, gt string) (*datasets.Set, error) {
	if gt != "" {
		return datasets.LoadWithGroundTruth(dir, gt)
	}
	return datasets.Load(dir)
}

// runSelectFeatures runs the correlation filter, backward elimination,
// importance and sweep on a store and writes the records.
func runSelectFeatures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("select-features", stderr)
	var (
		storePath  = fs.String("store", "", "store with predictions (modelpick profile) and features (modelpick features)")
		criterion  = fs.String("criterion", "top1", "correctness criterion of the targets: top1 or top5")
		dataset    = fs.String("dataset", "", "comma-separated data sets of the store (default all with predictions)")
		folds      = fs.Int("folds", 10, "k of the k-fold cross-validation (the paper's 10)")
		seed       = fs.Int64("seed", 1, "seed of the folds and of the learner")
		repeats    = fs.Int("repeats", 1, "repeated k-fold runs on different random folds, averaged (seeds seed, seed+1, ...)")
		threshold  = fs.Float64("threshold", featsel.DefaultThreshold, "|Pearson r| above which two features are redundant (the paper's 0.75)")
		tolerance  = fs.Float64("tolerance", featsel.DefaultTolerance, "percentage points CV accuracy may fall below the best seen while features are removed")
		maxSide    = fs.Int("max-side", 0, fmt.Sprintf("working-image side of the stored features to read (0 = %d)", features.DefaultMaxSide))
		learner    = fs.String("learner", "knn", "premodel cross-validated inside selection: a learners name (knn, knn-cascade, dt, svm) or an X.Y.Z hierarchy")
		workers    = fs.Int("workers", runtime.GOMAXPROCS(0), "feature sets cross-validated at once")
		timingData = fs.String("timing-data", "", "image folder to time extraction on (default: the folder recorded when the features were extracted)")
		timingN    = fs.Int("timing-images", 50, "images to time extraction on (0: no timing)")
		timingReps = fs.Int("timing-reps", 3, "timed passes over the timing images")
		out        = fs.String("out", "", "output folder for the JSON + CSV records and manifest.json")
	)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "store", "out"); err != nil {
		return err
	}
	crit, err := profileview.ParseCriterion(*criterion)
	switch {
	case err != nil:
		return fmt.Errorf("%w: select-features: -criterion: %v", errUsage, err)
	case *folds < 2:
		return fmt.Errorf("%w: select-features: -folds %d, want at least 2", errUsage, *folds)
	case !(*threshold > 0 && *threshold <= 1):
		return fmt.Errorf("%w: select-features: -threshold %v, want (0, 1]", errUsage, *threshold)
	case *tolerance < 0:
		return fmt.Errorf("%w: select-features: -tolerance %v is negative", errUsage, *tolerance)
	case *timingN < 0 || *timingReps < 1 || *workers < 1 || *repeats < 1:
		return fmt.Errorf("%w: select-features: -timing-images must be at least 0, -timing-reps, -workers and -repeats at least 1", errUsage)
	}
	// The premodel's settings: K = 5 as in the paper; other fields default.
	params := learners.Params{K: featsel.DefaultK}
	if _, err := learners.New(*learner, params); err != nil {
		return fmt.Errorf("%w: select-features: -learner: %v", errUsage, err)
	}
	newLearner := func() learners.Learner {
		l, _ := learners.New(*learner, params) // validated above
		return l
	}
	if _, err := os.Stat(*storePath); err != nil {
		return fmt.Errorf("select-features: store %w", err)
	}
	st, err := store.Open(*storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	fopts := features.Options{MaxSide: *maxSide}
	ex, err := features.NewExtractor(nil, fopts)
	if err != nil {
		return fmt.Errorf("%w: select-features: %v", errUsage, err)
	}
	tab, err := profileview.LoadTable(ctx, st, profileview.Options{Criterion: crit, Datasets: splitList(*dataset), MMACs: true},
		ex.ConfigKey(), ex.Names())
	if err != nil {
		return err
	}
	var notes []string
	if tab.CostFrom.Kind != profileview.CostMeasured {
		notes = append(notes, "targets use the specs' MMACs as cost: the store has no measured latency for every model "+
			"(run modelpick profile -cost=true on the device for latency-based targets)")
		fmt.Fprintln(stderr, "select-features: no latencies in the store for every model: targets ordered by the specs' mmacs")
	}
	o := featsel.Options{Threshold: *threshold, Tolerance: *tolerance,
		CV: featsel.CVOptions{Folds: *folds, Seed: *seed, Repeats: *repeats, Workers: *workers, New: newLearner}}
	timingFiles, timingSource, err := timingImages(ctx, st, tab.Datasets, *timingData, *timingN)
	if err != nil {
		return err
	}
	if len(timingFiles) > 0 {
		imgs := make([][]byte, len(timingFiles))
		for i, f := range timingFiles {
			if imgs[i], err = os.ReadFile(f); err != nil {
				return fmt.Errorf("select-features: timing image: %w", err)
			}
		}
		o.Time = func(sets [][]string) ([]float64, error) {
			return featsel.TimeSets(sets, imgs, fopts, *timingReps)
		}
	} else if *timingN > 0 {
		notes = append(notes, "extraction time not measured: "+timingSource)
		fmt.Fprintln(stderr, "select-features: extraction time not measured:", timingSource)
	}
	fmt.Fprintf(stderr, "select-features: %d images, %d models (%s), %d x %d-fold CV ...\n",
		len(tab.X), len(tab.Models), tab.CostFrom, *repeats, *folds)
	rep, err := featsel.Run(ctx, tab, o)
	if err != nil {
		return err
	}
	modelsSHA := map[string]string{}
	if ms, err := st.Models(ctx); err == nil {
		for _, m := range ms {
			if slices.Contains(tab.Models, m.Name) {
				modelsSHA[m.Name] = m.FilesSHA256
			}
		}
	}
	rep.Manifest = featsel.Manifest{
		Command: "modelpick select-features " + strings.Join(args, " "), Store: st.Path(), Criterion: crit,
		Folds: *folds, Repeats: *repeats, Seed: *seed, Threshold: *threshold, Tolerance: *tolerance,
		Learner:         fmt.Sprintf("learners %q (K=%d) on min-max scaled features, scaler fitted on each training fold", *learner, params.K),
		FeaturesVersion: features.Version, ConfigKey: ex.ConfigKey(), Models: modelsSHA,
		TimingImages: len(timingFiles), TimingReps: *timingReps, TimingSource: timingSource,
		Revision: revision(), GoVersion: runtime.Version(), CreatedAt: time.Now().UTC().Format(time.RFC3339),
		ElapsedS: time.Since(start).Seconds(), Notes: notes,
	}
	if err := featsel.WriteRecords(*out, rep); err != nil {
		return err
	}
	fmt.Fprint(stdout, featsel.Markdown(rep))
	fmt.Fprintf(stdout, "\nrecords written to %s\n", *out)
	return nil
}

// timingImages picks up to n readable images to time extraction on: from
// dir when given, else from the folder a features or profile run recorded
// for one of the data sets.
func timingImages(ctx context.Context, st *store.Store, dsNames []string, dir string, n int) ([]string, string, error) {
	if n == 0 {
		return nil, "timing disabled (-timing-images 0)", nil
	}
	if dir == "" {
		runs, err := st.Runs(ctx)
		if err != nil {
			return nil, "", err
		}
		for i := len(runs) - 1; i >= 0 && dir == ""; i-- {
			var m struct {
				Dataset string `json:"dataset"`
				Dir     string `json:"dataset_dir"`
			}
			if json.Unmarshal([]byte(runs[i].ManifestJSON), &m) == nil && slices.Contains(dsNames, m.Dataset) && m.Dir != "" {
				if _, err := os.Stat(m.Dir); err == nil {
					dir = m.Dir
				}
			}
		}
		if dir == "" {
			return nil, "no image folder recorded in the store is readable here; pass -timing-data", nil
		}
	}
	set, err := datasets.Load(dir)
	if err != nil { // timing needs no labels
		if set, err = datasets.LoadWith(dir, datasets.Options{Unlabelled: true}); err != nil {
			return nil, "", fmt.Errorf("select-features: timing images: %w", err)
		}
	}
	ex, _ := features.NewExtractor(nil, features.Options{}) // all names: cannot fail
	var files []string
	for _, it := range set.Items {
		if len(files) == n {
			break
		}
		p := filepath.Join(set.Dir, filepath.FromSlash(it.File))
		if _, err := ex.ExtractFile(p); err == nil { // only images that extract
			files = append(files, p)
		}
	}
	return files, dir, nil
}

// revision is the VCS revision the binary was built from, when recorded.
func revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
