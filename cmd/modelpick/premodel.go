package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/classifier"
	"github.com/modelpick/modelpick/committee"
	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/featsel"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/routers"
	"github.com/modelpick/modelpick/store"
)

// trainFlags are train's flags.
type trainFlags struct {
	store, criterion, learner, out, feats, featsFrom, candidates, fallback, params *string
	models, labels, dataset, backbone, rule, stop, data, groundTruth               *string
	maxSide, k, threads                                                            *int
	theta, quantile, budget, targetAcc, targetGain                                 *float64
	seed                                                                           *int64
	escalate                                                                       *bool
}

func addTrainFlags(fs *flag.FlagSet) trainFlags {
	return trainFlags{
		store:       fs.String("store", "", "store with predictions and costs (modelpick profile) and features (modelpick features)"),
		criterion:   fs.String("criterion", "top1", "correctness criterion of the targets: top1 or top5"),
		learner:     fs.String("learner", "knn-cascade", "premodel: "+strings.Join(learners.Names(), ", ")+", softmax (a max-softmax confidence cascade), or an X.Y.Z hierarchy of "+strings.Join(learners.LevelNames(), ", ")+" (one level per candidate)"),
		out:         fs.String("out", "", "bundle folder to write (replaced if it holds a bundle)"),
		feats:       fs.String("features", "", "comma-separated feature names (default: -features-from, else all 29)"),
		featsFrom:   fs.String("features-from", "", "select-features output folder (or its kept_features.json): use its kept features"),
		maxSide:     fs.Int("max-side", 0, fmt.Sprintf("working-image side the features were extracted with (0 = %d, or the -features-from run's)", features.DefaultMaxSide)),
		theta:       fs.Float64("theta", premodel.DefaultTheta, "Algorithm 1: least accuracy gain, in percentage points, worth another model"),
		candidates:  fs.String("candidates", "", "comma-separated candidate models in cascade order, instead of Algorithm 1"),
		fallback:    fs.String("fallback", "", "model to run when the premodel chooses none, or none for an explicit no prediction (default: the cheapest candidate)"),
		seed:        fs.Int64("seed", 1, "seed of the learner's training"),
		k:           fs.Int("k", 0, "neighbours of the kNN learners and of the confidence distance (0 = 5, the paper's)"),
		params:      fs.String("params", "", `other learner settings as JSON, e.g. {"max_depth":8,"c":10,"gamma":0.5,"probability":true}`),
		quantile:    fs.Float64("confidence-quantile", premodel.DefaultQuantile, "share of training images the neighbour-distance threshold covers (leave-one-out)"),
		escalate:    fs.Bool("escalate", false, "send images beyond the distance threshold to the most accurate model"),
		models:      fs.String("models", "", "model spec file the store was profiled with (default: the specs registered in the store)"),
		labels:      fs.String("labels", "", "class names: synset_words.txt or a labels file (default: the training set's synset_words.txt, else the shared ImageNet labels)"),
		dataset:     fs.String("dataset", "", "comma-separated data sets of the store to train on (default all)"),
		threads:     fs.Int("threads", 0, "take model latencies measured at this thread count (0: 1 if present)"),
		budget:      fs.Float64("budget-ms", 0, "-learner softmax: calibrate for this mean-latency budget (default: the cost of the most accurate level)"),
		targetAcc:   fs.Float64("target-acc", 0, "-learner softmax: calibrate for this accuracy, percent, at the least mean latency (instead of -budget-ms)"),
		backbone:    fs.String("backbone", "mobilenet_v1_0.25_128", "-learner cnn: the model whose stored embedding (modelpick embed) the head reads"),
		rule:        fs.String("rule", string(baselines.RuleGreedy), "-learner softmax: threshold calibration rule, shared or greedy"),
		stop:        fs.String("stop", routers.StopThreshold, "-learner committee: stop rule, threshold (on the running average's top probability) or learned (logistic regression on its statistics, fitted out of fold)"),
		targetGain:  fs.Float64("target-gain", math.NaN(), "-learner committee: calibrate for top-1 at least the training store's most accurate single model's plus this many points, at the least mean latency"),
		data:        fs.String("data", "", "-learner committee: the training images' folder, for their probability vectors (default: the folder the store recorded)"),
		groundTruth: fs.String("ground-truth", "", "-learner committee: ImageNet ground-truth file (FILE INDEX) of a flat -data folder"),
	}
}

