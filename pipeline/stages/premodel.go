package stages

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modelpick/modelpick/method"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/store"
)

// PremodelCVIn is the input of the premodel's k-fold cross-validation.
type PremodelCVIn struct {
	Store   pipeline.File `json:"store"`
	Dataset string        `json:"dataset"`
	// Images is the set's folder: the premodel's feature extraction is
	// timed on the test images' files (nil: not timed).
	Images *pipeline.File `json:"images,omitempty"`
	// FeatureMS, when set, is each image's feature-extraction time (by
	// sha256) from the device's cost profile: the overhead is then read,
	// not timed (Images is not needed).
	FeatureMS map[string]float64 `json:"feature_ms,omitempty"`
	// DecisionMS, when set, is each fold's decision time per image from
	// the device's cost profile, instead of timing the decisions.
	DecisionMS []float64 `json:"decision_ms,omitempty"`
	// Session: as CostIn's (make measure times the decisions afresh).
	Session   string    `json:"session,omitempty"`
	Criterion Criterion `json:"criterion"`
	// Names and ConfigKey are the premodel's inputs (the kept features).
	Names     []string `json:"names"`
	ConfigKey string   `json:"config_key"`
	Learner   string   `json:"learner"`
	K         int      `json:"k"`
	Theta     float64  `json:"theta_pp"`
	Folds     int      `json:"folds"`
	Seed      int64    `json:"seed"`
	// Seeds, when set, repeats the cross-validation once per seed
	// (premodel.CVOptions.Seeds); Seed then only names the first.
	Seeds []int64 `json:"seeds,omitempty"`
	// RandomFolds draws the paper's random equal folds instead of folds
	// stratified by target.
	RandomFolds bool `json:"random_folds,omitempty"`
	// FirstN, when set, fixes the candidates to the first FirstN models of
	// Algorithm 1's full order (theta 0) on each training fold, instead of
	// the models Algorithm 1 keeps under Theta (premodel.CVOptions.FirstN).
	FirstN int `json:"first_n,omitempty"`
	// Baselines adds the max-softmax cascade (one shared threshold) and
	// random routing, both at the premodel's mean latency on the fold.
	Baselines bool `json:"baselines"`
	// Platform names the machine the overhead is timed on.
	Platform string `json:"platform"`
	// Backbone, when set, makes this a CNN premodel: Names and ConfigKey
	// are the backbone's stored embedding (the Embedding stage), and its
	// overhead is the backbone's cost from the store's costs table.
	Backbone *premodel.Backbone `json:"backbone,omitempty"`
}

// FoldMethod, PremodelFold and PremodelCVOut are premodel's
// cross-validation records (premodel.CrossValidate).
type (
	FoldMethod    = premodel.FoldMethod
	PremodelFold  = premodel.Fold
	PremodelCVOut = premodel.CrossValidation
)

// premodelCVVersion 2: precision, recall and F1 summed in class order.
// 3: repeated (per seed), out-of-fold answers per image, F1 as the
// paper's 2PR/(P+R) beside the macro F1, extraction timed once per image.
// 4: FirstN completes a short Algorithm 1 order with the cheapest others;
// each image's number of cascade levels.
const premodelCVVersion = "4"

// PremodelCV cross-validates the premodel (premodel.CrossValidate) on the
// store's profile joined with the premodel's features, with the fold
// baselines (baselines.AtLatency) when asked.
func PremodelCV() pipeline.Stage[PremodelCVIn, PremodelCVOut] {
	return pipeline.Stage[PremodelCVIn, PremodelCVOut]{
		Name: "premodel-cv", Version: premodelCVVersion,
		Describe: func(in PremodelCVIn) string {
			return fmt.Sprintf("%s premodel on %s (%s), %d folds x %d seeds", in.Learner, in.Dataset, in.Criterion, in.Folds, max(1, len(in.Seeds)))
		},
		Code: []string{"features " + features.Version, opencvVersion(), goVersion(), profileview.RankRule},
		// The premodel's overhead is timed here, and the baselines are
		// matched to the latency it makes.
		Volatile: []string{"folds[*].overhead", "folds[*].methods[*].mean_ms", "folds[*].methods[*].p95_ms",
			"folds[*].methods[*].overhead_mean_ms", "folds[*].baselines", "folds[*].train_ms",
			"out_of_fold[*].features_ms", "out_of_fold[*].decision_ms", "out_of_fold_baselines"},
		Run: func(ctx context.Context, w *pipeline.Work, in PremodelCVIn) (PremodelCVOut, error) {
			return premodelCV(ctx, in)
		},
	}
}

