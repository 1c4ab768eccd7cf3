package premodel

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"

	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/selection"
)

// DefaultTheta is Algorithm 1's stopping threshold in percentage points
// (the paper's 0.5).
const DefaultTheta = 0.5

// DefaultQuantile is the share of training images whose leave-one-out
// neighbour distance the confidence threshold must cover (see Confidence).
const DefaultQuantile = 0.95

// FallbackNone names the fallback "run nothing and say so".
const FallbackNone = "none"

// Options are the settings of Train.
type Options struct {
	// Learner is a learners name (knn, knn-cascade, dt, svm) or an X.Y.Z
	// hierarchy of level names.
	Learner string
	// Params are the learner's settings (K, tree depth, SVM C and gamma).
	// Train sets Order itself: the candidates' order.
	Params learners.Params
	// Theta is Algorithm 1's threshold in percentage points (DefaultTheta
	// is the paper's; 0 is a valid setting, so no default is applied).
	Theta float64
	// Candidates, when set, are used in this order instead of running
	// Algorithm 1.
	Candidates []string
	// Fallback is the model to run when the learner chooses none: a model
	// name, FallbackNone for an explicit "no prediction", or "" for the
	// cheapest candidate (an image no level claims is most often one that
	// every model gets wrong, so it should cost the least; and a drop-in
	// classifier should still answer).
	Fallback string
	// Quantile sets the confidence threshold (0: DefaultQuantile).
	Quantile float64
	// Escalate sends a decision whose neighbour distance is beyond the
	// threshold to the most accurate model.
	Escalate bool
	// Seed is passed to the learner's Fit.
	Seed int64
}

// Confidence is how a premodel judges whether an image is like its
// training images, and what it does when it is not.
//
// Every decision carries the mean Euclidean distance, in scaled feature
// space, from the image to its K nearest training rows (the kNN's own K).
// The threshold is a quantile of the same statistic computed for each
// training row against the other rows (leave-one-out): an image drawn like
// the training images has that distance beyond the threshold with a
// probability of about 1 - Quantile (a conformal bound: the threshold is
// the ceil((n+1)·Quantile)-th smallest of the n leave-one-out distances).
// So the knob has a known price: with escalation on, at most about 5% of
// in-distribution images (Quantile 0.95) pay for the most accurate model,
// while images unlike anything seen in training, where the learner's vote
// means least, go to the model most likely to be right.
type Confidence struct {
	K         int     `json:"k"`
	Quantile  float64 `json:"quantile"`
	Threshold float64 `json:"threshold"`
	Escalate  bool    `json:"escalate"`
	// Model is the most accurate model on the training images under the
	// criterion (ties: the cheaper one), the escalation target.
	Model string `json:"model"`
	// Rule describes the calibration in words, for the bundle's reader.
	Rule string `json:"rule"`
}

// Premodel is a trained router: scaler, learner, candidates in order,
// fallback and confidence. Route and Decide are safe for concurrent use.
type Premodel struct {
	Criterion    profileview.Criterion `json:"criterion"`
	FeatureNames []string              `json:"features"`
	ConfigKey    string                `json:"config_key"`
	// Candidates are the models the learner's classes stand for: class i
	// is Candidates[i], in Algorithm 1's order (the cascade's level order).
	Candidates []string `json:"candidates"`
	// Fallback is the model run when the learner says none; "" means no
	// prediction.
	Fallback    string          `json:"fallback"`
	Confidence  Confidence      `json:"confidence"`
	LearnerName string          `json:"learner"`
	Params      learners.Params `json:"params"`
	Seed        int64           `json:"seed"`
	Theta       float64         `json:"theta_pp"`
	// Trace is Algorithm 1's run (nil when the candidates were given).
	Trace *selection.Trace `json:"-"`

	Scaler *learners.Scaler `json:"-"`
	// TrainX are the scaled training rows, TrainY their classes, LOODist
	// their leave-one-out neighbour distances.
	TrainX  [][]float64 `json:"-"`
	TrainY  []int       `json:"-"`
	LOODist []float64   `json:"-"`

	// Backbone is set for a CNN premodel: its features are the stored
	// embedding of this model's backbone (package embedding), not image
	// features.
	Backbone *Backbone `json:"-"`
	// MaxSide is the working-image side the image features were computed
	// with (0: features.DefaultMaxSide), as ConfigKey records it.
	MaxSide int `json:"-"`

	learner learners.Learner
	nb      *learners.KNN // the neighbour search behind Decision.MeanDist
}

// Backbone names the frozen model whose pooled embedding a CNN premodel
// reads (its FeatureNames are embedding.Names(Dims), its ConfigKey
// embedding.ConfigKey(Model, FilesSHA256)).
type Backbone struct {
	Model       string `json:"model"`
	FilesSHA256 string `json:"files_sha256"`
	Dims        int    `json:"dims"`
}

// BackboneModel returns the backbone's model name, "" when the premodel
// reads image features: a classifier computes the embedding with it.
func (p *Premodel) BackboneModel() string {
	if p.Backbone == nil {
		return ""
	}
	return p.Backbone.Model
}

