package premodel

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/modelpick/modelpick/method"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/profileview"
)

// CVOptions configure CrossValidate.
type CVOptions struct {
	// Learner, K, Theta and Seed are the premodel's (Train's) settings;
	// Seed also draws the folds.
	Learner string
	K       int
	Theta   float64
	Seed    int64
	Folds   int
	// Seeds, when set, repeats the cross-validation once per seed (each
	// draws its folds and seeds the learner), instead of once with Seed:
	// repeated k-fold cross-validation, every image tested once per seed.
	Seeds []int64
	// RandomFolds draws the paper's random equal folds ("we partition the
	// 50K validation images into 10 equal sets") instead of folds
	// stratified by each image's optimum model.
	RandomFolds bool
	// FirstN, when set, fixes the candidates to the first FirstN models of
	// Algorithm 1's full order (theta 0) on each training fold, instead of
	// the models Algorithm 1 keeps under Theta; when that order is shorter
	// (the other models add nothing on the fold), the others follow,
	// cheapest first.
	FirstN int
	// Backbone, when set, makes this a CNN premodel: the table's features
	// are the backbone's stored embedding, and its overhead is the
	// backbone's cost (Evaluate).
	Backbone *Backbone
	// Image returns a test image's bytes, so feature extraction is timed
	// (nil: not timed). Each image is timed once, before the folds, and
	// that time serves every seed.
	Image func(it profileview.Item) ([]byte, error)
	// FeatureMS, when set, gives a test image's recorded extraction time
	// (EvalOptions.FeatureMS).
	FeatureMS func(it profileview.Item) (float64, error)
	// TrainSize, when set, trains each fold on a seeded random subset of
	// TrainSize of its training rows (all of them when fewer): a learning
	// curve's point. The test rows are the fold's, whatever the size.
	TrainSize int
	// DecisionMS, when set, gives each fold's recorded decision time
	// (EvalOptions.DecisionMS), in the order of CrossValidation.Folds
	// (seed by seed, fold by fold).
	DecisionMS []float64
	// Baselines, when set, adds rival methods on each fold, given the
	// training and test rows, the fold's candidates, the premodel's mean
	// latency on the test rows (so rivals can be matched to it), and the
	// fold's seed and number.
	Baselines func(train, test *profileview.View, candidates []string, budgetMS float64, seed int64, fold int) ([]FoldMethod, error)
}

// FoldMethod is one method's outcome on one test fold.
type FoldMethod struct {
	Name method.Name `json:"name"`
	Kind method.Kind `json:"kind"` // premodel, single, oracle, baseline
	// Accuracies in percent of the fold's test images.
	Top1 float64 `json:"top1_pct"`
	Top5 float64 `json:"top5_pct"`
	// Latency per image: model(s) plus, for the premodel, its measured
	// features and decision time.
	MeanMS     float64 `json:"mean_ms"`
	P95MS      float64 `json:"p95_ms"`
	ModelMS    float64 `json:"model_mean_ms"`
	OverheadMS float64 `json:"overhead_mean_ms"`
	// Precision and Recall of the classification itself, macro averaged
	// over the classes present in the fold (truth or prediction); F1 is
	// the paper's 2PR/(P+R) of those two, MacroF1 the mean of the classes'
	// own F1 scores; nil for methods whose per-image answers are not
	// known.
	Precision *float64           `json:"precision_pct"`
	Recall    *float64           `json:"recall_pct"`
	F1        *float64           `json:"f1_pct"`
	MacroF1   *float64           `json:"macro_f1_pct"`
	Share     map[string]float64 `json:"share_pct"`
	// Runs is the mean number of models run per image (cascades).
	Runs float64 `json:"runs_per_image,omitempty"`
	// Choice is the model (column of the view) each test image of the
	// fold ran, -1 for none; nil when not known per image. MS is each
	// image's latency when it is not the chosen model's cost plus the
	// premodel's own time (cascades run several models); the other
	// per-image fields are Method's.
	Choice     []int     `json:"-"`
	MS         []float64 `json:"-"`
	FeaturesMS []float64 `json:"-"`
	DecisionMS []float64 `json:"-"`
	Decided    []int     `json:"-"`
	Target     []int     `json:"-"`
}