func premodelCV(ctx context.Context, in PremodelCVIn) (PremodelCVOut, error) {
	st, err := store.Open(in.Store.Path)
	if err != nil {
		return PremodelCVOut{}, err
	}
	defer st.Close()
	t, err := profileview.LoadTable(ctx, st, profileview.Options{Criterion: profileview.Criterion(in.Criterion),
		Datasets: []string{in.Dataset}}, in.ConfigKey, in.Names)
	if err != nil {
		return PremodelCVOut{}, err
	}
	o := premodel.CVOptions{Learner: in.Learner, K: in.K, Theta: in.Theta, Seed: in.Seed, Seeds: in.Seeds, Folds: in.Folds,
		RandomFolds: in.RandomFolds, FirstN: in.FirstN, Backbone: in.Backbone, DecisionMS: in.DecisionMS}
	if in.FeatureMS != nil {
		o.FeatureMS = func(it profileview.Item) (float64, error) {
			ms, ok := in.FeatureMS[it.SHA256]
			if !ok {
				return 0, fmt.Errorf("no recorded extraction time of %s/%s", it.Dataset, it.File)
			}
			return ms, nil
		}
	} else if in.Images != nil {
		o.Image = func(it profileview.Item) ([]byte, error) {
			return os.ReadFile(filepath.Join(in.Images.Path, filepath.FromSlash(it.File)))
		}
	}
	if in.Baselines {
		o.Baselines = func(train, test *profileview.View, cands []string, budgetMS float64, seed int64, fold int) ([]FoldMethod, error) {
			// The first seed's folds draw as they did before seeds were repeated.
			return foldBaselines(train, test, cands, budgetMS, uint64(seed)+uint64(fold)+uint64(1000*(seed-in.Seed)))
		}
	}
	return premodel.CrossValidate(ctx, t, o)
}

// foldBaselines are the rivals at the premodel's latency, as fold methods.
func foldBaselines(train, test *profileview.View, cands []string, budgetMS float64, seed uint64) ([]FoldMethod, error) {
	rivals, err := baselines.AtLatency(train, test, cands, budgetMS, seed)
	if err != nil {
		return nil, err
	}
	var out []FoldMethod
	for _, rv := range rivals {
		r := rv.Result
		out = append(out, FoldMethod{Name: rv.Name, Kind: method.Baseline, Top1: r.Accuracy, MeanMS: r.MeanMS, P95MS: r.P95MS,
			ModelMS: r.MeanMS, Share: r.Share, Runs: r.Runs, Choice: r.Choice, MS: r.MS})
	}
	return out, nil
}

// CurveIn is the input of the cost/accuracy curves.
type CurveIn struct {
	Store     pipeline.File `json:"store"`
	Dataset   string        `json:"dataset"`
	Criterion Criterion     `json:"criterion"`
	Names     []string      `json:"names"`
	ConfigKey string        `json:"config_key"`
	Learner   string        `json:"learner"`
	K         int           `json:"k"`
	Theta     float64       `json:"theta_pp"`
	Folds     int           `json:"folds"`
	Seed      int64         `json:"seed"`
	// Seeds, when set, repeat the out-of-fold scores once per seed.
	Seeds []int64 `json:"seeds,omitempty"`
	// OverheadMS is the premodel's cost per image (feature extraction),
	// measured apart (FeatureTiming).
	OverheadMS float64 `json:"overhead_ms"`
}

// CurvePoint and CurveOut are the budget curve's records
// (baselines.BudgetCurveOf).
type (
	CurvePoint = baselines.BudgetPoint
	CurveOut   = baselines.BudgetCurve
)

// Curve sweeps the budget knob and the shared-threshold softmax cascade
// over Algorithm 1's candidates, with every single model and the oracle as
// points (baselines.BudgetCurveOf), on the store's profile joined with the
// premodel's features.
func Curve() pipeline.Stage[CurveIn, CurveOut] {
	return pipeline.Stage[CurveIn, CurveOut]{
		// 2: repeated over seeds; per-image hits of the knob and the single models.
		Name: "budget-curve", Version: "2", Code: []string{goVersion(), profileview.RankRule},
		Run: func(ctx context.Context, w *pipeline.Work, in CurveIn) (CurveOut, error) {
			st, err := store.Open(in.Store.Path)
			if err != nil {
				return CurveOut{}, err
			}
			defer st.Close()
			t, err := profileview.LoadTable(ctx, st, profileview.Options{Criterion: profileview.Criterion(in.Criterion),
				Datasets: []string{in.Dataset}}, in.ConfigKey, in.Names)
			if err != nil {
				return CurveOut{}, err
			}
			return baselines.BudgetCurveOf(t, baselines.CurveOptions{Learner: in.Learner, K: in.K, Theta: in.Theta,
				Folds: in.Folds, Seed: in.Seed, Seeds: in.Seeds, OverheadMS: in.OverheadMS})
		},
	}
}