// Check says whether b matches a premodel's features.
func (b *Backbone) Check(names []string, key string) error {
	want := embedding.ConfigKey(b.Model, b.FilesSHA256)
	if key != want || !slices.Equal(names, embedding.Names(b.Dims)) {
		return fmt.Errorf("backbone %s: features %s with %d names, want the %d-dim embedding %s: train on the store's embeddings (modelpick embed)",
			b.Model, key, len(names), b.Dims, want)
	}
	return nil
}

// Train fits a premodel on a training set: Algorithm 1 (or the given
// candidates), targets restricted to the candidates, a min-max scaler
// fitted on these rows only, the learner, and the confidence threshold.
func Train(s *profileview.Table, o Options) (*Premodel, error) {
	if s == nil || len(s.X) == 0 {
		return nil, fmt.Errorf("train: %w: no training images", learners.ErrEmpty)
	}
	if len(s.X) < 2 {
		return nil, fmt.Errorf("train: only %d training image: a premodel needs at least 2 (profile and extract more images)", len(s.X))
	}
	if o.Quantile == 0 {
		o.Quantile = DefaultQuantile
	}
	if !(o.Quantile > 0 && o.Quantile < 1) {
		return nil, fmt.Errorf("train: confidence quantile %v, want 0 < q < 1", o.Quantile)
	}
	if _, err := learners.New(o.Learner, o.Params); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	p := &Premodel{Criterion: s.Criterion, FeatureNames: slices.Clone(s.Names), ConfigKey: s.ConfigKey,
		LearnerName: o.Learner, Seed: o.Seed, Theta: o.Theta}

	var chosen []int
	if len(o.Candidates) > 0 {
		for _, name := range o.Candidates {
			j := s.ModelIndex(name)
			if j < 0 {
				return nil, fmt.Errorf("train: candidate %q is not a model of the store (models: %s)", name, strings.Join(s.Models, ", "))
			}
			if slices.Contains(chosen, j) {
				return nil, fmt.Errorf("train: candidate %q named twice", name)
			}
			chosen = append(chosen, j)
		}
	} else {
		tr, err := s.SelectModels(o.Theta)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		p.Trace, chosen = &tr, tr.Chosen
	}
	for _, j := range chosen {
		p.Candidates = append(p.Candidates, s.Models[j])
	}
	y, err := s.Targets(chosen)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}

	if p.Fallback, err = fallback(o.Fallback, s.View, chosen); err != nil {
		return nil, err
	}
	if p.Scaler, err = learners.FitScaler(s.X); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if p.TrainX, err = p.Scaler.TransformAll(s.X); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	p.TrainY = y

	p.Params = o.Params
	p.Params.Order = nil // classes are already in candidate order
	if levels := strings.Split(o.Learner, "."); len(levels) > 1 && len(levels) != len(chosen) {
		return nil, fmt.Errorf("train: learner %s has %d levels, but there are %d candidates (%s): name %d levels, "+
			"or choose the candidates (-candidates) or theta so that there are %d",
			o.Learner, len(levels), len(chosen), strings.Join(p.Candidates, ", "), len(chosen), len(levels))
	}
	l, _ := learners.New(o.Learner, p.Params) // validated above
	if err := l.Fit(learners.Data{X: p.TrainX, Y: y, Classes: len(chosen)}, o.Seed); err != nil {
		return nil, fmt.Errorf("train %s: %w", o.Learner, err)
	}
	p.learner = l

	p.Confidence = Confidence{K: kOf(o.Params), Quantile: o.Quantile, Escalate: o.Escalate,
		Model: mostAccurate(s.View)}
	if err := p.calibrate(); err != nil {
		return nil, err
	}
	return p, nil
}

// fallback resolves the Fallback option against the store's models.
func fallback(name string, p *profileview.View, chosen []int) (string, error) {
	switch name {
	case FallbackNone:
		return "", nil
	case "":
		return p.Models[p.Cheapest(chosen)], nil
	}
	if p.ModelIndex(name) < 0 {
		return "", fmt.Errorf("train: fallback %q is not a model of the store (models: %s, or %q for no prediction)",
			name, strings.Join(p.Models, ", "), FallbackNone)
	}
	return name, nil
}

// mostAccurate is the model with the highest accuracy under the profile's
// criterion; ties go to the cheaper one (the view's Order).
func mostAccurate(p *profileview.View) string {
	acc := p.Accuracy()
	best := 0
	for j := range acc {
		if acc[j] > acc[best] || (acc[j] == acc[best] && p.Cheaper(j, best)) {
			best = j
		}
	}
	return p.Models[best]
}

func kOf(p learners.Params) int {
	if p.K > 0 {
		return p.K
	}
	return 5 // learners' default, the paper's K
}

