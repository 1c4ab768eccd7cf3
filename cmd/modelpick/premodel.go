package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/classifier"
	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/store"
)

// runTrain trains a premodel on a store and writes its bundle.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	var (
		storePath  = fs.String("store", "", "store with predictions and costs (modelpick profile) and features (modelpick features)")
		criterion  = fs.String("criterion", "top1", "correctness criterion of the targets: top1 or top5")
		learner    = fs.String("learner", "knn-cascade", "premodel: "+strings.Join(learners.Names(), ", ")+", softmax (a max-softmax confidence cascade), or an X.Y.Z hierarchy of "+strings.Join(learners.LevelNames(), ", ")+" (one level per candidate)")
		out        = fs.String("out", "", "bundle folder to write (replaced if it holds a bundle)")
		featList   = fs.String("features", "", "comma-separated feature names (default: -features-from, else all 29)")
		featFrom   = fs.String("features-from", "", "select-features output folder (or its kept_features.json): use its kept features")
		maxSide    = fs.Int("max-side", 0, fmt.Sprintf("working-image side the features were extracted with (0 = %d, or the -features-from run's)", features.DefaultMaxSide))
		theta      = fs.Float64("theta", premodel.DefaultTheta, "Algorithm 1: least accuracy gain, in percentage points, worth another model")
		candidates = fs.String("candidates", "", "comma-separated candidate models in cascade order, instead of Algorithm 1")
		fallback   = fs.String("fallback", "", "model to run when the premodel chooses none, or none for an explicit no prediction (default: the cheapest candidate)")
		seed       = fs.Int64("seed", 1, "seed of the learner's training")
		k          = fs.Int("k", 0, "neighbours of the kNN learners and of the confidence distance (0 = 5, the paper's)")
		params     = fs.String("params", "", `other learner settings as JSON, e.g. {"max_depth":8,"c":10,"gamma":0.5,"probability":true}`)
		quantile   = fs.Float64("confidence-quantile", premodel.DefaultQuantile, "share of training images the neighbour-distance threshold covers (leave-one-out)")
		escalate   = fs.Bool("escalate", false, "send images beyond the distance threshold to the most accurate model")
		modelsPath = fs.String("models", "", "model spec file the store was profiled with (default: the specs registered in the store)")
		labels     = fs.String("labels", "", "class names: synset_words.txt or a labels file (default: the training set's synset_words.txt, else the shared ImageNet labels)")
		dataset    = fs.String("dataset", "", "comma-separated data sets of the store to train on (default all)")
		threads    = fs.Int("threads", 0, "take model latencies measured at this thread count (0: 1 if present)")
		budget     = fs.Float64("budget-ms", 0, "-learner softmax: calibrate for this mean-latency budget (default: the cost of the most accurate level)")
		targetAcc  = fs.Float64("target-acc", 0, "-learner softmax: calibrate for this accuracy, percent, at the least mean latency (instead of -budget-ms)")
		backbone   = fs.String("backbone", "mobilenet_v1_0.25_128", "-learner cnn: the model whose stored embedding (modelpick embed) the head reads")
		rule       = fs.String("rule", string(baselines.RuleGreedy), "-learner softmax: threshold calibration rule, shared or greedy")
	)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "store", "out"); err != nil {
		return err
	}
	crit, err := premodel.ParseCriterion(*criterion)
	if err != nil {
		return fmt.Errorf("%w: train: -criterion: %v", errUsage, err)
	}
	if *learner == learnerSoftmax {
		return trainSoftmax(ctx, softmaxArgs{store: *storePath, out: *out, crit: crit, theta: *theta, candidates: splitList(*candidates),
			models: *modelsPath, labels: *labels, datasets: splitList(*dataset), threads: *threads,
			obj: baselines.Objective{BudgetMS: *budget, TargetAcc: *targetAcc}, rule: baselines.Rule(*rule),
			command: "modelpick train " + strings.Join(args, " ")}, stdout, stderr)
	}
	if *budget != 0 || *targetAcc != 0 {
		return fmt.Errorf("%w: train: -budget-ms and -target-acc apply to -learner softmax only", errUsage)
	}
	p := learners.Params{}
	if *params != "" {
		dec := json.NewDecoder(strings.NewReader(*params))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return fmt.Errorf("%w: train: -params: %v", errUsage, err)
		}
	}
	if *k < 0 {
		return fmt.Errorf("%w: train: -k %d is negative", errUsage, *k)
	}
	if *k > 0 {
		p.K = *k
	}
	if _, err := learners.New(*learner, p); err != nil {
		return fmt.Errorf("%w: train: -learner: %v", errUsage, err)
	}
	if *featList != "" && *featFrom != "" {
		return fmt.Errorf("%w: train: give -features or -features-from, not both", errUsage)
	}
	names, side := splitList(*featList), *maxSide
	var bb *premodel.Backbone
	if *learner == "cnn" {
		if *featList != "" || *featFrom != "" {
			return fmt.Errorf("%w: train: -learner cnn reads the -backbone embedding, not -features", errUsage)
		}
		if bb, err = backboneOf(ctx, *storePath, *modelsPath, *backbone); err != nil {
			return err
		}
	}
	if *featFrom != "" {
		if names, side, err = keptFeatures(*featFrom, *maxSide); err != nil {
			return err
		}
	}
	if len(names) == 0 && bb == nil {
		fmt.Fprintln(stderr, "train: no -features or -features-from: using all 29 features (select-features usually does better)")
	}
	var featNames []string
	var featKey string
	if bb != nil {
		featNames, featKey = embedding.Names(bb.Dims), embedding.ConfigKey(bb.Model, bb.FilesSHA256)
	} else {
		ex, err := features.NewExtractor(names, features.Options{MaxSide: side})
		if err != nil {
			return fmt.Errorf("%w: train: -features: %v", errUsage, err)
		}
		featNames, featKey = ex.Names(), ex.ConfigKey()
	}
	if _, err := os.Stat(*storePath); err != nil {
		return fmt.Errorf("train: store %w", err)
	}
	st, err := store.Open(*storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	set, err := premodel.Load(ctx, st, premodel.SetOptions{
		ProfileOptions: premodel.ProfileOptions{Criterion: crit, Datasets: splitList(*dataset), Threads: *threads},
		Names:          featNames, ConfigKey: featKey})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	pm, err := premodel.Train(set, premodel.Options{Learner: *learner, Params: p, Theta: *theta,
		Candidates: splitList(*candidates), Fallback: *fallback, Quantile: *quantile, Escalate: *escalate, Seed: *seed})
	if err != nil {
		return err
	}
	pm.Backbone = bb
	bundled := pm.Models()
	if bb != nil && !slices.Contains(bundled, bb.Model) {
		bundled = append(bundled, bb.Model)
	}
	specs, err := bundleSpecs(ctx, st, *modelsPath, bundled)
	if err != nil {
		return err
	}
	names2, source, err := classNames(ctx, st, set.Datasets, *labels, specs, stderr)
	if err != nil {
		return err
	}
	if err := premodel.WriteBundle(*out, pm, premodel.BundleInput{Set: set, Specs: specs, MaxSide: side,
		Labels: names2, LabelsSource: source, Revision: revision(),
		Command: "modelpick train " + strings.Join(args, " ")}); err != nil {
		return err
	}
	targets := map[string]int{}
	for _, y := range pm.TrainY {
		if y == learners.None {
			targets["none"]++
		} else {
			targets[pm.Candidates[y]]++
		}
	}
	featDesc := strings.Join(pm.FeatureNames, ", ")
	if bb != nil {
		featDesc = fmt.Sprintf("the %d-d embedding of backbone %s", bb.Dims, bb.Model)
	}
	fmt.Fprintf(stdout, "trained %s on %d images of %s (%s, latency at %d thread(s)), features %s\n",
		pm.LearnerName, len(set.X), strings.Join(set.Datasets, ", "), crit, set.CostThreads, featDesc)
	from := "Algorithm 1, theta " + strconv.FormatFloat(*theta, 'g', -1, 64) + " pp"
	if pm.Trace == nil {
		from = "given"
	}
	fmt.Fprintf(stdout, "candidates (%s): %s; optimum per image: %s\n", from, strings.Join(pm.Candidates, " > "), countList(targets))
	fmt.Fprintf(stdout, "fallback: %s; confidence: mean distance to %d neighbours, threshold %.4g (%g quantile), escalation to %s %s\n",
		orNoneName(pm.Fallback), pm.Confidence.K, pm.Confidence.Threshold, pm.Confidence.Quantile, pm.Confidence.Model,
		map[bool]string{true: "on", false: "off"}[pm.Confidence.Escalate])
	fmt.Fprintf(stdout, "bundle written to %s (labels: %s)\n", *out, source)
	return nil
}

