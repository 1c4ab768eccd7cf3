package learners

import (
	"fmt"
	"slices"

	"github.com/modelpick/modelpick/learners/libsvm"
)

// SVM is a kernel SVM premodel: LIBSVM's C-SVC with an RBF kernel (package
// learners/libsvm), one-vs-one over the classes present in training, None
// included as a class of its own.
//
// Scores: with Params.Probability, LIBSVM's Platt-scaled probabilities and
// the most probable class; otherwise each class's share of the one-vs-one
// contests it wins (k-1 contests among k classes) and LIBSVM's voted class.
// Classes absent from training score 0. If training holds a single class,
// the SVM always answers that class (LIBSVM needs two).
//
// The seed only matters with Probability (it seeds LIBSVM's internal
// cross-validation shuffle).
type SVM struct {
	p       Params
	classes int
	dims    int
	only    int           // the single training slot, when there is one
	model   *libsvm.Model // nil when only one class was seen
}

// NewSVM returns an unfitted SVM.
func NewSVM(p Params) *SVM { return &SVM{p: p} }

// Name implements Learner.
func (*SVM) Name() string { return "svm" }

// Fit implements Learner.
func (l *SVM) Fit(d Data, seed int64) error {
	dims, err := d.check()
	if err != nil {
		return fmt.Errorf("svm: fit: %w", err)
	}
	y := make([]int, len(d.Y))
	for i, v := range d.Y {
		y[i] = slot(v, d.Classes) // LIBSVM labels: class ids, None as classes
	}
	l.classes, l.dims, l.model, l.only = d.Classes, dims, nil, y[0]
	if slices.Min(y) == slices.Max(y) {
		return nil
	}
	m, err := libsvm.Train(d.X, y, libsvm.Params{C: l.p.C, Gamma: l.p.Gamma, Probability: l.p.Probability, Seed: seed})
	if err != nil {
		l.dims = 0
		return fmt.Errorf("svm: fit: %w", err)
	}
	l.model = m
	return nil
}

// Predict implements Learner.
func (l *SVM) Predict(x []float64) (Decision, error) {
	if err := checkInput(x, l.dims); err != nil {
		return Decision{}, fmt.Errorf("svm: predict: %w", err)
	}
	scores := make([]float64, l.classes)
	if l.model == nil {
		if l.only < l.classes {
			scores[l.only] = 1
		}
		return Decision{Class: class(l.only, l.classes), Scores: scores, MeanDist: -1}, nil
	}
	labels := l.model.Labels()
	var label int
	if l.model.HasProbability() {
		lab, prob, err := l.model.PredictProbability(x)
		if err != nil {
			return Decision{}, fmt.Errorf("svm: predict: %w", err)
		}
		for i, s := range labels {
			if s < l.classes {
				scores[s] = prob[i]
			}
		}
		label = lab
	} else {
		lab, dec, err := l.model.Predict(x)
		if err != nil {
			return Decision{}, fmt.Errorf("svm: predict: %w", err)
		}
		// Decision values come pair by pair: labels[0] vs labels[1],
		// labels[0] vs labels[2], ... (positive favours the first).
		k := len(labels)
		wins := make([]int, k)
		p := 0
		for i := 0; i < k; i++ {
			for j := i + 1; j < k; j++ {
				if dec[p] > 0 {
					wins[i]++
				} else {
					wins[j]++
				}
				p++
			}
		}
		for i, s := range labels {
			if s < l.classes {
				scores[s] = float64(wins[i]) / float64(k-1)
			}
		}
		label = lab
	}
	return Decision{Class: class(label, l.classes), Scores: scores, MeanDist: -1}, nil
}

type svmState struct {
	Params  Params
	Classes int
	Dims    int
	Only    int
	Model   []byte // empty when only one class was seen
}

// MarshalBinary implements Learner.
func (l *SVM) MarshalBinary() ([]byte, error) {
	if l.dims == 0 {
		return nil, fmt.Errorf("svm: encode: %w", ErrNotFitted)
	}
	st := svmState{Params: l.p, Classes: l.classes, Dims: l.dims, Only: l.only}
	if l.model != nil {
		b, err := l.model.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("svm: encode: %w", err)
		}
		st.Model = b
	}
	return encode(l.Name(), st)
}

// UnmarshalBinary implements Learner.
func (l *SVM) UnmarshalBinary(b []byte) error {
	var st svmState
	if err := decode(b, l.Name(), &st); err != nil {
		return err
	}
	if st.Classes < 1 || st.Dims < 1 || st.Only < 0 || st.Only > st.Classes {
		return fmt.Errorf("svm: decode: %d classes, %d features: %w", st.Classes, st.Dims, ErrBadEncoded)
	}
	var m *libsvm.Model
	if len(st.Model) > 0 {
		m = new(libsvm.Model)
		if err := m.UnmarshalBinary(st.Model); err != nil {
			return fmt.Errorf("svm: decode: %v: %w", err, ErrBadEncoded)
		}
		for _, s := range m.Labels() {
			if s < 0 || s > st.Classes {
				return fmt.Errorf("svm: decode: label %d for %d classes: %w", s, st.Classes, ErrBadEncoded)
			}
		}
	}
	l.p, l.classes, l.dims, l.only, l.model = st.Params, st.Classes, st.Dims, st.Only, m
	return nil
}
