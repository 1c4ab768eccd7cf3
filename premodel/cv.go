package premodel

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/modelpick/modelpick/method"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/selection"
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
	// FirstN, when set, fixes the candidates to the first FirstN models of
	// Algorithm 1's full order (theta 0) on each training fold, instead of
	// the models Algorithm 1 keeps under Theta.
	FirstN int
	// Backbone, when set, makes this a CNN premodel: the table's features
	// are the backbone's stored embedding, and its overhead is the
	// backbone's cost (Evaluate).
	Backbone *Backbone
	// Image returns a test image's bytes, so feature extraction is timed
	// (nil: not timed).
	Image func(it profileview.Item) ([]byte, error)
	// TrainSize, when set, trains each fold on a seeded random subset of
	// TrainSize of its training rows (all of them when fewer): a learning
	// curve's point. The test rows are the fold's, whatever the size.
	TrainSize int
	// Baselines, when set, adds rival methods on each fold, given the
	// training and test rows, the fold's candidates and the premodel's
	// mean latency on the test rows (so rivals can be matched to it).
	Baselines func(train, test *profileview.View, candidates []string, budgetMS float64, fold int) ([]FoldMethod, error)
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
	// Precision, Recall and F1 of the classification itself, macro
	// averaged over the classes present in the fold (truth or prediction);
	// nil for methods whose per-image answers are not known.
	Precision *float64           `json:"precision_pct"`
	Recall    *float64           `json:"recall_pct"`
	F1        *float64           `json:"f1_pct"`
	Share     map[string]float64 `json:"share_pct"`
	// Runs is the mean number of models run per image (cascades).
	Runs float64 `json:"runs_per_image,omitempty"`
	// Choice is the model (column of the view) each test image of the
	// fold ran, -1 for none; nil when not known per image.
	Choice []int `json:"-"`
}

// Fold is one fold's evaluation.
type Fold struct {
	Fold       int      `json:"fold"`
	Train      int      `json:"train_images"`
	Test       int      `json:"test_images"`
	Candidates []string `json:"candidates"`
	// SelectionAcc is the share of test images whose optimum candidate
	// (or none) the premodel named.
	SelectionAcc float64            `json:"selection_accuracy_pct"`
	Overhead     Overhead           `json:"overhead"`
	Methods      []FoldMethod       `json:"methods"`
	Baselines    []FoldMethod       `json:"baselines,omitempty"`
	Targets      map[string]float64 `json:"test_target_share_pct"`
	// Rows are the test images' rows of the cross-validated table.
	Rows []int `json:"-"`
}

// CrossValidation is a premodel's k-fold cross-validation, fold by fold.
type CrossValidation struct {
	Images       int            `json:"images"`
	Excluded     map[string]int `json:"excluded"`
	Models       []string       `json:"models"`
	CostMS       []float64      `json:"cost_ms"`
	CostThreads  int            `json:"cost_threads"`
	EnergyStatus string         `json:"energy_status"`
	Folds        []Fold         `json:"folds"`
}

// CrossValidate trains the premodel on k-1 folds and evaluates it on the
// k-th (Train, Evaluate), stratified by each image's optimum model; every
// fold also gives every single model and the oracles on the same test
// images, each with its per-image choices and the macro precision, recall
// and F1 computed from them, and the rivals o.Baselines adds.
func CrossValidate(ctx context.Context, t *profileview.Table, o CVOptions) (CrossValidation, error) {
	out := CrossValidation{Images: len(t.X), Excluded: t.Excluded, Models: t.Models, CostMS: t.Cost,
		CostThreads: t.CostFrom.Threads, EnergyStatus: t.EnergyStatus}
	targets, err := t.Targets(nil)
	if err != nil {
		return out, err
	}
	splits, err := Folds(targets, o.Folds, o.Seed, o.TrainSize)
	if err != nil {
		return out, err
	}
	for f, sp := range splits {
		fold, err := crossFold(ctx, t, o, sp.Train, sp.Test, f)
		if err != nil {
			return out, fmt.Errorf("fold %d: %w", f, err)
		}
		out.Folds = append(out.Folds, fold)
	}
	return out, nil
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
	return out, nil
}

