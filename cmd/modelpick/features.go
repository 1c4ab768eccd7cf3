package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/extract"
	"github.com/modelpick/modelpick/featsel"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/buildinfo"
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

// selectFeaturesFlags are select-features' flags.
type selectFeaturesFlags struct {
	store, criterion, dataset, learner, timingData, out   *string
	folds, repeats, maxSide, workers, timingN, timingReps *int
	resamples                                             *int
	seed                                                  *int64
	threshold, tolerance                                  *float64
}

func addSelectFeaturesFlags(fs *flag.FlagSet) selectFeaturesFlags {
	return selectFeaturesFlags{
		store:      fs.String("store", "", "store with predictions (modelpick profile) and features (modelpick features)"),
		criterion:  fs.String("criterion", "top1", "correctness criterion of the targets: top1 or top5"),
		dataset:    fs.String("dataset", "", "comma-separated data sets of the store (default all with predictions)"),
		folds:      fs.Int("folds", 10, "k of the k-fold cross-validation (the paper's 10)"),
		seed:       fs.Int64("seed", 1, "seed of the folds and of the learner"),
		repeats:    fs.Int("repeats", 1, "repeated k-fold runs on different random folds, averaged (seeds seed, seed+1, ...)"),
		resamples:  fs.Int("resamples", featsel.DefaultResamples, "bootstrap resamples of the images elimination is repeated on (Table 4 keeps the features most of them keep)"),
		threshold:  fs.Float64("threshold", featsel.DefaultThreshold, "|Pearson r| above which two features are redundant (the paper's 0.75)"),
		tolerance:  fs.Float64("tolerance", featsel.DefaultTolerance, "percentage points CV accuracy may fall below the best seen while features are removed"),
		maxSide:    fs.Int("max-side", 0, fmt.Sprintf("working-image side of the stored features to read (0 = %d)", features.DefaultMaxSide)),
		learner:    fs.String("learner", "knn", "premodel cross-validated inside selection: a learners name (knn, knn-cascade, dt, svm) or an X.Y.Z hierarchy"),
		workers:    fs.Int("workers", runtime.GOMAXPROCS(0), "feature sets cross-validated at once"),
		timingData: fs.String("timing-data", "", "image folder to time extraction on (default: the folder recorded when the features were extracted)"),
		timingN:    fs.Int("timing-images", 50, "images to time extraction on (0: no timing)"),
		timingReps: fs.Int("timing-reps", 3, "timed passes over the timing images"),
		out:        fs.String("out", "", "output folder for the JSON + CSV records and manifest.json"),
	}
}

// options checks the flags and returns the criterion and featsel's
// options (the premodel: the -learner with the paper's K = 5).
func (f selectFeaturesFlags) options() (profileview.Criterion, featsel.Options, error) {
	crit, err := profileview.ParseCriterion(*f.criterion)
	switch {
	case err != nil:
		return crit, featsel.Options{}, fmt.Errorf("%w: select-features: -criterion: %v", errUsage, err)
	case *f.folds < 2:
		return crit, featsel.Options{}, fmt.Errorf("%w: select-features: -folds %d, want at least 2", errUsage, *f.folds)
	case !(*f.threshold > 0 && *f.threshold <= 1):
		return crit, featsel.Options{}, fmt.Errorf("%w: select-features: -threshold %v, want (0, 1]", errUsage, *f.threshold)
	case *f.tolerance < 0:
		return crit, featsel.Options{}, fmt.Errorf("%w: select-features: -tolerance %v is negative", errUsage, *f.tolerance)
	case *f.timingN < 0 || *f.timingReps < 1 || *f.workers < 1 || *f.repeats < 1 || *f.resamples < 1:
		return crit, featsel.Options{}, fmt.Errorf("%w: select-features: -timing-images must be at least 0, -timing-reps, -workers, -repeats and -resamples at least 1", errUsage)
	}
	params := learners.Params{K: featsel.DefaultK}
	if _, err := featsel.NewLearner(*f.learner, params); err != nil {
		return crit, featsel.Options{}, fmt.Errorf("%w: select-features: -learner: %v", errUsage, err)
	}
	learner := *f.learner
	return crit, featsel.Options{Threshold: *f.threshold, Tolerance: *f.tolerance, CV: featsel.CVOptions{Folds: *f.folds, Seed: *f.seed,
		Repeats: *f.repeats, Workers: *f.workers, New: func() learners.Learner {
			l, _ := featsel.NewLearner(learner, params) // validated above
			return l
		}}, Resample: featsel.ResampleOptions{Resamples: *f.resamples, KeepShare: featsel.DefaultKeepShare, Seed: *f.seed}}, nil
}

