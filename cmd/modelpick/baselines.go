package main

import (
	"context"
	"encoding/json"
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
	"github.com/modelpick/modelpick/selection"
	"github.com/modelpick/modelpick/store"
)

// paperFeatures is the paper's kept feature set (its Table 4).
const paperFeatures = "n_keypoints,avg_perceived_brightness,hue1,contrast,area_by_perim,edge_length1,aspect_ratio"

// baselinesManifest records what produced a baselines report.
type baselinesManifest struct {
	Command        string             `json:"command"`
	Train          string             `json:"train_store"`
	Test           string             `json:"test_store"`
	Costs          string             `json:"costs"`
	Criterion      string             `json:"criterion"`
	Candidates     []string           `json:"candidates"`
	CandidatesFrom string             `json:"candidates_from"`
	Objectives     []string           `json:"objectives"`
	Premodels      []string           `json:"premodels"`
	Features       []string           `json:"features,omitempty"`
	FeaturesKey    string             `json:"features_config_key,omitempty"`
	EmbeddingKey   string             `json:"embedding_config_key,omitempty"`
	Overheads      map[string]float64 `json:"overhead_ms"`
	OverheadFrom   map[string]string  `json:"overhead_from"`
	Folds          int                `json:"folds"`
	Seed           int64              `json:"seed"`
	Excluded       map[string]int     `json:"images_excluded"`
	Revision       string             `json:"revision"`
	GoVersion      string             `json:"go_version"`
	CreatedAt      string             `json:"created_at"`
	ElapsedS       float64            `json:"elapsed_s"`
}