func orNoneName(s string) string {
	if s == "" {
		return premodel.FallbackNone + " (no prediction)"
	}
	return s
}

func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// keptFeatures reads the kept features of a select-features run (a folder
// with kept_features.json and manifest.json, or the JSON file itself) and
// the working-image side their config key names.
func keptFeatures(from string, maxSide int) ([]string, int, error) {
	file, dir := from, filepath.Dir(from)
	if st, err := os.Stat(from); err == nil && st.IsDir() {
		file, dir = filepath.Join(from, "kept_features.json"), from
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, 0, fmt.Errorf("train: -features-from: %w (want the -out folder of modelpick select-features)", err)
	}
	var kept struct {
		Kept []string `json:"kept"`
	}
	if err := json.Unmarshal(b, &kept); err != nil || len(kept.Kept) == 0 {
		return nil, 0, fmt.Errorf("train: -features-from: %s has no \"kept\" feature list (%v)", file, err)
	}
	var man struct {
		ConfigKey string `json:"config_key"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil && json.Unmarshal(b, &man) == nil && man.ConfigKey != "" {
		_, v, ok := strings.Cut(man.ConfigKey, "max_side=")
		side, err := strconv.Atoi(v)
		if ok && err == nil {
			if maxSide != 0 && maxSide != side {
				return nil, 0, fmt.Errorf("%w: train: -max-side %d, but the features were selected at max side %d (%s)", errUsage, maxSide, side, man.ConfigKey)
			}
			maxSide = side
		}
	}
	return kept.Kept, maxSide, nil
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
		file = premodel.DefaultLabelsFile(ctx, st, dsets)
	}
	if file == "" {
		fmt.Fprintln(stderr, "train: no class names found (pass -labels FILE): results will carry class indices only")
		return nil, "none found", nil
	}
	names, err := premodel.ReadLabels(file)
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
		Load: inference.Options{Threads: *threads, Provider: *provider, ORTLibrary: *ortLib}})
	if err != nil {
		return err
	}
	defer c.Close()
	images := fs.Args()
	lines := make([]classifyLine, len(images))
	next := make(chan int)
	var wg sync.WaitGroup
	for range *workers {
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
// apart from its training store.
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
	b, err := premodel.LoadBundle(*bundle)
	if err != nil {
		return err
	}
	if _, err := os.Stat(*storePath); err != nil {
		return fmt.Errorf("evaluate: store %w", err)
	}
	st, err := store.Open(*storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	if b.Cascade != nil {
		return evaluateCascade(ctx, b, st, *bundle, *out, splitList(*dataset), *threads, stdout)
	}
	p := b.Premodel
	set, err := premodel.Load(ctx, st, premodel.SetOptions{
		ProfileOptions: premodel.ProfileOptions{Criterion: p.Criterion, Datasets: splitList(*dataset), Threads: *threads},
		Names:          p.FeatureNames, ConfigKey: p.ConfigKey})
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	for _, mi := range b.Manifest.Models {
		if j := set.ModelIndex(mi.Name); j >= 0 && set.FilesSHA256[j] != mi.FilesSHA256 {
			return fmt.Errorf("evaluate: test store %s profiled other files for %s (sha256 %.12s) than the bundle holds (%.12s): "+
				"profile the bundle's models on the test images", st.Path(), mi.Name, set.FilesSHA256[j], mi.FilesSHA256)
		}
	}
	o := premodel.EvalOptions{MaxSide: b.Manifest.Features.MaxSide, Repeats: *repeats}
	if *timing && p.Backbone != nil {
		fmt.Fprintf(stderr, "evaluate: a cnn bundle's overhead is its backbone %s's run, not timed here (its cost is in the test store)\n", p.Backbone.Model)
	}
	if *timing && p.Backbone == nil {
		dirs := map[string]string{}
		for _, d := range set.Datasets {
			switch {
			case *dataDir != "" && len(set.Datasets) == 1:
				dirs[d] = *dataDir
			default:
				dirs[d] = premodel.DatasetDir(ctx, st, d)
			}
			if dirs[d] == "" {
				return fmt.Errorf("evaluate: the images of data set %s are not readable here, to time feature extraction: "+
					"pass -data DIR (one data set at a time), or -feature-timing=false", d)
			}
		}
		o.Image = func(it premodel.Item) ([]byte, error) {
			return os.ReadFile(filepath.Join(dirs[it.Dataset], filepath.FromSlash(it.File)))
		}
	}
	rep, err := premodel.Evaluate(ctx, p, set, o)
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(struct {
		Bundle string `json:"bundle"`
		premodel.Report
	}{*bundle, rep}, "", "  ")
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if err := os.WriteFile(*out, append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	fmt.Fprint(stdout, rep.Markdown())
	fmt.Fprintf(stdout, "\nreport written to %s\n", *out)
	return nil
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
	crit, err := premodel.ParseCriterion(*criterion)
	if err != nil {
		return fmt.Errorf("%w: select-models: -criterion: %v", errUsage, err)
	}
	if *theta < 0 {
		return fmt.Errorf("%w: select-models: -theta %v is negative", errUsage, *theta)
	}
	if _, err := os.Stat(*storePath); err != nil {
		return fmt.Errorf("select-models: store %w", err)
	}
	st, err := store.Open(*storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	prof, err := premodel.LoadProfile(ctx, st, premodel.ProfileOptions{Criterion: crit, Datasets: splitList(*dataset), Threads: *threads})
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

// backboneOf finds the backbone's spec and the dimension of its embedding
// as modelpick embed stored it in the store.
func backboneOf(ctx context.Context, storePath, specFile, model string) (*premodel.Backbone, error) {
	st, err := store.Open(storePath)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	specs, err := bundleSpecs(ctx, st, specFile, []string{model})
	if err != nil {
		return nil, fmt.Errorf("train: -backbone %s: %w", model, err)
	}
	sha, err := specs[0].FilesSHA256()
	if err != nil {
		return nil, fmt.Errorf("train: -backbone %s: %w", model, err)
	}
	key := embedding.ConfigKey(model, sha)
	rows, err := st.Features(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	dims := map[string]bool{}
	for _, r := range rows {
		dims[r.Name] = true
	}
	if len(dims) == 0 {
		return nil, fmt.Errorf("train: store %s has no embedding of %s (%s): run `modelpick embed -models SPEC -model %s -data DIR -store %s` on the profiled images",
			storePath, model, key, model, storePath)
	}
	return &premodel.Backbone{Model: model, FilesSHA256: sha, Dims: len(dims)}, nil
}
