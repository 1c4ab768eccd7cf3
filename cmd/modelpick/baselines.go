package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/store"
)

// baselinesManifest records what produced a baselines report.
type baselinesManifest struct {
	Command   string `json:"command"`
	Train     string `json:"train_store"`
	Test      string `json:"test_store"`
	Criterion string `json:"criterion"`
	baselines.RunInfo
	Folds     int     `json:"folds"`
	Seed      int64   `json:"seed"`
	Revision  string  `json:"revision"`
	GoVersion string  `json:"go_version"`
	CreatedAt string  `json:"created_at"`
	ElapsedS  float64 `json:"elapsed_s"`
}

// baselinesFlags are baselines' flags.
type baselinesFlags struct {
	train, test, costs, criterion, models, budgets, targets, rules, premodels *string
	feats, embModel, overheads, out                                           *string
	theta                                                                     *float64
	frontier, rawOver, timeDec                                                *bool
	k, maxSide, folds                                                         *int
	seed                                                                      *int64
}

func addBaselinesFlags(fs *flag.FlagSet) baselinesFlags {
	return baselinesFlags{
		train:     fs.String("train", "", "store to calibrate and train on (profiled; features missing from it are extracted from the images it recorded; embedded for @embedding premodels)"),
		test:      fs.String("test", "", "store to test on, profiled (and featured, embedded) separately"),
		costs:     fs.String("costs", "", "store whose costs table gives each model's latency (default -train; costs are the device's, not the images')"),
		criterion: fs.String("criterion", "top1", "correctness criterion: top1 or top5"),
		models:    fs.String("models", "", "comma-separated candidate models (default: Algorithm 1 on the training store)"),
		theta:     fs.Float64("theta", 0.5, "Algorithm 1's threshold in percentage points, when -models is not given"),
		frontier:  fs.Bool("frontier", true, "drop candidates another candidate beats on both training accuracy and cost"),
		budgets:   fs.String("budget-ms", "", "comma-separated mean-latency budgets (default: the cost of the most accurate candidate on the training set)"),
		targets:   fs.String("target-acc", "", "comma-separated target accuracies, percent (default: that candidate's training accuracy)"),
		rules:     fs.String("rules", "shared,greedy", "softmax-cascade calibration rules: shared, greedy"),
		premodels: fs.String("premodels", "knn@features", "comma-separated LEARNER@SOURCE premodels; sources: features, embedding"),
		k:         fs.Int("k", 5, "K of kNN premodels (the paper's 5)"),
		feats:     fs.String("features", strings.Join(features.PaperKept, ","), "image features of the features source (default: the paper's Table 4)"),
		maxSide:   fs.Int("max-side", 0, fmt.Sprintf("working-image side of the stored features (0 = %d)", features.DefaultMaxSide)),
		embModel:  fs.String("embedding-model", "mobilenet_v1_0.25_128", "backbone of the embedding source (modelpick embed)"),
		overheads: fs.String("overhead", "", "SOURCE=MS,... premodel overhead per image (default: the latest modelpick embed run's timings in -test or -train; "+
			"without one, the features are timed here on the test images and the embedding costs the backbone's profiled run)"),
		rawOver: fs.Bool("raw-overhead", false, "take the embed run's timings as they are, not in units of the backbone's profiled cost"),
		folds:   fs.Int("folds", 10, "folds of the out-of-fold scores the knob is calibrated on"),
		seed:    fs.Int64("seed", 1, "seed of folds, learners and random routing"),
		timeDec: fs.Bool("time-decisions", true, "add the measured premodel decision time to its overhead"),
		out:     fs.String("out", "", "output folder for report.json, report.md, curves.csv, methods.csv, manifest.json"),
	}
}