// Fold is one fold's evaluation.
type Fold struct {
	// Seed drew the folds; Fold is the fold's number under it.
	Seed       int64    `json:"seed"`
	Fold       int      `json:"fold"`
	Train      int      `json:"train_images"`
	Test       int      `json:"test_images"`
	Candidates []string `json:"candidates"`
	// SelectionAcc is the share of test images whose optimum candidate
	// (or none) the premodel named.
	SelectionAcc float64 `json:"selection_accuracy_pct"`
	// TrainMS is the time Train took (Algorithm 1, scaling, the learner's
	// fit, the confidence threshold), and PremodelBytes the trained
	// premodel's size (SizeBytes).
	TrainMS       float64            `json:"train_ms"`
	PremodelBytes int                `json:"premodel_bytes"`
	Overhead      Overhead           `json:"overhead"`
	Methods       []FoldMethod       `json:"methods"`
	Baselines     []FoldMethod       `json:"baselines,omitempty"`
	Targets       map[string]float64 `json:"test_target_share_pct"`
	// Rows are the test images' rows of the cross-validated table.
	Rows []int `json:"-"`
}

// CrossValidation is a premodel's k-fold cross-validation, fold by fold
// (every seed's folds, in seed order), with every method's out-of-fold
// answers image by image (Truth, OutOfFold).
type CrossValidation struct {
	Images       int            `json:"images"`
	Excluded     map[string]int `json:"excluded"`
	Models       []string       `json:"models"`
	CostMS       []float64      `json:"cost_ms"`
	CostLowMS    []float64      `json:"cost_low_ms"`
	CostHighMS   []float64      `json:"cost_high_ms"`
	CostThreads  int            `json:"cost_threads"`
	EnergyStatus string         `json:"energy_status"`
	Seeds        []int64        `json:"seeds"`
	RandomFolds  bool           `json:"random_folds,omitempty"`
	Folds        []Fold         `json:"folds"`
	Truth        Truth          `json:"truth"`
	// OutOfFold holds the premodel's, the single models' and the oracles'
	// answers, OutOfFoldBaselines the rivals' (matched to the premodel's
	// timed latency, so they vary from run to run).
	OutOfFold          []Outcome `json:"out_of_fold"`
	OutOfFoldBaselines []Outcome `json:"out_of_fold_baselines,omitempty"`
}

// CrossValidate trains the premodel on k-1 folds and evaluates it on the
// k-th (Train, Evaluate), stratified by each image's optimum model (or in
// random equal folds), once per seed; every fold also gives every single
// model and the oracles on the same test images, each with its per-image
// choices and the macro precision, recall and F1 computed from them, and
// the rivals o.Baselines adds. The out-of-fold answers of each method
// that answered every fold of a seed are pooled image by image
// (OutOfFold), so intervals can be drawn over the images.
func CrossValidate(ctx context.Context, t *profileview.Table, o CVOptions) (CrossValidation, error) {
	out := CrossValidation{Images: len(t.X), Excluded: t.Excluded, Models: t.Models, CostMS: t.Cost,
		CostLowMS: t.CostLow, CostHighMS: t.CostHigh, CostThreads: t.CostFrom.Threads, EnergyStatus: t.EnergyStatus,
		Seeds: o.Seeds, RandomFolds: o.RandomFolds, Truth: truthOf(t.View)}
	if out.CostLowMS == nil {
		out.CostLowMS, out.CostHighMS = t.Cost, t.Cost
	}
	if len(out.Seeds) == 0 {
		out.Seeds = []int64{o.Seed}
	}
	targets, err := t.Targets(nil)
	if err != nil {
		return out, err
	}
	if o.Image != nil && o.FeatureMS == nil && o.Backbone == nil {
		if o.FeatureMS, err = timeFeatures(ctx, t, o.Image); err != nil {
			return out, err
		}
	}
	for _, seed := range out.Seeds {
		var splits []Split
		if o.RandomFolds {
			splits, err = randomFolds(len(targets), o.Folds, seed, o.TrainSize)
		} else {
			splits, err = Folds(targets, o.Folds, seed, o.TrainSize)
		}
		if err != nil {
			return out, err
		}
		first := len(out.Folds)
		for f, sp := range splits {
			fold, err := crossFold(ctx, t, o, seed, sp.Train, sp.Test, f, foldValue(o.DecisionMS, len(out.Folds)))
			if err != nil {
				return out, fmt.Errorf("seed %d, fold %d: %w", seed, f, err)
			}
			out.Folds = append(out.Folds, fold)
		}
		for _, oc := range pool(seed, len(t.X), out.Folds[first:]) {
			if oc.Kind == method.Baseline {
				out.OutOfFoldBaselines = append(out.OutOfFoldBaselines, oc)
			} else {
				out.OutOfFold = append(out.OutOfFold, oc)
			}
		}
	}
	return out, nil
}

