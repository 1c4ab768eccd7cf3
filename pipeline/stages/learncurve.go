package stages

import (
	"context"

	"github.com/modelpick/modelpick/featsel"
	"github.com/modelpick/modelpick/learncurve"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/store"
)

// PremodelCurveIn is one configuration of the premodel's repeated
// cross-validation (learncurve.Run) on the store's profile of Datasets
// (pooled) joined with the features Names.
type PremodelCurveIn struct {
	Store      pipeline.File `json:"store"`
	Datasets   []string      `json:"datasets"`
	Criterion  Criterion     `json:"criterion"`
	Names      []string      `json:"names"`
	ConfigKey  string        `json:"config_key"`
	Learner    string        `json:"learner"`
	K          int           `json:"k"`
	Theta      float64       `json:"theta_pp"`
	Folds      int           `json:"folds"`
	Seeds      []int64       `json:"seeds"`
	TrainSize  int           `json:"train_size"`
	Shuffle    bool          `json:"shuffle"`
	NoFeatures bool          `json:"no_features"`
}

// PremodelCurveOut is the configuration's outcome, image by image.
type PremodelCurveOut = learncurve.Outcome

// PremodelCurve cross-validates one premodel configuration once per seed
// (a learning curve's point, or a feature-information baseline).
func PremodelCurve() pipeline.Stage[PremodelCurveIn, PremodelCurveOut] {
	return pipeline.Stage[PremodelCurveIn, PremodelCurveOut]{
		Name: "premodel-curve", Version: "1", Code: []string{goVersion()},
		Run: func(ctx context.Context, w *pipeline.Work, in PremodelCurveIn) (PremodelCurveOut, error) {
			st, err := store.Open(in.Store.Path)
			if err != nil {
				return PremodelCurveOut{}, err
			}
			defer st.Close()
			t, err := profileview.LoadTable(ctx, st, profileview.Options{Criterion: profileview.Criterion(in.Criterion),
				Datasets: in.Datasets}, in.ConfigKey, in.Names)
			if err != nil {
				return PremodelCurveOut{}, err
			}
			return learncurve.Run(ctx, t, learncurve.Options{Learner: in.Learner, K: in.K, Theta: in.Theta, Folds: in.Folds,
				Seeds: in.Seeds, TrainSize: in.TrainSize, Shuffle: in.Shuffle, NoFeatures: in.NoFeatures})
		},
	}
}

// FeatureInfoIn asks what each feature says about the optimum model of
// each image of Datasets (pooled): featsel.Information.
type FeatureInfoIn struct {
	Store        pipeline.File `json:"store"`
	Datasets     []string      `json:"datasets"`
	Criterion    Criterion     `json:"criterion"`
	Names        []string      `json:"names"`
	ConfigKey    string        `json:"config_key"`
	Bins         int           `json:"bins"`
	Permutations int           `json:"permutations"`
	Seed         int64         `json:"seed"`
}

// FeatureInfoOut is every feature's information, the target's entropy,
// and how the targets were made.
type FeatureInfoOut struct {
	Info         []featsel.Info   `json:"info"`
	EntropyBits  float64          `json:"target_entropy_bits"`
	Load         featsel.LoadInfo `json:"load"`
	Images       int              `json:"images"`
	Permutations int              `json:"permutations"`
}

// FeatureInfo measures each feature's mutual information with the
// target against a permutation baseline.
func FeatureInfo() pipeline.Stage[FeatureInfoIn, FeatureInfoOut] {
	return pipeline.Stage[FeatureInfoIn, FeatureInfoOut]{
		Name: "feature-info", Version: "1", Code: []string{goVersion()},
		Run: func(ctx context.Context, w *pipeline.Work, in FeatureInfoIn) (FeatureInfoOut, error) {
			st, err := store.Open(in.Store.Path)
			if err != nil {
				return FeatureInfoOut{}, err
			}
			defer st.Close()
			p, err := profileview.LoadTable(ctx, st, profileview.Options{Criterion: profileview.Criterion(in.Criterion),
				Datasets: in.Datasets, MMACs: true}, in.ConfigKey, in.Names)
			if err != nil {
				return FeatureInfoOut{}, err
			}
			t, load, err := featsel.TableOf(p)
			if err != nil {
				return FeatureInfoOut{}, err
			}
			info, h, err := featsel.Information(t, in.Bins, in.Permutations, in.Seed)
			return FeatureInfoOut{Info: info, EntropyBits: h, Load: load, Images: len(t.X), Permutations: in.Permutations}, err
		},
	}
}