// calibrate builds the neighbour search and the confidence threshold from
// the training rows (see Confidence).
func (p *Premodel) calibrate() error {
	k := p.Confidence.K
	classes := len(p.Candidates)
	p.nb = learners.NewKNN(learners.Params{K: k})
	if err := p.nb.Fit(learners.Data{X: p.TrainX, Y: p.TrainY, Classes: classes}, 0); err != nil {
		return fmt.Errorf("train: neighbour search: %w", err)
	}
	// K+1 neighbours of a training row include the row itself at distance
	// 0, so their distance sum is that of its K nearest other rows.
	loo := learners.NewKNN(learners.Params{K: k + 1})
	if err := loo.Fit(learners.Data{X: p.TrainX, Y: p.TrainY, Classes: classes}, 0); err != nil {
		return fmt.Errorf("train: neighbour search: %w", err)
	}
	m := min(k+1, len(p.TrainX))
	p.LOODist = make([]float64, len(p.TrainX))
	for i, x := range p.TrainX {
		d, err := loo.Predict(x)
		if err != nil {
			return fmt.Errorf("train: leave-one-out distance of row %d: %w", i, err)
		}
		p.LOODist[i] = d.MeanDist * float64(m) / float64(m-1)
	}
	p.Confidence.Threshold = conformalQuantile(p.LOODist, p.Confidence.Quantile)
	p.Confidence.Rule = fmt.Sprintf("threshold = the ceil((n+1)*%g)-th smallest of the n=%d leave-one-out mean distances "+
		"of the training rows to their %d nearest other rows (scaled features)", p.Confidence.Quantile, len(p.LOODist), k)
	return nil
}

// conformalQuantile returns the ceil((n+1)q)-th smallest value (1-based),
// or the largest when that rank is beyond n.
func conformalQuantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	r := int(math.Ceil(float64(len(s)+1)*q)) - 1
	return s[min(max(r, 0), len(s)-1)]
}

// Learner returns the fitted learner.
func (p *Premodel) Learner() learners.Learner { return p.learner }

// Models implements route.Router: the candidates, the fallback, the
// escalation model and a CNN premodel's backbone, without repeats.
func (p *Premodel) Models() []string {
	out := slices.Clone(p.Candidates)
	for _, m := range []string{p.Fallback, p.Confidence.Model, p.BackboneModel()} {
		if m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// Needs implements route.Router: the image features, or the backbone's
// embedding.
func (p *Premodel) Needs() route.Needs {
	if p.Backbone != nil {
		return route.Needs{Backbone: p.Backbone.Model}
	}
	return route.Needs{Features: slices.Clone(p.FeatureNames), MaxSide: p.MaxSide}
}

// Route implements route.Router: it reads the features (or the backbone's
// embedding) and decides.
func (p *Premodel) Route(in route.Input) (route.Decision, error) {
	var x []float64
	var err error
	if p.Backbone != nil {
		x, err = in.Embedding(p.Backbone.Model)
	} else {
		x, err = in.Features(p.FeatureNames)
	}
	if err != nil {
		return route.Decision{}, err
	}
	return p.Decide(x)
}

// Decide scales raw feature values, asks the learner, measures the distance
// to the training data and applies escalation and fallback.
func (p *Premodel) Decide(x []float64) (route.Decision, error) {
	if p.learner == nil || p.Scaler == nil || p.nb == nil {
		return route.Decision{}, errors.New("premodel: not trained or loaded")
	}
	xs, err := p.Scaler.Transform(x)
	if err != nil {
		return route.Decision{}, fmt.Errorf("premodel: %w", err)
	}
	d, err := p.learner.Predict(xs)
	if err != nil {
		return route.Decision{}, fmt.Errorf("premodel: %w", err)
	}
	if d.Class < learners.None || d.Class >= len(p.Candidates) {
		return route.Decision{}, fmt.Errorf("premodel: learner chose class %d of %d candidates", d.Class, len(p.Candidates))
	}
	dist := d.MeanDist
	if dist < 0 { // the learner searched no neighbours: search once here
		nd, err := p.nb.Predict(xs)
		if err != nil {
			return route.Decision{}, fmt.Errorf("premodel: neighbour distance: %w", err)
		}
		dist = nd.MeanDist
	}
	dec := route.Decision{Class: d.Class, Scores: d.Scores, MeanDist: dist, Far: dist > p.Confidence.Threshold}
	switch {
	case p.Confidence.Escalate && dec.Far:
		dec.Model, dec.Reason = p.Confidence.Model, route.ReasonEscalated
	case d.Class == learners.None && p.Fallback == "":
		dec.Reason = route.ReasonNoPrediction
	case d.Class == learners.None:
		dec.Model, dec.Reason = p.Fallback, route.ReasonFallback
	default:
		dec.Model, dec.Reason = p.Candidates[d.Class], route.ReasonPremodel
	}
	return dec, nil
}

// WithEscalation returns a shallow copy of p with escalation switched on or
// off (the evaluation reports both).
func (p *Premodel) WithEscalation(on bool) *Premodel {
	q := *p
	q.Confidence.Escalate = on
	return &q
}