// timeFeatures times the feature extraction of every image of t once (the
// premodel's run-time cost on this machine) and returns the times by item.
func timeFeatures(ctx context.Context, t *profileview.Table, image func(it profileview.Item) ([]byte, error)) (func(profileview.Item) (float64, error), error) {
	ex, err := features.NewExtractor(t.Names, features.Options{})
	if err != nil {
		return nil, fmt.Errorf("time features: %w", err)
	}
	if ex.ConfigKey() != t.ConfigKey {
		return nil, fmt.Errorf("time features: this build computes %s, the table holds %s", ex.ConfigKey(), t.ConfigKey)
	}
	ms := make(map[profileview.Item]float64, len(t.Items))
	for i, it := range t.Items {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("time features: %w", err)
		}
		data, err := image(it)
		if err != nil {
			return nil, fmt.Errorf("time features: image %s/%s: %w", it.Dataset, it.File, err)
		}
		if i == 0 { // warm up OpenCV's lazily built tables
			_, _ = ex.ExtractBytes(data)
		}
		t0 := time.Now()
		if _, err := ex.ExtractBytes(data); err != nil {
			return nil, fmt.Errorf("time features: %s/%s: %w", it.Dataset, it.File, err)
		}
		ms[it] = float64(time.Since(t0)) / float64(time.Millisecond)
	}
	return func(it profileview.Item) (float64, error) {
		v, ok := ms[it]
		if !ok {
			return 0, fmt.Errorf("no extraction time of %s/%s", it.Dataset, it.File)
		}
		return v, nil
	}, nil
}

// Split is one fold's training and test rows (sorted).
type Split struct {
	Train, Test []int
}

// Folds returns CrossValidate's splits of rows with these targets: k
// folds stratified by target (seeded), each fold's training rows
// subsampled, seeded by seed and the fold, to trainSize (0: all).
func Folds(targets []int, k int, seed int64, trainSize int) ([]Split, error) {
	folds, err := datasets.StratifiedKFold(targets, k, seed)
	if err != nil {
		return nil, err
	}
	return subsampled(folds, seed, trainSize), nil
}

// randomFolds are Folds drawn as the paper's random equal folds, not
// stratified by target.
func randomFolds(n, k int, seed int64, trainSize int) ([]Split, error) {
	folds, err := datasets.KFold(n, k, seed)
	if err != nil {
		return nil, err
	}
	return subsampled(folds, seed, trainSize), nil
}

// subsampled are the splits of folds, each fold's training rows
// subsampled, seeded by seed and the fold, to trainSize (0: all).
func subsampled(folds [][]int, seed int64, trainSize int) []Split {
	out := make([]Split, len(folds))
	for f := range folds {
		train := datasets.TrainIndices(folds, f)
		if trainSize > 0 && trainSize < len(train) {
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(f)))
			rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
			train = train[:trainSize]
			slices.Sort(train)
		}
		out[f] = Split{Train: train, Test: folds[f]}
	}
	return out
}

