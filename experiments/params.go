package experiments

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/featsel"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/profileview"
)

// Params are a kind's own settings, decoded from the spec's fields beside
// name, artifact, title, kind and notes. A field tagged spec:"required"
// must be present; any other field of the spec is refused for the kind.
type Params interface {
	// validate checks the values (the fields present are known to be the
	// kind's, and typed).
	validate(c checker) error
}

// checker validates a spec's values, each error at its field's line.
type checker struct{ s *Spec }

func (c checker) errAt(field, format string, args ...any) error {
	return c.s.errAt(field, format, args...)
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (c checker) criterion(field string, v profileview.Criterion) error {
	if _, err := profileview.ParseCriterion(string(v)); err != nil {
		return c.errAt(field, "%q, want top1 or top5", v)
	}
	return nil
}

func (c checker) learner(field, name string, k int) error {
	if _, err := learners.New(name, learners.Params{K: max(k, 1)}); err != nil {
		return c.errAt(field, "%v", err)
	}
	return nil
}

// each checks a non-empty list's items, naming each by its index.
func each[T any](c checker, field string, items []T, check func(field string, item T) error) error {
	if len(items) == 0 {
		return c.errAt(field, "empty list")
	}
	for i, it := range items {
		if err := check(fmt.Sprintf("%s[%d]", field, i), it); err != nil {
			return err
		}
	}
	return nil
}

func (c checker) timingImages(n int) error {
	if n < 0 {
		return c.errAt("timing_images", "%d, want >= 0", n)
	}
	return nil
}

func (c checker) theta(v float64) error {
	if v < 0 {
		return c.errAt("theta", "%v, want >= 0 (percentage points)", v)
	}
	return nil
}

func (c checker) latency(path string) error {
	if path == "" {
		return nil
	}
	if _, err := ReadLatency(c.s.Resolve(path)); err != nil {
		return c.errAt("latency", "%v", err)
	}
	return nil
}

// Chain are the inputs of the profile chain: image sets, the model spec
// file, and published latencies to use instead of a cost profile.
type Chain struct {
	Images []ImageSet `yaml:"images" spec:"required"`
	Models string     `yaml:"models" spec:"required"`
	// Latency is a file of published per-model latencies (LatencyFile).
	Latency string `yaml:"latency"`
}

func (p *Chain) validate(c checker) error {
	if len(p.Images) == 0 {
		return c.errAt("images", "empty list")
	}
	for i, im := range p.Images {
		f := fmt.Sprintf("images[%d]", i)
		if im.Dir == "" {
			return c.errAt(f, "dir: required")
		}
		if st, err := os.Stat(c.s.Resolve(im.Dir)); err != nil || !st.IsDir() {
			return c.errAt(f+".dir", "image folder %s does not exist (set %s to the shared assets)", c.s.Resolve(im.Dir), settings.EnvAssets)
		}
		if im.GroundTruth != "" {
			if _, err := os.Stat(c.s.Resolve(im.GroundTruth)); err != nil {
				return c.errAt(f+".ground_truth", "%v", err)
			}
		}
		if im.Limit < 0 {
			return c.errAt(f+".limit", "%d, want >= 0", im.Limit)
		}
	}
	if _, err := os.Stat(c.s.Resolve(p.Models)); err != nil {
		return c.errAt("models", "model spec %s does not exist", c.s.Resolve(p.Models))
	}
	return c.latency(p.Latency)
}

// NoParams is the parameters of a kind that reads none.
type NoParams struct{}

func (*NoParams) validate(checker) error { return nil }

// MotivationParams are the motivation study's (Table 1, Fig 1d): its
// models, in the spec's model file.
type MotivationParams struct {
	Chain `yaml:",inline"`
	Only  []string `yaml:"only" spec:"required"`
}

func (p *MotivationParams) validate(c checker) error { return p.Chain.validate(c) }

// SelectionParams are Algorithm 1's (Figs 5, 6).
type SelectionParams struct {
	Chain     `yaml:",inline"`
	Criterion profileview.Criterion `yaml:"criterion" spec:"required"`
	Theta     float64               `yaml:"theta" spec:"required"`
	// Only restricts the profile to these models (all when empty).
	Only []string `yaml:"only"`
}

func (p *SelectionParams) validate(c checker) error {
	return firstErr(c.criterion("criterion", p.Criterion), c.theta(p.Theta), p.Chain.validate(c))
}

// SelectionSettings are feature selection's settings (§4.3): the k-fold
// cross-validation and the correlation and elimination thresholds.
type SelectionSettings struct {
	Chain     `yaml:",inline"`
	K         int     `yaml:"k" spec:"required"`
	Folds     int     `yaml:"folds" spec:"required"`
	Seed      int64   `yaml:"seed" spec:"required"`
	Threshold float64 `yaml:"threshold" spec:"required"`
	Tolerance float64 `yaml:"tolerance" spec:"required"`
	// Resamples is how many bootstrap resamples of the images elimination
	// is repeated on (default featsel.DefaultResamples), KeepShare the
	// share of them that must keep a feature for Table 4 (default
	// featsel.DefaultKeepShare).
	Resamples int     `yaml:"resamples"`
	KeepShare float64 `yaml:"keep_share"`
}

// resamples is the spec's, or featsel's default.
func (p *SelectionSettings) resamples() int {
	if p.Resamples > 0 {
		return p.Resamples
	}
	return featsel.DefaultResamples
}

// keepShare is the spec's, or featsel's default.
func (p *SelectionSettings) keepShare() float64 {
	if p.KeepShare > 0 {
		return p.KeepShare
	}
	return featsel.DefaultKeepShare
}

func (p *SelectionSettings) validate(c checker) error {
	switch {
	case p.Resamples < 0:
		return c.errAt("resamples", "%d, want >= 1 (or leave it out: %d)", p.Resamples, featsel.DefaultResamples)
	case p.KeepShare < 0 || p.KeepShare > 1:
		return c.errAt("keep_share", "%v, want (0, 1] (or leave it out: %v)", p.KeepShare, featsel.DefaultKeepShare)
	case p.Folds < 2:
		return c.errAt("folds", "%d, want at least 2", p.Folds)
	case p.K < 1:
		return c.errAt("k", "%d, want at least 1", p.K)
	case !(p.Threshold > 0 && p.Threshold <= 1):
		return c.errAt("threshold", "%v, want (0, 1]", p.Threshold)
	case p.Tolerance < 0:
		return c.errAt("tolerance", "%v, want >= 0", p.Tolerance)
	}
	return p.Chain.validate(c)
}

// FeatselParams are feature selection's (Tables 3, 4, Figs 7, 12, 13),
// with the learner cross-validated inside it.
type FeatselParams struct {
	SelectionSettings `yaml:",inline"`
	Learner           string `yaml:"learner" spec:"required"`
}

func (p *FeatselParams) validate(c checker) error {
	return firstErr(p.SelectionSettings.validate(c), c.learner("learner", p.Learner, p.K))
}

// SelectFeaturesParams select under one criterion (Tables 3, 4).
type SelectFeaturesParams struct {
	FeatselParams `yaml:",inline"`
	Criterion     profileview.Criterion `yaml:"criterion" spec:"required"`
}

func (p *SelectFeaturesParams) validate(c checker) error {
	return firstErr(c.criterion("criterion", p.Criterion), p.FeatselParams.validate(c))
}

// ImportanceParams select under each criterion (Figs 7, 12).
type ImportanceParams struct {
	FeatselParams `yaml:",inline"`
	Criteria      []profileview.Criterion `yaml:"criteria" spec:"required"`
	// Filtered shows every feature the correlation filter left (Fig 12)
	// instead of Table 4's set (Fig 7).
	Filtered bool `yaml:"filtered"`
}

func (p *ImportanceParams) validate(c checker) error {
	return firstErr(each(c, "criteria", p.Criteria, c.criterion), p.FeatselParams.validate(c))
}

// SweepParams add the images extraction is timed on (Fig 13).
type SweepParams struct {
	SelectFeaturesParams `yaml:",inline"`
	Timing               int `yaml:"timing_images" spec:"required"`
}

func (p *SweepParams) validate(c checker) error {
	return firstErr(c.timingImages(p.Timing), p.SelectFeaturesParams.validate(c))
}

// PaperScaleParams are Algorithm 1's on imported per-image results, with
// published latencies.
type PaperScaleParams struct {
	Import    *ImportSpec           `yaml:"import" spec:"required"`
	Criterion profileview.Criterion `yaml:"criterion" spec:"required"`
	Theta     float64               `yaml:"theta" spec:"required"`
	Latency   string                `yaml:"latency" spec:"required"`
}

func (p *PaperScaleParams) validate(c checker) error {
	if err := firstErr(c.criterion("criterion", p.Criterion), c.theta(p.Theta)); err != nil {
		return err
	}
	im := p.Import
	switch st, err := os.Stat(c.s.Resolve(im.Dir)); {
	case im.Format != "topk":
		return c.errAt("import.format", "%q, want topk", im.Format)
	case err != nil || !st.IsDir():
		return c.errAt("import.dir", "folder %s does not exist", c.s.Resolve(im.Dir))
	case im.Dataset == "":
		return c.errAt("import.dataset", "required: the data set's name in the store")
	}
	if im.GroundTruth != "" {
		if _, err := os.Stat(c.s.Resolve(im.GroundTruth)); err != nil {
			return c.errAt("import.ground_truth", "%v", err)
		}
	}
	return c.latency(p.Latency)
}

// PremodelParams are the cross-validated premodel's (Figs 8-11): the
// chain, feature selection on each image set (the premodel reads the kept
// features, selected with the paper's kNN) and the premodel.
type PremodelParams struct {
	SelectionSettings `yaml:",inline"`
	Criterion         profileview.Criterion `yaml:"criterion" spec:"required"`
	Theta             float64               `yaml:"theta" spec:"required"`
	// Seeds repeat the premodel's k-fold cross-validation, once per seed
	// (each draws its folds): required by every kind that cross-validates
	// (requireSeeds). Bootstrap is how many resamples of the images each
	// interval draws (seeded by seed).
	Seeds     []int64 `yaml:"seeds"`
	Bootstrap int     `yaml:"bootstrap" spec:"required"`
}

// requireSeeds refuses a cross-validating kind's spec without seeds.
func (p *PremodelParams) requireSeeds(c checker) error {
	if len(p.Seeds) == 0 {
		return c.errAt("seeds", "required by kind %s: the premodel's cross-validation seeds (5 or more for an interval another seed lands in)", c.s.Kind)
	}
	return nil
}

func (p *PremodelParams) validate(c checker) error {
	if p.Bootstrap < 100 {
		return c.errAt("bootstrap", "%d, want at least 100 resamples for a percentile interval", p.Bootstrap)
	}
	seen := map[int64]bool{}
	for i, x := range p.Seeds {
		if seen[x] {
			return c.errAt(fmt.Sprintf("seeds[%d]", i), "%d repeats an earlier seed", x)
		}
		seen[x] = true
	}
	return firstErr(c.criterion("criterion", p.Criterion), p.SelectionSettings.validate(c), c.theta(p.Theta))
}

// OneLearnerParams cross-validate one premodel (Figs 8, 11, the CNN
// premodel).
type OneLearnerParams struct {
	PremodelParams `yaml:",inline"`
	Learner        string `yaml:"learner" spec:"required"`
}

func (p *OneLearnerParams) validate(c checker) error {
	return firstErr(p.requireSeeds(c), p.validateOne(c))
}

// validateOne checks the settings without requiring seeds (a kind that
// does not cross-validate).
func (p *OneLearnerParams) validateOne(c checker) error {
	return firstErr(p.PremodelParams.validate(c), c.learner("learner", p.Learner, p.K))
}

// ModelCountParams cross-validate one premodel per number of models, 1
// to MaxModels (Fig 11: the paper's goes "up to 5").
type ModelCountParams struct {
	OneLearnerParams `yaml:",inline"`
	MaxModels        int `yaml:"max_models" spec:"required"`
}

func (p *ModelCountParams) validate(c checker) error {
	if p.MaxModels < 1 {
		return c.errAt("max_models", "%d, want at least 1", p.MaxModels)
	}
	return p.OneLearnerParams.validate(c)
}

// LearnersParams cross-validate one premodel per learner (Figs 9, 10).
type LearnersParams struct {
	PremodelParams `yaml:",inline"`
	Learners       []string `yaml:"learners" spec:"required"`
}

func (p *LearnersParams) validate(c checker) error {
	learner := func(field, l string) error { return c.learner(field, l, p.K) }
	return firstErr(each(c, "learners", p.Learners, learner), p.requireSeeds(c), p.PremodelParams.validate(c))
}

// CurveParams add the images the premodel's extraction is timed on (the
// budget curve).
type CurveParams struct {
	OneLearnerParams `yaml:",inline"`
	Timing           int `yaml:"timing_images" spec:"required"`
}

func (p *CurveParams) validate(c checker) error {
	return firstErr(p.requireSeeds(c), p.validateCurve(c))
}

// validateCurve checks the settings without requiring seeds (the
// frontier trains on one image set and tests on the other).
func (p *CurveParams) validateCurve(c checker) error {
	return firstErr(c.timingImages(p.Timing), p.OneLearnerParams.validateOne(c))
}

// paramFields lists the YAML fields of a params struct (inline structs
// included) and which of them are required.
func paramFields(p Params) (fields, required []string) {
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			if strings.Contains(tag, ",inline") {
				walk(f.Type)
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "" || name == "-" {
				continue
			}
			fields = append(fields, name)
			if f.Tag.Get("spec") == "required" {
				required = append(required, name)
			}
		}
	}
	walk(reflect.TypeOf(p).Elem())
	return fields, required
}

