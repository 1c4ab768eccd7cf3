package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/buildinfo"
	"github.com/modelpick/modelpick/internal/ortenv"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/onnxconv"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/store"
)

// profileFlags are profile's flags.
type profileFlags struct {
	models, only, data, gt, store, shard, provider, ortLib, meter, sysfs *string
	limit, threads, minRuns, maxRuns, warmup                             *int
	correct, cost, quiet                                                 *bool
	relCI                                                                *float64
	maxTime, idle                                                        *time.Duration
}

func addProfileFlags(fs *flag.FlagSet) profileFlags {
	return profileFlags{
		models:   fs.String("models", "", "model spec file (YAML), e.g. experiments/models/ladder.yaml"),
		only:     fs.String("only", "", "comma-separated model names from the spec (default all)"),
		data:     fs.String("data", "", "labelled image folder (labels.txt, or one folder per class)"),
		gt:       fs.String("ground-truth", "", "ImageNet ground-truth file (FILE INDEX) for a flat image folder"),
		store:    fs.String("store", "", "store file (SQLite); created if missing, resumed if present"),
		shard:    fs.String("shard", "0/1", "profile shard i of n (i/n), e.g. 2/8; merge the shard stores afterwards"),
		limit:    fs.Int("limit", 0, "profile only the first N images of the set (0 = all)"),
		threads:  fs.Int("threads", 1, "ONNX Runtime intra-op threads per model"),
		provider: fs.String("provider", "cpu", "execution provider: cpu, cuda or tensorrt (needs a matching MODELPICK_ORT_LIB)"),
		ortLib:   fs.String("ort-lib", "", "ONNX Runtime library (default $MODELPICK_ORT_LIB or the Makefile's cache)"),
		correct:  fs.Bool("correctness", true, "profile per-image top-5 correctness (hardware independent, shardable)"),
		cost:     fs.Bool("cost", true, "profile per-model latency/energy on this machine (not with -shard)"),
		minRuns:  fs.Int("min-runs", 30, "cost: minimum timed runs (enough samples for a stable t-interval)"),
		maxRuns:  fs.Int("max-runs", 1000, "cost: maximum timed runs"),
		warmup:   fs.Int("warmup", 5, "cost: untimed warm-up runs"),
		relCI:    fs.Float64("ci-width", 0.05, "cost: stop when the 95% CI half-width is within this fraction of the mean (paper: 5%)"),
		maxTime:  fs.Duration("max-time", 60*time.Second, "cost: time limit per model"),
		meter:    fs.String("meter", "auto", "energy meter: auto, ina3221, rapl or none"),
		sysfs:    fs.String("sysfs", "/", "root of the sysfs tree the meters read (for tests and containers)"),
		idle:     fs.Duration("idle", 2*time.Second, "cost: idle-power measurement before timing (meter only)"),
		quiet:    fs.Bool("quiet", false, "no progress line"),
	}
}

// options validates everything before any work starts: the shard, the
// spec, the data set and the meter (the store is opened later).
func (f profileFlags) options(stderr io.Writer) (profile.Options, error) {
	o := profile.Options{Load: inference.Options{Threads: *f.threads, Provider: *f.provider, ORTLibrary: *f.ortLib, CacheDir: settings.Cache()},
		Limit: *f.limit, Correctness: *f.correct, Cost: *f.cost, IdleFor: *f.idle, Meter: measure.NewNone(),
		Timing: measure.TimingOptions{Warmup: *f.warmup, MinRuns: *f.minRuns, MaxRuns: *f.maxRuns,
			Confidence: 0.95, RelHalfWidth: *f.relCI, MaxDuration: *f.maxTime}}
	var err error
	if o.ShardI, o.ShardN, err = datasets.ParseShard(*f.shard); err != nil {
		return o, fmt.Errorf("%w: -shard: %v", errUsage, err)
	}
	if o.ShardN > 1 && o.Cost {
		fmt.Fprintln(stderr, "profile: -shard given: skipping the cost profile (measure cost once, on the device; pass -cost=false to silence this)")
		o.Cost = false
	}
	sf, err := inference.ParseSpecFile(*f.models)
	if err != nil {
		return o, err
	}
	if o.Specs, err = selectSpecs(sf.Models, *f.only); err != nil {
		return o, err
	}
	if o.Set, err = loadSet(*f.data, *f.gt); err != nil {
		return o, err
	}
	if o.Cost {
		if o.Meter, err = measure.NewMeter(measure.MeterOptions{Kind: *f.meter, SysfsRoot: *f.sysfs}); err != nil {
			return o, fmt.Errorf("-meter %s: %w", *f.meter, err)
		}
	}
	if !*f.quiet {
		o.Progress = stderr
	}
	return o, nil
}