// crossFold trains on rows trainIdx and evaluates on rows testIdx.
func crossFold(ctx context.Context, t *profileview.Table, o CVOptions, seed int64, trainIdx, testIdx []int, f int, decisionMS *float64) (Fold, error) {
	train, test := t.Subset(trainIdx), t.Subset(testIdx)
	po := Options{Learner: o.Learner, Params: learners.Params{K: o.K}, Theta: o.Theta, Seed: seed}
	if o.FirstN > 0 {
		tr, err := train.SelectModels(0)
		if err != nil {
			return Fold{}, err
		}
		for _, j := range tr.Chosen[:min(o.FirstN, len(tr.Chosen))] {
			po.Candidates = append(po.Candidates, train.Models[j])
		}
		// Algorithm 1 stops when no model adds a right answer on the
		// training fold; the rest follow, cheapest first, so that a
		// hierarchy has its levels and "N models" are N.
		rest := make([]int, 0, len(train.Models))
		for j, m := range train.Models {
			if !slices.Contains(po.Candidates, m) {
				rest = append(rest, j)
			}
		}
		slices.SortStableFunc(rest, func(a, b int) int { return cmp.Compare(train.Cost[a], train.Cost[b]) })
		for _, j := range rest[:min(o.FirstN-len(po.Candidates), len(rest))] {
			po.Candidates = append(po.Candidates, train.Models[j])
		}
	}
	t0 := time.Now()
	p, err := Train(train, po)
	if err != nil {
		return Fold{}, err
	}
	trainMS := float64(time.Since(t0)) / float64(time.Millisecond)
	if o.Backbone != nil {
		bb := *o.Backbone
		p.Backbone = &bb
	}
	size, err := p.SizeBytes()
	if err != nil {
		return Fold{}, err
	}
	rep, err := Evaluate(ctx, p, test, EvalOptions{Image: o.Image, FeatureMS: o.FeatureMS, DecisionMS: decisionMS})
	if err != nil {
		return Fold{}, err
	}
	shares, err := targetShares(test, p.Candidates)
	if err != nil {
		return Fold{}, err
	}
	fold := Fold{Seed: seed, Fold: f, Train: len(trainIdx), Test: len(testIdx), Candidates: p.Candidates,
		SelectionAcc: rep.SelectionAccuracy, TrainMS: trainMS, PremodelBytes: size, Overhead: rep.Overhead, Targets: shares, Rows: testIdx}
	for _, m := range rep.Methods {
		if m.Kind == method.Premodel && m.Name != method.PremodelOf(p.LearnerName) {
			continue // the escalation variant: not part of the paper's comparison
		}
		fm := FoldMethod{Name: m.Name, Kind: m.Kind, Top1: m.Top1, Top5: m.Top5, MeanMS: m.MeanMS, P95MS: m.P95MS,
			ModelMS: m.ModelMS, OverheadMS: m.OverheadMS, Share: m.Share, Choice: m.Choice,
			FeaturesMS: m.FeaturesMS, DecisionMS: m.DecisionMS, Decided: m.Decided, Target: m.Target}
		pr, rc, mf1 := MacroPRF(test.View, m.Choice)
		f1 := PaperF1(pr, rc)
		fm.Precision, fm.Recall, fm.F1, fm.MacroF1 = &pr, &rc, &f1, &mf1
		fold.Methods = append(fold.Methods, fm)
	}
	if o.Baselines != nil {
		if fold.Baselines, err = o.Baselines(train.View, test.View, p.Candidates, fold.Methods[0].MeanMS, seed, f); err != nil {
			return Fold{}, err
		}
	}
	return fold, nil
}

// targetShares is the share of test images (percent) whose optimum
// candidate is each candidate, or none.
func targetShares(test *profileview.Table, cands []string) (map[string]float64, error) {
	cols, err := test.Columns(cands)
	if err != nil {
		return nil, err
	}
	y, err := test.Targets(cols)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, t := range y {
		name := "none"
		if t >= 0 {
			name = cands[t]
		}
		out[name] += 100 / float64(len(y))
	}
	return out, nil
}

// PaperF1 is the paper's F1 score, "2 × Recall × Precision / (Recall +
// Precision)" (§4.2), of a precision and a recall (0 when both are).
func PaperF1(precision, recall float64) float64 {
	if precision+recall == 0 {
		return 0
	}
	return 2 * precision * recall / (precision + recall)
}

// MacroPRF is the macro precision, recall and F1 (percent) of the top-1
// classes that the chosen models (choice[i], a column of v, -1 for none)
// predict, over the classes in the images' truth or predictions; an image
// with no prediction counts against recall only. Its F1 is the mean of
// the classes' own F1 scores; the paper's is PaperF1 of the first two.
func MacroPRF(v *profileview.View, choice []int) (precision, recall, f1 float64) {
	pred := func(k int) int {
		if choice[k] < 0 {
			return -1
		}
		return v.Pred[k][choice[k]]
	}
	classes := 0
	for k, it := range v.Items {
		classes = max(classes, it.Label+1, pred(k)+1)
	}
	return newPRFScratch(classes).prf(len(v.Items), func(k int) int { return v.Items[k].Label }, pred)
}

// foldValue is v[f], or nil when v has none.
func foldValue(v []float64, f int) *float64 {
	if f < len(v) {
		return &v[f]
	}
	return nil
}