// runBaselines compares the softmax cascade, the one-knob premodels and
// random routing, calibrated on one store and tested on another.
func runBaselines(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("baselines", stderr)
	var (
		trainPath = fs.String("train", "", "store to calibrate and train on (profiled; featured and embedded for premodels)")
		testPath  = fs.String("test", "", "store to test on, profiled (and featured, embedded) separately")
		costsPath = fs.String("costs", "", "store whose costs table gives each model's latency (default -train; costs are the device's, not the images')")
		criterion = fs.String("criterion", "top1", "correctness criterion: top1 or top5")
		models    = fs.String("models", "", "comma-separated candidate models (default: Algorithm 1 on the training store)")
		theta     = fs.Float64("theta", 0.5, "Algorithm 1's threshold in percentage points, when -models is not given")
		frontier  = fs.Bool("frontier", true, "drop candidates another candidate beats on both training accuracy and cost")
		budgets   = fs.String("budget-ms", "", "comma-separated mean-latency budgets (default: the cost of the most accurate candidate on the training set)")
		targets   = fs.String("target-acc", "", "comma-separated target accuracies, percent (default: that candidate's training accuracy)")
		rules     = fs.String("rules", "shared,greedy", "softmax-cascade calibration rules: shared, greedy")
		premodels = fs.String("premodels", "knn@features", "comma-separated LEARNER@SOURCE premodels; sources: features, embedding")
		k         = fs.Int("k", 5, "K of kNN premodels (the paper's 5)")
		feats     = fs.String("features", paperFeatures, "image features of the features source (default: the paper's Table 4)")
		maxSide   = fs.Int("max-side", 0, fmt.Sprintf("working-image side of the stored features (0 = %d)", features.DefaultMaxSide))
		embModel  = fs.String("embedding-model", "mobilenet_v1_0.25_128", "backbone of the embedding source (modelpick embed)")
		overheads = fs.String("overhead", "", "SOURCE=MS,... premodel overhead per image (default: the latest modelpick embed run's timings in -test or -train)")
		rawOver   = fs.Bool("raw-overhead", false, "take the embed run's timings as they are, not in units of the backbone's profiled cost")
		folds     = fs.Int("folds", 10, "folds of the out-of-fold scores the knob is calibrated on")
		seed      = fs.Int64("seed", 1, "seed of folds, learners and random routing")
		timeDec   = fs.Bool("time-decisions", true, "add the measured premodel decision time to its overhead")
		out       = fs.String("out", "", "output folder for report.json, report.md, curves.csv, methods.csv, manifest.json")
	)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "train", "test", "out"); err != nil {
		return err
	}
	if *criterion != "top1" && *criterion != "top5" {
		return fmt.Errorf("%w: baselines: -criterion %q, want top1 or top5", errUsage, *criterion)
	}
	if *folds < 2 || *k < 1 {
		return fmt.Errorf("%w: baselines: -folds must be at least 2 and -k at least 1", errUsage)
	}
	var ruleList []baselines.Rule
	for _, r := range splitList(*rules) {
		if r != string(baselines.RuleShared) && r != string(baselines.RuleGreedy) {
			return fmt.Errorf("%w: baselines: -rules: %q, want shared or greedy", errUsage, r)
		}
		ruleList = append(ruleList, baselines.Rule(r))
	}
	var specs []baselines.PremodelSpec
	usesSource := map[string]bool{}
	for _, pm := range splitList(*premodels) {
		l, src, ok := strings.Cut(pm, "@")
		if !ok || (src != "features" && src != "embedding") {
			return fmt.Errorf("%w: baselines: -premodels: %q, want LEARNER@features or LEARNER@embedding", errUsage, pm)
		}
		p := learners.Params{K: *k}
		if _, err := learners.New(l, p); err != nil {
			return fmt.Errorf("%w: baselines: -premodels: %v", errUsage, err)
		}
		specs = append(specs, baselines.PremodelSpec{Learner: l, Source: src, Params: p})
		usesSource[src] = true
	}
	budgetList, err := floats(*budgets)
	if err != nil {
		return fmt.Errorf("%w: baselines: -budget-ms: %v", errUsage, err)
	}
	targetList, err := floats(*targets)
	if err != nil {
		return fmt.Errorf("%w: baselines: -target-acc: %v", errUsage, err)
	}
	overheadFlag, err := keyFloats(*overheads)
	if err != nil {
		return fmt.Errorf("%w: baselines: -overhead: %v", errUsage, err)
	}

	start := time.Now()
	for _, p := range []string{*trainPath, *testPath, *costsPath} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("baselines: store %w", err)
		}
	}
	open := func(p string) (*store.Store, error) { return store.Open(p) }
	trainSt, err := open(*trainPath)
	if err != nil {
		return err
	}
	defer trainSt.Close()
	testSt, err := open(*testPath)
	if err != nil {
		return err
	}
	defer testSt.Close()
	costSt := trainSt
	if *costsPath != "" {
		if costSt, err = open(*costsPath); err != nil {
			return err
		}
		defer costSt.Close()
	}
	costs, costNote, err := baselines.CostsOf(ctx, costSt)
	if err != nil {
		return err
	}
	train, err := baselines.LoadProfile(ctx, trainSt, baselines.LoadOptions{Criterion: *criterion, Costs: costs})
	if err != nil {
		return err
	}
	test, err := baselines.LoadProfile(ctx, testSt, baselines.LoadOptions{Criterion: *criterion, Costs: costs})
	if err != nil {
		return err
	}

	man := baselinesManifest{Command: "modelpick baselines " + strings.Join(args, " "), Train: trainSt.Path(), Test: testSt.Path(),
		Costs: costNote, Criterion: *criterion, Folds: *folds, Seed: *seed, Overheads: map[string]float64{},
		OverheadFrom: map[string]string{}, Excluded: map[string]int{}, Revision: revision(), GoVersion: runtime.Version()}

	// The sources, joined to the images; images lacking one are left out.
	sources := map[string]baselines.Source{}
	keepTrain, keepTest := allTrue(len(train.Images)), allTrue(len(test.Images))
	type rows struct{ train, test [][]float64 }
	loaded := map[string]rows{}
	if usesSource["features"] {
		names := splitList(*feats)
		ex, err := features.NewExtractor(names, features.Options{MaxSide: *maxSide})
		if err != nil {
			return fmt.Errorf("%w: baselines: -features: %v", errUsage, err)
		}
		man.Features, man.FeaturesKey = ex.Names(), ex.ConfigKey()
		r, err := joinSource(ctx, trainSt, testSt, train, test, ex.ConfigKey(), ex.Names(), keepTrain, keepTest,
			"modelpick features -data DIR -store STORE")
		if err != nil {
			return err
		}
		loaded["features"] = rows(r)
	}
	if usesSource["embedding"] {
		key, dims, err := embeddingKey(ctx, trainSt, *embModel)
		if err != nil {
			return err
		}
		man.EmbeddingKey = key
		r, err := joinSource(ctx, trainSt, testSt, train, test, key, embedding.Names(dims), keepTrain, keepTest,
			"modelpick embed -models SPEC -model "+*embModel+" -data DIR -store STORE")
		if err != nil {
			return err
		}
		loaded["embedding"] = rows(r)
	}
	man.Excluded["train: lacking a premodel input"] = countFalse(keepTrain)
	man.Excluded["test: lacking a premodel input"] = countFalse(keepTest)
	train, test = train.Keep(keepTrain), test.Keep(keepTest)
	for name, r := range loaded {
		src := baselines.Source{Train: pick(r.train, keepTrain), Test: pick(r.test, keepTest)}
		if name == "embedding" {
			src.Reuses = *embModel
		}
		if v, ok := overheadFlag[name]; ok {
			src.OverheadMS, man.OverheadFrom[name] = v, "-overhead flag"
		} else {
			backbone := -1.0
			if !*rawOver {
				if j, err := train.ModelIndex(*embModel); err == nil {
					backbone = train.Cost[j]
				}
			}
			v, from, err := measuredOverhead(ctx, name, backbone, testSt, trainSt)
			if err != nil {
				return err
			}
			src.OverheadMS, man.OverheadFrom[name] = v, from
		}
		man.Overheads[name] = src.OverheadMS
		sources[name] = src
	}

	// Candidates: given, or Algorithm 1 on the training profile.
	cands := splitList(*models)
	man.CandidatesFrom = "-models flag"
	if len(cands) == 0 {
		tr, err := selection.SelectModels(train.Hit, train.Cost, *theta)
		if err != nil {
			return fmt.Errorf("baselines: %w", err)
		}
		for _, j := range tr.Chosen {
			cands = append(cands, train.Models[j])
		}
		man.CandidatesFrom = fmt.Sprintf("Algorithm 1 on the training store, theta %g pp", *theta)
	}
	if *frontier {
		var idx []int
		for _, name := range cands {
			j, err := train.ModelIndex(name)
			if err != nil {
				return fmt.Errorf("%w: baselines: -models: %v", errUsage, err)
			}
			idx = append(idx, j)
		}
		before := len(cands)
		cands = cands[:0]
		for _, j := range train.Frontier(idx) {
			cands = append(cands, train.Models[j])
		}
		man.CandidatesFrom += fmt.Sprintf("; %d of %d on the training cost/accuracy frontier", len(cands), before)
	}
	var objs []baselines.Objective
	for _, b := range budgetList {
		objs = append(objs, baselines.Objective{BudgetMS: b})
	}
	for _, t := range targetList {
		objs = append(objs, baselines.Objective{TargetAcc: t})
	}
	if len(objs) == 0 {
		best := -1
		var bestR baselines.Result
		for _, name := range cands {
			j, err := train.ModelIndex(name)
			if err != nil {
				return fmt.Errorf("%w: baselines: -models: %v", errUsage, err)
			}
			r, err := baselines.Single(train, j)
			if err != nil {
				return err
			}
			if best < 0 || r.Hits > bestR.Hits || (r.Hits == bestR.Hits && train.Cost[j] < train.Cost[best]) {
				best, bestR = j, r
			}
		}
		objs = []baselines.Objective{{BudgetMS: train.Cost[best]}}
		if bestR.Accuracy > 0 { // a target of 0% is no target
			objs = append(objs, baselines.Objective{TargetAcc: bestR.Accuracy})
		}
	}
	for _, o := range objs {
		man.Objectives = append(man.Objectives, o.String())
	}
	for _, s := range specs {
		man.Premodels = append(man.Premodels, s.String())
	}
	fmt.Fprintf(stderr, "baselines: %d training, %d test images; candidates %s ...\n", len(train.Images), len(test.Images), strings.Join(cands, ", "))
	rep, err := baselines.Compare(baselines.Options{Train: train, Test: test, Candidates: cands, Objectives: objs,
		Rules: ruleList, Sources: sources, Premodels: specs, Folds: *folds, Seed: *seed, TimeDecisions: *timeDec})
	if err != nil {
		return err
	}
	man.Candidates = rep.Candidates
	man.CreatedAt = time.Now().UTC().Format(time.RFC3339)
	man.ElapsedS = time.Since(start).Seconds()
	if err := baselines.WriteRecords(*out, rep, man); err != nil {
		return err
	}
	fmt.Fprint(stdout, rep.Markdown())
	fmt.Fprintf(stdout, "\nrecords written to %s\n", *out)
	return nil
}