// crossFold trains on rows trainIdx and evaluates on rows testIdx.
func crossFold(ctx context.Context, t *profileview.Table, o CVOptions, trainIdx, testIdx []int, f int) (Fold, error) {
	train, test := t.Subset(trainIdx), t.Subset(testIdx)
	po := Options{Learner: o.Learner, Params: learners.Params{K: o.K}, Theta: o.Theta, Seed: o.Seed}
	if o.FirstN > 0 {
		tr, err := selection.SelectModels(train.Correct(), train.Cost, 0)
		if err != nil {
			return Fold{}, err
		}
		for _, j := range tr.Chosen[:min(o.FirstN, len(tr.Chosen))] {
			po.Candidates = append(po.Candidates, train.Models[j])
		}
	}
	p, err := Train(train, po)
	if err != nil {
		return Fold{}, err
	}
	if o.Backbone != nil {
		bb := *o.Backbone
		p.Backbone = &bb
	}
	rep, err := Evaluate(ctx, p, test, EvalOptions{Image: o.Image})
	if err != nil {
		return Fold{}, err
	}
	shares, err := targetShares(test, p.Candidates)
	if err != nil {
		return Fold{}, err
	}
	fold := Fold{Fold: f, Train: len(trainIdx), Test: len(testIdx), Candidates: p.Candidates,
		SelectionAcc: rep.SelectionAccuracy, Overhead: rep.Overhead, Targets: shares, Rows: testIdx}
	for _, m := range rep.Methods {
		if m.Kind == method.Premodel && m.Name != method.PremodelOf(p.LearnerName) {
			continue // the escalation variant: not part of the paper's comparison
		}
		fm := FoldMethod{Name: m.Name, Kind: m.Kind, Top1: m.Top1, Top5: m.Top5, MeanMS: m.MeanMS, P95MS: m.P95MS,
			ModelMS: m.ModelMS, OverheadMS: m.OverheadMS, Share: m.Share, Choice: m.Choice}
		pr, rc, f1 := MacroPRF(test.View, m.Choice)
		fm.Precision, fm.Recall, fm.F1 = &pr, &rc, &f1
		fold.Methods = append(fold.Methods, fm)
	}
	if o.Baselines != nil {
		if fold.Baselines, err = o.Baselines(train.View, test.View, p.Candidates, fold.Methods[0].MeanMS, f); err != nil {
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

// MacroPRF is the macro precision, recall and F1 (percent) of the top-1
// classes that the chosen models (choice[i], a column of v, -1 for none)
// predict, over the classes in the images' truth or predictions; an image
// with no prediction counts against recall only.
func MacroPRF(v *profileview.View, choice []int) (precision, recall, f1 float64) {
	tp, fp, fn := map[int]int{}, map[int]int{}, map[int]int{}
	classes := map[int]bool{}
	for i, it := range v.Items {
		classes[it.Label] = true
		c := -1
		if choice[i] >= 0 {
			c = v.Pred[i][choice[i]]
		}
		switch {
		case c == it.Label:
			tp[c]++
		case c < 0:
			fn[it.Label]++
		default:
			classes[c] = true
			fp[c]++
			fn[it.Label]++
		}
	}
	// Sum in class order: map order would change the last bits (verify
	// caught it).
	order := make([]int, 0, len(classes))
	for c := range classes {
		order = append(order, c)
	}
	slices.Sort(order)
	var p, r, f float64
	for _, c := range order {
		var pc, rc float64
		if tp[c]+fp[c] > 0 {
			pc = float64(tp[c]) / float64(tp[c]+fp[c])
		}
		if tp[c]+fn[c] > 0 {
			rc = float64(tp[c]) / float64(tp[c]+fn[c])
		}
		p, r = p+pc, r+rc
		if pc+rc > 0 {
			f += 2 * pc * rc / (pc + rc)
		}
	}
	n := float64(len(classes))
	return 100 * p / n, 100 * r / n, 100 * f / n
}
