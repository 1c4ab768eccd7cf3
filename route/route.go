// Package route is the seam between a router (the premodel of Taylor et
// al., LCTES 2018, a softmax cascade, a committee, a single model) and the
// classifier or evaluation that serves it: a [Router] decides, image by
// image, which models run and whose answer counts, asking an [Input] for
// what it reads (image features, a backbone's embedding, model outputs).
// The classifier implements Input with the decoded image and loaded
// models; a router never sees them.
package route

import "math"

// Input is one image as a router sees it. Each method's result is the
// same on a second call (a model runs at most once per image).
type Input interface {
	// Features returns the image's raw values of the named features.
	Features(names []string) ([]float64, error)
	// Embedding runs model as a backbone and returns its pooled embedding;
	// the model's own answer from that run is Run's.
	Embedding(model string) ([]float64, error)
	// Run runs model on the image and returns its output.
	Run(model string) (Output, error)
}

// Output is one model's answer on an image.
type Output struct {
	Model string
	// Scores has one score per class (0-based, after the model's label
	// offset): probabilities for a softmax model.
	Scores []float32
}

// Top1 is the best score of an output (-Inf when it has none, so a
// cascade escalates).
func (o Output) Top1() float32 {
	best := float32(math.Inf(-1))
	for _, s := range o.Scores {
		best = max(best, s)
	}
	return best
}

// Needs is what a router reads besides model outputs, so that a
// classifier prepares it once per worker: image features (computed with
// the working-image side MaxSide), or the embedding of a backbone among
// Models.
type Needs struct {
	Features []string
	MaxSide  int
	Backbone string
}

// Router decides which models run for an image and whose answer counts.
type Router interface {
	// Needs says what Route reads from Input besides Run.
	Needs() Needs
	// Models lists every model Route may run or answer with (a backbone
	// included), so a caller can load them up front.
	Models() []string
	// Route decides for one image. A router that runs models itself (a
	// cascade, a committee) does so through in.Run.
	Route(in Input) (Decision, error)
}

// Decision reasons.
const (
	ReasonPremodel     = "premodel"      // the learner chose a candidate
	ReasonFallback     = "fallback"      // the learner chose none: the fallback model runs
	ReasonNoPrediction = "no prediction" // the learner chose none and the fallback is none
	ReasonEscalated    = "escalated"     // far from the training data: the most accurate model runs
	ReasonFixed        = "fixed"         // a single-model router
	ReasonCascade      = "cascade"       // a cascade ran its levels on the models' own scores
)

// Decision is a router's answer for one image.
type Decision struct {
	// Model is the model whose answer counts; "" means no prediction.
	Model string `json:"model"`
	// Class is the learner's choice: an index into the candidates, or -1
	// (none).
	Class int `json:"class"`
	// Scores has one entry per candidate (see learners.Decision).
	Scores []float64 `json:"scores"`
	// MeanDist is the mean distance to the K nearest training rows (-1
	// when not measured), and Far whether it is beyond the calibrated
	// threshold.
	MeanDist float64 `json:"mean_dist"`
	Far      bool    `json:"far"`
	Reason   string  `json:"reason"`
	// Ran lists, in order, the models a router ran itself to decide (a
	// cascade's levels); nil when only Model runs.
	Ran []string `json:"-"`
	// Answer is the answer's class scores when they are no single model's
	// output (a committee's average); nil: Model's output.
	Answer []float32 `json:"-"`
}

// Fixed is the router of a single model: it always answers Model, reads
// nothing and decides in no time. A classifier over Fixed gives a plain
// model's results in the premodel's shape, the baseline a user swaps from.
type Fixed struct{ Model string }

// Needs implements Router.
func (Fixed) Needs() Needs { return Needs{} }

// Models implements Router.
func (f Fixed) Models() []string { return []string{f.Model} }

// Route implements Router.
func (f Fixed) Route(Input) (Decision, error) {
	return Decision{Model: f.Model, Class: 0, Scores: []float64{1}, MeanDist: -1, Reason: ReasonFixed}, nil
}
