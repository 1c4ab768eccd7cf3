package premodel

import (
	"fmt"

	"github.com/modelpick/modelpick/learners"
)

// Restore rebuilds a trained premodel from its saved parts: p's exported
// fields (settings, scaler, training rows, leave-one-out distances) and
// its fitted learner. It checks that the parts agree and rebuilds the
// neighbour search behind the confidence distance.
func Restore(p *Premodel, l learners.Learner) (*Premodel, error) {
	d := len(p.FeatureNames)
	switch {
	case len(p.Candidates) == 0 || d == 0:
		return nil, fmt.Errorf("no candidates or no features")
	case p.Confidence.Model == "" || p.Confidence.K < 1:
		return nil, fmt.Errorf("confidence settings incomplete")
	case p.Scaler == nil || l == nil:
		return nil, fmt.Errorf("no scaler or no learner")
	case len(p.TrainX) < 2:
		return nil, fmt.Errorf("%d training rows, want at least 2", len(p.TrainX))
	case len(p.TrainX[0]) != d || len(p.TrainY) != len(p.TrainX) || len(p.LOODist) != len(p.TrainX):
		return nil, fmt.Errorf("arrays disagree: %d training rows of %d features (want %d), %d targets, %d distances",
			len(p.TrainX), len(p.TrainX[0]), d, len(p.TrainY), len(p.LOODist))
	case len(p.Scaler.Min) != d || len(p.Scaler.Max) != d:
		return nil, fmt.Errorf("scaler has %d/%d features, want %d", len(p.Scaler.Min), len(p.Scaler.Max), d)
	case l.Name() != p.LearnerName:
		return nil, fmt.Errorf("the learner is %q, the premodel's %q", l.Name(), p.LearnerName)
	}
	if dec, err := l.Predict(p.TrainX[0]); err != nil {
		return nil, fmt.Errorf("the learner does not fit the training rows: %v", err)
	} else if len(dec.Scores) != len(p.Candidates) {
		return nil, fmt.Errorf("the learner decides among %d classes, the premodel has %d candidates", len(dec.Scores), len(p.Candidates))
	}
	for i, y := range p.TrainY {
		if y < learners.None || y >= len(p.Candidates) {
			return nil, fmt.Errorf("training row %d has class %d, want %d..%d", i, y, learners.None, len(p.Candidates)-1)
		}
	}
	q := *p
	q.learner = l
	q.nb = learners.NewKNN(learners.Params{K: q.Confidence.K})
	if err := q.nb.Fit(learners.Data{X: q.TrainX, Y: q.TrainY, Classes: len(q.Candidates)}, 0); err != nil {
		return nil, fmt.Errorf("neighbour search: %v", err)
	}
	return &q, nil
}
