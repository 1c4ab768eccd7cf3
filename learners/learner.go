package learners

import (
	"encoding"
	"errors"
	"fmt"
	"math"
)

// None is the class of "no candidate model": in training labels, an image
// that every candidate gets wrong; in a decision, "use the fallback".
const None = -1

// Learner is a premodel: it maps a scaled feature vector to a candidate
// model (a class) or to [None].
//
// Fit may be called again to retrain; Predict is safe for concurrent use
// once Fit or UnmarshalBinary has returned. MarshalBinary captures the
// settings and the fitted state; UnmarshalBinary on a learner of the same
// name restores it so that Predict returns identical decisions.
type Learner interface {
	Name() string
	Fit(d Data, seed int64) error
	Predict(x []float64) (Decision, error)
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// Data is a training set.
type Data struct {
	// X holds one row of min-max scaled features per training image; all
	// rows have the same length.
	X [][]float64
	// Y holds each row's class: 0..Classes-1 (the optimum candidate), or
	// None.
	Y []int
	// Classes is the number of candidate models.
	Classes int
}

// Decision is the answer of a learner for one input.
type Decision struct {
	// Class is the chosen candidate, 0..Classes-1, or None.
	Class int `json:"class"`
	// Scores has one entry per class, in [0,1]; higher means more in favour
	// of that class. What the number is depends on the learner (vote share,
	// leaf frequency, probability); see each learner's documentation.
	Scores []float64 `json:"scores"`
	// MeanDist is the mean Euclidean distance from the input to the K
	// neighbours behind the decision (kNN-based learners), or -1 when no
	// neighbour search was involved.
	MeanDist float64 `json:"mean_dist"`
}

// Errors that Fit and Predict wrap; test with errors.Is.
var (
	ErrEmpty      = errors.New("empty training set")
	ErrLength     = errors.New("mismatched lengths")
	ErrFeature    = errors.New("feature is not a finite number")
	ErrLabel      = errors.New("class out of range")
	ErrNotFitted  = errors.New("learner is not fitted")
	ErrBadEncoded = errors.New("bad encoded learner")
)

// check validates a training set and returns its number of features.
func (d Data) check() (int, error) {
	if len(d.X) == 0 {
		return 0, fmt.Errorf("no rows: %w", ErrEmpty)
	}
	if len(d.Y) != len(d.X) {
		return 0, fmt.Errorf("%d feature rows but %d labels: %w", len(d.X), len(d.Y), ErrLength)
	}
	if d.Classes < 1 {
		return 0, fmt.Errorf("%d classes, want >= 1: %w", d.Classes, ErrLabel)
	}
	dims := len(d.X[0])
	if dims == 0 {
		return 0, fmt.Errorf("rows have no features: %w", ErrEmpty)
	}
	for i, row := range d.X {
		if len(row) != dims {
			return 0, fmt.Errorf("row %d has %d features, row 0 has %d: %w", i, len(row), dims, ErrLength)
		}
		if err := finite(row); err != nil {
			return 0, fmt.Errorf("row %d: %w", i, err)
		}
		if y := d.Y[i]; y < None || y >= d.Classes {
			return 0, fmt.Errorf("row %d has class %d, want %d..%d: %w", i, y, None, d.Classes-1, ErrLabel)
		}
	}
	return dims, nil
}

func finite(x []float64) error {
	for j, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("feature %d is %v: %w", j, v, ErrFeature)
		}
	}
	return nil
}

// checkInput validates a vector to predict on.
func checkInput(x []float64, dims int) error {
	if dims == 0 {
		return ErrNotFitted
	}
	if len(x) != dims {
		return fmt.Errorf("input has %d features, trained on %d: %w", len(x), dims, ErrLength)
	}
	return finite(x)
}

// slot maps a class (0..classes-1 or None) to an index into per-class
// counters that keep None last.
func slot(y, classes int) int {
	if y == None {
		return classes
	}
	return y
}

// class is the inverse of slot.
func class(s, classes int) int {
	if s == classes {
		return None
	}
	return s
}