// runProfile profiles models on a labelled image set into a store
// (profile.Run).
func runProfile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("profile", stderr)
	f := addProfileFlags(fs)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "models", "data", "store"); err != nil {
		return err
	}
	o, err := f.options(stderr)
	if err != nil {
		return err
	}
	st, err := store.Open(*f.store)
	if err != nil {
		return err
	}
	defer st.Close()
	o.Store = st
	sum, err := profile.Run(ctx, o)
	if err != nil {
		return err
	}
	if o.Correctness {
		fmt.Fprintf(stdout, "profiled %s: %d images (%d already done, %d unreadable), %d predictions written\n",
			o.Set.Name, sum.Images, sum.Skipped, sum.Failed, sum.Predictions)
	}
	for _, c := range sum.Costs {
		e := c.EnergyStatus
		if c.EnergyJ != nil {
			e = fmt.Sprintf("%.4f J/inference", *c.EnergyJ)
		}
		fmt.Fprintf(stdout, "  %-28s %8.3f ms  95%% CI [%.3f, %.3f]  n=%d  energy: %s\n",
			c.Model, c.MeanMS, c.CILowMS, c.CIHighMS, c.N, e)
	}
	return nil
}

func selectSpecs(all []inference.Spec, only string) ([]inference.Spec, error) {
	if only == "" {
		return all, nil
	}
	byName := map[string]inference.Spec{}
	for _, s := range all {
		byName[s.Name] = s
	}
	var out []inference.Spec
	for _, n := range splitList(only) {
		s, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("%w: -only: no model %q in the spec", errUsage, n)
		}
		out = append(out, s)
	}
	return out, nil
}

func runMerge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("merge", stderr)
	out := fs.String("out", "", "destination store (created if missing)")
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: merge: name the shard stores to merge, as in: modelpick merge -out ALL.db SHARD1.db SHARD2.db", errUsage)
	}
	dst, err := store.Open(*out)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := store.Merge(ctx, dst, fs.Args()...); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "merged %d stores into %s\n", fs.NArg(), *out)
	return nil
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	storePath := fs.String("store", "", "store file")
	out := fs.String("out", "", "output folder for the CSV files and manifest")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "store", "out"); err != nil {
		return err
	}
	if _, err := os.Stat(*storePath); err != nil {
		return fmt.Errorf("export: store %w", err)
	}
	st, err := store.Open(*storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.ExportCSV(ctx, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %s to %s\n", *storePath, *out)
	return nil
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	rev := buildinfo.Revision()
	ortVer := "not loaded"
	if err := ortenv.Init(""); err != nil {
		ortVer = err.Error()
	} else {
		ortVer = ortenv.Version() + " (" + ortenv.Library() + ")"
	}
	fmt.Fprintf(stdout, "modelpick revision %s\ngo %s %s/%s\nonnxruntime %s\ntflite importer v%s\nassets %s\ncache %s\n",
		rev, runtime.Version(), runtime.GOOS, runtime.GOARCH, ortVer, onnxconv.Version, settings.Assets(), settings.Cache())
	return nil
}