// options checks the flags and returns the router kind and its settings
// (the store is opened later).
func (f trainFlags) options(stderr io.Writer) (routers.Kind, routers.TrainOptions, error) {
	kind := routers.ForLearner(*f.learner)
	o := routers.TrainOptions{Learner: *f.learner, Theta: *f.theta, Candidates: splitList(*f.candidates), Fallback: *f.fallback,
		Quantile: *f.quantile, Escalate: *f.escalate, Seed: *f.seed, Datasets: splitList(*f.dataset), Threads: *f.threads,
		Backbone: *f.backbone, Objective: baselines.Objective{BudgetMS: *f.budget, TargetAcc: *f.targetAcc},
		Rule: baselines.Rule(*f.rule), Features: splitList(*f.feats), MaxSide: *f.maxSide, Log: stderr}
	var err error
	if o.Criterion, err = profileview.ParseCriterion(*f.criterion); err != nil {
		return kind, o, fmt.Errorf("%w: train: -criterion: %v", errUsage, err)
	}
	if o.Params, err = learnerParams(*f.params, *f.k); err != nil {
		return kind, o, err
	}
	if !math.IsNaN(*f.targetGain) {
		o.TargetGain = f.targetGain
	}
	o.Stop = *f.stop
	stopSet := *f.stop != routers.StopThreshold || o.TargetGain != nil || *f.data != "" || *f.groundTruth != ""
	for group, set := range map[string]bool{
		routers.ReadsFeatures:  *f.feats != "" || *f.featsFrom != "",
		routers.ReadsObjective: *f.budget != 0 || *f.targetAcc != 0,
		routers.ReadsCommittee: stopSet,
	} {
		if set && !slices.Contains(kind.Reads, group) {
			return kind, o, fmt.Errorf("%w: train: -learner %s (router %s) reads no %s settings", errUsage, *f.learner, kind.Name, group)
		}
	}
	if !slices.Contains(kind.Reads, routers.ReadsFeatures) {
		return kind, o, nil
	}
	if _, err := learners.New(*f.learner, o.Params); err != nil {
		return kind, o, fmt.Errorf("%w: train: -learner: %v", errUsage, err)
	}
	if *f.feats != "" && *f.featsFrom != "" {
		return kind, o, fmt.Errorf("%w: train: give -features or -features-from, not both", errUsage)
	}
	if *f.featsFrom != "" {
		if o.Features, o.MaxSide, err = keptFeatures(*f.featsFrom, *f.maxSide); err != nil {
			return kind, o, err
		}
	}
	if len(o.Features) == 0 {
		fmt.Fprintln(stderr, "train: no -features or -features-from: using all 29 features (select-features usually does better)")
	}
	return kind, o, nil
}

// learnerParams reads -params (JSON) and -k.
func learnerParams(js string, k int) (learners.Params, error) {
	p := learners.Params{}
	if js != "" {
		dec := json.NewDecoder(strings.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return p, fmt.Errorf("%w: train: -params: %v", errUsage, err)
		}
	}
	if k < 0 {
		return p, fmt.Errorf("%w: train: -k %d is negative", errUsage, k)
	}
	if k > 0 {
		p.K = k
	}
	return p, nil
}

// runTrain trains a router (a premodel, a cnn premodel or a softmax
// cascade: routers.ForLearner) on a store and writes its bundle.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	f := addTrainFlags(fs)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "store", "out"); err != nil {
		return err
	}
	kind, o, err := f.options(stderr)
	if err != nil {
		return err
	}
	st, err := openStore("train", *f.store)
	if err != nil {
		return err
	}
	defer st.Close()
	o.Store = st
	if slices.Contains(kind.Reads, routers.ReadsFeatures) {
		if err := ensureFeatures(ctx, st, o.Datasets, o.Features, o.MaxSide, stderr); err != nil {
			return err
		}
	}
	if slices.Contains(kind.Reads, routers.ReadsCommittee) {
		if o.Vectors, err = trainVectors(ctx, st, f, o, stderr); err != nil {
			return err
		}
	}
	t, err := kind.Train(ctx, o)
	if err != nil {
		return err
	}
	specs, err := bundleSpecs(ctx, st, *f.models, t.Router.Models())
	if err != nil {
		return err
	}
	names, source, err := classNames(ctx, st, t.Profile.Datasets, *f.labels, specs, stderr)
	if err != nil {
		return err
	}
	if err := routers.Write(*f.out, t, routers.WriteOptions{Specs: specs, Labels: names, LabelsSource: source,
		Revision: revision(), Command: "modelpick train " + strings.Join(args, " ")}); err != nil {
		return err
	}
	for _, line := range t.Summary {
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stdout, "bundle written to %s (labels: %s)\n", *f.out, source)
	return nil
}