// joinSource reads a source's rows for both profiles and clears keep for
// images that lack them; it fails, naming the command to run, when a store
// has none at all.
func joinSource(ctx context.Context, trainSt, testSt *store.Store, train, test baselines.Profile, key string, names []string,
	keepTrain, keepTest []bool, fix string) (struct{ train, test [][]float64 }, error) {
	var out struct{ train, test [][]float64 }
	for _, side := range []struct {
		st   *store.Store
		p    baselines.Profile
		keep []bool
		dst  *[][]float64
	}{{trainSt, train, keepTrain, &out.train}, {testSt, test, keepTest, &out.test}} {
		x, ok, err := baselines.Features(ctx, side.st, side.p, key, names)
		if err != nil {
			return out, err
		}
		if countFalse(ok) == len(ok) {
			return out, fmt.Errorf("baselines: store %s has no image with %d values under %s: run `%s`",
				side.st.Path(), len(names), key, fix)
		}
		for i := range ok {
			side.keep[i] = side.keep[i] && ok[i]
		}
		*side.dst = x
	}
	return out, nil
}

// embeddingKey returns the configuration key and dimension of a
// backbone's stored embedding, from the model's registered files hash.
func embeddingKey(ctx context.Context, st *store.Store, model string) (string, int, error) {
	ms, err := st.Models(ctx)
	if err != nil {
		return "", 0, err
	}
	for _, m := range ms {
		if m.Name != model {
			continue
		}
		key := embedding.ConfigKey(model, m.FilesSHA256)
		rows, err := st.Features(ctx, key)
		if err != nil {
			return "", 0, err
		}
		dims := map[string]bool{}
		for _, r := range rows {
			dims[r.Name] = true
		}
		if len(dims) == 0 {
			return "", 0, fmt.Errorf("baselines: store %s has no embedding by %s (key %s): run `modelpick embed -models SPEC -model %s -data DIR -store %s`",
				st.Path(), model, key, model, st.Path())
		}
		return key, len(dims), nil
	}
	return "", 0, fmt.Errorf("baselines: store %s has no model %s: -embedding-model names a profiled model", st.Path(), model)
}