// runSelectFeatures runs the correlation filter, backward elimination,
// importance and sweep on a store (featsel.Run) and writes the records.
func runSelectFeatures(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("select-features", stderr)
	f := addSelectFeaturesFlags(fs)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "store", "out"); err != nil {
		return err
	}
	crit, o, err := f.options()
	if err != nil {
		return err
	}
	st, err := openStore("select-features", *f.store)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	ex, err := features.NewExtractor(nil, features.Options{MaxSide: *f.maxSide})
	if err != nil {
		return fmt.Errorf("%w: select-features: %v", errUsage, err)
	}
	if err := ensureFeatures(ctx, st, splitList(*f.dataset), nil, *f.maxSide, stderr); err != nil {
		return err
	}
	tab, err := profileview.LoadTable(ctx, st, profileview.Options{Criterion: crit, Datasets: splitList(*f.dataset), MMACs: true},
		ex.ConfigKey(), ex.Names())
	if err != nil {
		return err
	}
	man, err := f.manifest(ctx, st, tab, &o, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "select-features: %d images, %d models (%s), %d x %d-fold CV ...\n",
		len(tab.X), len(tab.Models), tab.CostFrom, *f.repeats, *f.folds)
	rep, err := featsel.Run(ctx, tab, o)
	if err != nil {
		return err
	}
	man.Command, man.ConfigKey, man.ElapsedS = "modelpick select-features "+strings.Join(args, " "), ex.ConfigKey(), time.Since(start).Seconds()
	rep.Manifest = man
	if err := featsel.WriteRecords(*f.out, rep); err != nil {
		return err
	}
	fmt.Fprint(stdout, featsel.Markdown(rep))
	fmt.Fprintf(stdout, "\nrecords written to %s\n", *f.out)
	return nil
}

// manifest sets up the extraction timing (o.Time) and returns the run's
// manifest: settings, versions, the models' files and notes.
func (f selectFeaturesFlags) manifest(ctx context.Context, st *store.Store, tab *profileview.Table, o *featsel.Options, stderr io.Writer) (featsel.Manifest, error) {
	m := featsel.Manifest{Store: st.Path(), Criterion: tab.Criterion, Folds: *f.folds, Repeats: *f.repeats, Seed: *f.seed,
		Resamples: *f.resamples, ResampleSeed: *f.seed, KeepShare: featsel.DefaultKeepShare,
		Threshold: *f.threshold, Tolerance: *f.tolerance, FeaturesVersion: features.Version, Models: map[string]string{},
		Learner:    fmt.Sprintf("learners %q (K=%d) on min-max scaled features, scaler fitted on each training fold", *f.learner, featsel.DefaultK),
		TimingReps: *f.timingReps, Revision: revision(), GoVersion: runtime.Version(), CreatedAt: time.Now().UTC().Format(time.RFC3339)}
	for j, name := range tab.Models {
		m.Models[name] = tab.FilesSHA256[j]
	}
	if tab.CostFrom.Kind != profileview.CostMeasured {
		m.Notes = append(m.Notes, "targets use the specs' MMACs as cost: the store has no measured latency for every model "+
			"(run modelpick profile -cost=true on the device for latency-based targets)")
		fmt.Fprintln(stderr, "select-features: no latencies in the store for every model: targets ordered by the specs' mmacs")
	}
	files, source, err := timingImages(ctx, st, tab.Datasets, *f.timingData, *f.timingN)
	if err != nil {
		return m, err
	}
	m.TimingImages, m.TimingSource = len(files), source
	if len(files) == 0 {
		if *f.timingN > 0 {
			m.Notes = append(m.Notes, "extraction time not measured: "+source)
			fmt.Fprintln(stderr, "select-features: extraction time not measured:", source)
		}
		return m, nil
	}
	imgs := make([][]byte, len(files))
	for i, file := range files {
		if imgs[i], err = os.ReadFile(file); err != nil {
			return m, fmt.Errorf("select-features: timing image: %w", err)
		}
	}
	fopts, reps := features.Options{MaxSide: *f.maxSide}, *f.timingReps
	o.Time = func(sets [][]string) ([]float64, error) { return featsel.TimeSets(sets, imgs, fopts, reps) }
	return m, nil
}

// timingImages picks up to n readable images to time extraction on: from
// dir when given, else from the folder a features or profile run recorded
// for one of the data sets.
func timingImages(ctx context.Context, st *store.Store, dsNames []string, dir string, n int) ([]string, string, error) {
	if n == 0 {
		return nil, "timing disabled (-timing-images 0)", nil
	}
	if dir == "" {
		dirs, err := st.DatasetDirs(ctx, dsNames...)
		if err != nil {
			return nil, "", err
		}
		if len(dirs) == 0 {
			return nil, "no image folder recorded in the store is readable here; pass -timing-data", nil
		}
		dir = dirs[0]
	}
	files, err := featsel.TimingImages(dir, n)
	if err != nil {
		return nil, "", fmt.Errorf("select-features: timing images: %w", err)
	}
	return files, dir, nil
}

// revision is the VCS revision the binary was built from, when recorded.
func revision() string { return buildinfo.Revision() }

// ensureFeatures extracts the features a command reads (names, nil: all)
// for the store's images that lack them, from the folders the store
// recorded (extract.Ensure), and says so: a store fresh from profile
// needs no separate features step.
func ensureFeatures(ctx context.Context, st *store.Store, sets, names []string, maxSide int, stderr io.Writer) error {
	sums, err := extract.Ensure(ctx, st, sets, names, features.Options{MaxSide: maxSide}, nil)
	for _, s := range sums {
		fmt.Fprintf(stderr, "features: extracted %d features of %d images of %s into %s (%d failed), the store lacked them\n",
			len(s.Names), s.Computed, s.Dataset, st.Path(), s.Failed)
	}
	return err
}