// trainVectors computes (or reads from the cache) the full probability
// vectors of the store's single models (or -candidates) on the training
// images, for a committee cascade.
func trainVectors(ctx context.Context, st *store.Store, f trainFlags, o routers.TrainOptions, stderr io.Writer) ([]*committee.Probs, error) {
	names := o.Candidates
	if len(names) == 0 {
		rows, err := st.Models(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if !routers.IsCommitteeSpec(r.SpecJSON) {
				names = append(names, r.Name)
			}
		}
	}
	specs, err := bundleSpecs(ctx, st, *f.models, names)
	if err != nil {
		return nil, err
	}
	set, err := storeSet(ctx, st, o.Datasets, *f.data, *f.groundTruth, "train")
	if err != nil {
		return nil, err
	}
	return vectors(ctx, specs, set, stderr)
}

// storeSet loads the one data set of a store (or of the names given) from
// dir, or from the folder the store recorded for it.
func storeSet(ctx context.Context, st *store.Store, names []string, dir, gt, cmd string) (*datasets.Set, error) {
	if len(names) == 0 {
		v, err := profileview.Load(ctx, st, profileview.Options{Criterion: profileview.Top1})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
		names = v.Datasets
	}
	if len(names) != 1 {
		return nil, fmt.Errorf("%w: %s: store %s holds data sets %v: a committee cascade reads one, pass -dataset", errUsage, cmd, st.Path(), names)
	}
	if dir == "" {
		dirs, err := st.DatasetDirs(ctx, names[0])
		if err != nil {
			return nil, err
		}
		if len(dirs) == 0 {
			return nil, fmt.Errorf("%w: %s: the images of data set %s are not readable here, for their probability vectors: pass -data DIR", errUsage, cmd, names[0])
		}
		dir = dirs[0]
	}
	set, err := loadSet(dir, gt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if set.Name != names[0] {
		return nil, fmt.Errorf("%w: %s: -data %s is data set %s, the store's is %s", errUsage, cmd, dir, set.Name, names[0])
	}
	return set, nil
}

// vectors computes (or reads from the cache in $MODELPICK_CACHE/probs)
// the models' full probability vectors on a set, at one thread.
func vectors(ctx context.Context, specs []inference.Spec, set *datasets.Set, stderr io.Writer) ([]*committee.Probs, error) {
	load := inference.Options{Threads: 1, CacheDir: settings.Cache()}
	return committee.ComputeProbs(ctx, specs, set, committee.ProbsOptions{Load: load, CacheDir: settings.Cache(), Progress: stderr})
}

// openStore opens an existing store for a command.
func openStore(cmd, path string) (*store.Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: store %w", cmd, err)
	}
	return store.Open(path)
}

// keptFeatures reads the kept features of a select-features run and the
// working-image side its config key names.
func keptFeatures(from string, maxSide int) ([]string, int, error) {
	kept, key, err := featsel.ReadKept(from)
	if err != nil {
		return nil, 0, fmt.Errorf("train: -features-from: %w", err)
	}
	if side, ok := features.MaxSideOf(key); ok {
		if maxSide != 0 && maxSide != side {
			return nil, 0, fmt.Errorf("%w: train: -max-side %d, but the features were selected at max side %d (%s)", errUsage, maxSide, side, key)
		}
		maxSide = side
	}
	return kept, maxSide, nil
}