// measuredOverhead returns a source's overhead from the latest finished
// embed run that measured it, in the first store that has one. With
// backboneMS > 0 the time is rescaled by backboneMS / the backbone's run
// time in the same loop: the embed run times the premodel's work
// interleaved with the backbone's own run, so the ratio survives a machine
// busier (or quieter) than when the profile measured the model costs,
// which the overhead is added to.
func measuredOverhead(ctx context.Context, source string, backboneMS float64, stores ...*store.Store) (float64, string, error) {
	for _, st := range stores {
		runs, err := st.Runs(ctx)
		if err != nil {
			return 0, "", err
		}
		for i := len(runs) - 1; i >= 0; i-- {
			r := runs[i]
			if r.Command != "embedding" || r.Finished.IsZero() {
				continue
			}
			var s embedding.Summary
			if json.Unmarshal([]byte(r.ManifestJSON), &s) != nil || s.Computed == 0 {
				continue
			}
			v := s.EmbedMS
			if source == "features" {
				v = s.FeaturesMS
			}
			if v <= 0 {
				continue
			}
			from := fmt.Sprintf("%s run %d (%s, %d images): %.4g ms", st.Path(), r.ID, s.Dataset, s.Computed, v)
			if backboneMS > 0 && s.RunMS > 0 {
				from += fmt.Sprintf(" x profiled backbone %.4g ms / its run in the same loop %.4g ms", backboneMS, s.RunMS)
				v *= backboneMS / s.RunMS
			}
			return v, from, nil
		}
	}
	return 0, "", fmt.Errorf("baselines: no measured overhead for source %s: run `modelpick embed ... -time-features %s` on the device, or pass -overhead %s=MS",
		source, paperFeatures, source)
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

func allTrue(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

func countFalse(v []bool) int {
	n := 0
	for _, b := range v {
		if !b {
			n++
		}
	}
	return n
}

func pick(rows [][]float64, keep []bool) [][]float64 {
	var out [][]float64
	for i, k := range keep {
		if k {
			out = append(out, rows[i])
		}
	}
	return out
}