// RepeatedCVParams cross-validate the premodel once per seed on the
// spec's image sets pooled (the learning curve, feature information); the
// premodel reads Table 4's features selected on the first image set with
// the selection settings (as Fig 8's premodel does on that set). Its
// seeds and bootstrap resamples are the premodel's (PremodelParams).
type RepeatedCVParams struct {
	OneLearnerParams `yaml:",inline"`
	// CVFolds is the k of the repeated CV (folds is feature selection's).
	CVFolds int `yaml:"cv_folds" spec:"required"`
}

func (p *RepeatedCVParams) validate(c checker) error {
	if p.CVFolds < 2 {
		return c.errAt("cv_folds", "%d, want at least 2", p.CVFolds)
	}
	return p.OneLearnerParams.validate(c)
}

// LearningCurveParams add the training sizes, and the paper's number of
// training images the curve is read towards.
type LearningCurveParams struct {
	RepeatedCVParams `yaml:",inline"`
	TrainSizes       []int `yaml:"train_sizes" spec:"required"`
	PaperImages      int   `yaml:"paper_train_images" spec:"required"`
}

func (p *LearningCurveParams) validate(c checker) error {
	size := func(field string, n int) error {
		if n < 10 {
			return c.errAt(field, "%d, want at least 10 training images", n)
		}
		return nil
	}
	if err := each(c, "train_sizes", p.TrainSizes, size); err != nil {
		return err
	}
	if !slices.IsSorted(p.TrainSizes) {
		return c.errAt("train_sizes", "%v, want increasing sizes", p.TrainSizes)
	}
	if p.PaperImages < 1 {
		return c.errAt("paper_train_images", "%d, want the paper's number of training images", p.PaperImages)
	}
	return p.RepeatedCVParams.validate(c)
}

// FeatureInfoParams add the mutual information's bins and permutations.
type FeatureInfoParams struct {
	RepeatedCVParams `yaml:",inline"`
	Bins             int `yaml:"bins" spec:"required"`
	Permutations     int `yaml:"permutations" spec:"required"`
}

func (p *FeatureInfoParams) validate(c checker) error {
	switch {
	case p.Bins < 2:
		return c.errAt("bins", "%d, want at least 2", p.Bins)
	case p.Permutations < 20:
		return c.errAt("permutations", "%d, want at least 20", p.Permutations)
	}
	return p.RepeatedCVParams.validate(c)
}