// bundleSpecs returns the specs of the named models: from a spec file, or
// as registered in the store.
func bundleSpecs(ctx context.Context, st *store.Store, specFile string, names []string) ([]inference.Spec, error) {
	if specFile != "" {
		sf, err := inference.ParseSpecFile(specFile)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		return selectSpecs(sf.Models, strings.Join(names, ","))
	}
	rows, err := st.Models(ctx)
	if err != nil {
		return nil, err
	}
	var out []inference.Spec
	for _, n := range names {
		i := slices.IndexFunc(rows, func(r store.ModelRow) bool { return r.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("train: model %s has no spec in store %s: pass -models SPEC", n, st.Path())
		}
		sf, err := inference.ParseSpec([]byte(`{"models": [`+rows[i].SpecJSON+`]}`), "")
		if err != nil {
			return nil, fmt.Errorf("train: model %s: the spec registered in the store does not resolve here (%v): "+
				"pass -models with the spec file it was profiled with", n, err)
		}
		out = append(out, sf.Models[0])
	}
	return out, nil
}

// classNames reads the class names for the bundle. A default source whose
// count does not fit the models is skipped with a note; a named one that
// does not fit is an error.
func classNames(ctx context.Context, st *store.Store, dsets []string, file string, specs []inference.Spec, stderr io.Writer) ([]string, string, error) {
	classes := 0
	for _, s := range specs {
		classes = max(classes, s.NumClasses)
	}
	explicit := file != ""
	if !explicit {
		dirs, err := st.DatasetDirs(ctx, dsets...)
		if err != nil {
			return nil, "", err
		}
		file = datasets.ClassNamesFile(dirs, filepath.Join(settings.Assets(), "models", "imagenet", "imagenet_labels.txt"))
	}
	if file == "" {
		fmt.Fprintln(stderr, "train: no class names found (pass -labels FILE): results will carry class indices only")
		return nil, "none found", nil
	}
	names, err := datasets.ReadLabels(file)
	if err != nil {
		return nil, "", fmt.Errorf("train: %w", err)
	}
	if len(names) != classes {
		if explicit {
			return nil, "", fmt.Errorf("%w: train: -labels %s has %d names, the models have %d classes", errUsage, file, len(names), classes)
		}
		fmt.Fprintf(stderr, "train: %s has %d names but the models have %d classes: no class names (pass -labels FILE)\n", file, len(names), classes)
		return nil, "none: " + file + " does not fit", nil
	}
	return names, file, nil
}

// classifyLine is one line of classify's output.
type classifyLine struct {
	Image string `json:"image"`
	*classifier.Result
	Error string `json:"error,omitempty"`
}

// runClassify classifies image files with a bundle, one JSON line each.
func runClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("classify", stderr)
	var (
		bundle   = fs.String("bundle", "", "bundle folder written by modelpick train")
		workers  = fs.Int("workers", 1, "images classified at once (each worker loads its own copy of the models)")
		threads  = fs.Int("threads", 1, "ONNX Runtime intra-op threads per model")
		provider = fs.String("provider", "cpu", "execution provider: cpu, cuda or tensorrt")
		ortLib   = fs.String("ort-lib", "", "ONNX Runtime library (default $MODELPICK_ORT_LIB or the Makefile's cache)")
	)
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if err := required(fs, "bundle"); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: classify: name the images, as in: modelpick classify -bundle B img1.jpg img2.png", errUsage)
	}
	if *workers < 1 {
		return fmt.Errorf("%w: classify: -workers %d, want at least 1", errUsage, *workers)
	}
	c, err := classifier.Open(*bundle, classifier.Options{Workers: *workers,
		Load: inference.Options{Threads: *threads, Provider: *provider, ORTLibrary: *ortLib, CacheDir: settings.Cache()}})
	if err != nil {
		return err
	}
	defer c.Close()
	images := fs.Args()
	lines := classifyAll(ctx, c, images, *workers)
	failed := 0
	enc := json.NewEncoder(stdout)
	for _, l := range lines {
		if l.Error != "" {
			failed++
		}
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("classify: %d of %d images could not be classified (see their error lines)", failed, len(images))
	}
	return ctx.Err()
}

// classifyAll classifies the images with workers goroutines, one line
// each, in order.
func classifyAll(ctx context.Context, c *classifier.Classifier, images []string, workers int) []classifyLine {
	lines := make([]classifyLine, len(images))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				lines[i] = classifyOne(ctx, c, images[i])
			}
		}()
	}
	for i := range images {
		next <- i
	}
	close(next)
	wg.Wait()
	return lines
}