// options checks the flags and returns baselines.Run's options (without
// the stores).
func (f baselinesFlags) options() (baselines.RunOptions, error) {
	o := baselines.RunOptions{Candidates: splitList(*f.models), Theta: *f.theta, Frontier: *f.frontier, Backbone: *f.embModel,
		RawOverhead: *f.rawOver, MaxSide: *f.maxSide, Folds: *f.folds, Seed: *f.seed, TimeDecisions: *f.timeDec}
	var err error
	if o.Criterion, err = profileview.ParseCriterion(*f.criterion); err != nil {
		return o, fmt.Errorf("%w: baselines: -criterion: %v", errUsage, err)
	}
	if *f.folds < 2 || *f.k < 1 {
		return o, fmt.Errorf("%w: baselines: -folds must be at least 2 and -k at least 1", errUsage)
	}
	for _, r := range splitList(*f.rules) {
		if r != string(baselines.RuleShared) && r != string(baselines.RuleGreedy) {
			return o, fmt.Errorf("%w: baselines: -rules: %q, want shared or greedy", errUsage, r)
		}
		o.Rules = append(o.Rules, baselines.Rule(r))
	}
	for _, pm := range splitList(*f.premodels) {
		l, src, ok := strings.Cut(pm, "@")
		if !ok || (src != embedding.SourceFeatures && src != embedding.SourceEmbedding) {
			return o, fmt.Errorf("%w: baselines: -premodels: %q, want LEARNER@features or LEARNER@embedding", errUsage, pm)
		}
		p := learners.Params{K: *f.k}
		if _, err := learners.New(l, p); err != nil {
			return o, fmt.Errorf("%w: baselines: -premodels: %v", errUsage, err)
		}
		o.Premodels = append(o.Premodels, baselines.PremodelSpec{Learner: l, Source: src, Params: p})
		if src == embedding.SourceFeatures && o.FeaturesKey == "" {
			ex, err := features.NewExtractor(splitList(*f.feats), features.Options{MaxSide: *f.maxSide})
			if err != nil {
				return o, fmt.Errorf("%w: baselines: -features: %v", errUsage, err)
			}
			o.Features, o.FeaturesKey = ex.Names(), ex.ConfigKey()
		}
	}
	if o.BudgetsMS, err = floats(*f.budgets); err != nil {
		return o, fmt.Errorf("%w: baselines: -budget-ms: %v", errUsage, err)
	}
	if o.TargetsAcc, err = floats(*f.targets); err != nil {
		return o, fmt.Errorf("%w: baselines: -target-acc: %v", errUsage, err)
	}
	if o.OverheadMS, err = keyFloats(*f.overheads); err != nil {
		return o, fmt.Errorf("%w: baselines: -overhead: %v", errUsage, err)
	}
	return o, nil
}

// runBaselines compares the softmax cascade, the one-knob premodels and
// random routing, calibrated on one store and tested on another
// (baselines.Run).
func runBaselines(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("baselines", stderr)
	f := addBaselinesFlags(fs)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "train", "test", "out"); err != nil {
		return err
	}
	o, err := f.options()
	if err != nil {
		return err
	}
	stores, err := openStores(*f.train, *f.test, *f.costs)
	if err != nil {
		return err
	}
	defer closeStores(stores)
	start := time.Now()
	o.Train, o.Test, o.Costs, o.Log = stores[0], stores[1], stores[2], stderr
	rep, info, err := baselines.Run(ctx, o)
	if err != nil {
		return err
	}
	man := baselinesManifest{Command: "modelpick baselines " + strings.Join(args, " "), Train: stores[0].Path(),
		Test: stores[1].Path(), Criterion: *f.criterion, RunInfo: info, Folds: *f.folds, Seed: *f.seed, Revision: revision(),
		GoVersion: runtime.Version(), CreatedAt: time.Now().UTC().Format(time.RFC3339), ElapsedS: time.Since(start).Seconds()}
	if err := baselines.WriteRecords(*f.out, rep, man); err != nil {
		return err
	}
	fmt.Fprint(stdout, rep.Markdown())
	fmt.Fprintf(stdout, "\nrecords written to %s\n", *f.out)
	return nil
}

// openStores opens the train, test and (when named) costs stores; the
// third is nil when its path is empty.
func openStores(paths ...string) ([]*store.Store, error) {
	out := make([]*store.Store, len(paths))
	for i, p := range paths {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			closeStores(out)
			return nil, fmt.Errorf("store %w", err)
		}
		st, err := store.Open(p)
		if err != nil {
			closeStores(out)
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

func closeStores(sts []*store.Store) {
	for _, st := range sts {
		if st != nil {
			st.Close()
		}
	}
}

func floats(s string) ([]float64, error) {
	var out []float64
	for _, f := range splitList(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func keyFloats(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, kv := range splitList(s) {
		k, v, ok := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || !(f >= 0) || math.IsInf(f, 0) || (k != "features" && k != "embedding") {
			return nil, fmt.Errorf("%q, want features=MS or embedding=MS", kv)
		}
		out[k] = f
	}
	return out, nil
}