func classifyOne(ctx context.Context, c *classifier.Classifier, path string) classifyLine {
	data, err := os.ReadFile(path)
	if err != nil {
		return classifyLine{Image: path, Error: err.Error()}
	}
	r, err := c.Classify(ctx, data)
	if err != nil {
		return classifyLine{Image: path, Error: err.Error()}
	}
	return classifyLine{Image: path, Result: &r}
}

// runEvaluate evaluates a bundle on a test store profiled and featured
// apart from its training store, with its router kind's Evaluate.
func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("evaluate", stderr)
	var (
		bundle    = fs.String("bundle", "", "bundle folder written by modelpick train")
		storePath = fs.String("store", "", "test store: profiled (with costs) and featured separately from the training store")
		out       = fs.String("out", "", "report file (JSON)")
		dataDir   = fs.String("data", "", "the test images' folder, to time feature extraction (default: the folder the store recorded)")
		dataset   = fs.String("dataset", "", "comma-separated data sets of the test store (default all)")
		timing    = fs.Bool("feature-timing", true, "time feature extraction on the test images (needs the image files)")
		threads   = fs.Int("threads", 0, "take model latencies measured at this thread count (0: 1 if present)")
		repeats   = fs.Int("repeats", 5, "times each decision is timed, averaged")
	)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "bundle", "store", "out"); err != nil {
		return err
	}
	l, err := routers.Open(*bundle)
	if err != nil {
		return err
	}
	st, err := openStore("evaluate", *storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	eo := routers.EvalOptions{Store: st, Datasets: splitList(*dataset),
		Threads: *threads, DataDir: *dataDir, Timing: *timing, Repeats: *repeats, Log: stderr}
	if p, ok := l.Router.(*premodel.Premodel); ok && p.Backbone == nil {
		if err := ensureFeatures(ctx, st, eo.Datasets, p.FeatureNames, p.MaxSide, stderr); err != nil {
			return err
		}
	}
	if l.Manifest.Router == routers.KindCommittee {
		set, err := storeSet(ctx, st, eo.Datasets, *dataDir, "", "evaluate")
		if err != nil {
			return err
		}
		if eo.Vectors, err = vectors(ctx, l.Specs, set, stderr); err != nil {
			return err
		}
	}
	ev, err := l.Evaluate(ctx, eo)
	if err != nil {
		return err
	}
	if err := writeJSON(*out, ev.Report); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	fmt.Fprint(stdout, ev.Markdown)
	fmt.Fprintf(stdout, "\nreport written to %s\n", *out)
	return nil
}

// writeJSON writes v as indented JSON into file, making its folder.
func writeJSON(file string, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, append(js, '\n'), 0o644)
}

// runSelectModels runs Algorithm 1 on a store and writes its trace.
func runSelectModels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("select-models", stderr)
	var (
		storePath = fs.String("store", "", "store with predictions and costs (modelpick profile)")
		criterion = fs.String("criterion", "top1", "correctness criterion: top1 or top5")
		theta     = fs.Float64("theta", premodel.DefaultTheta, "least accuracy gain, in percentage points, worth another model")
		out       = fs.String("out", "", "output folder for selection.json, fig5_optimum_share.csv and fig6_steps.csv")
		dataset   = fs.String("dataset", "", "comma-separated data sets of the store (default all)")
		threads   = fs.Int("threads", 0, "take model latencies measured at this thread count (0: 1 if present)")
	)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "store", "out"); err != nil {
		return err
	}
	crit, err := profileview.ParseCriterion(*criterion)
	if err != nil {
		return fmt.Errorf("%w: select-models: -criterion: %v", errUsage, err)
	}
	if *theta < 0 {
		return fmt.Errorf("%w: select-models: -theta %v is negative", errUsage, *theta)
	}
	st, err := openStore("select-models", *storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	prof, err := profileview.Load(ctx, st, profileview.Options{Criterion: crit, Datasets: splitList(*dataset), Threads: *threads})
	if err != nil {
		return fmt.Errorf("select-models: %w", err)
	}
	rec, err := premodel.SelectModels(prof, *theta)
	if err != nil {
		return err
	}
	if err := premodel.WriteSelection(*out, rec); err != nil {
		return err
	}
	fmt.Fprint(stdout, rec.Markdown())
	fmt.Fprintf(stdout, "\nrecords written to %s\n", *out)
	return nil
}
