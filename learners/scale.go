package learners

import (
	"fmt"
	"math"
)

// Scaler is a min-max scaler: fitted on the training features, it maps
// each feature to [0,1] before a learner sees it, as the paper scales its
// features (so that no feature dominates the kNN's Euclidean distance).
//
// At run time a value outside the training range is clipped to 0 or 1: an
// image brighter than any training image is treated as the brightest one
// seen, rather than producing a coordinate no training row is near, and the
// kNN's distances stay within the unit cube. A column that was constant in
// training maps to 0 (it carries no information, and dividing by a zero
// range would give NaN).
type Scaler struct {
	Min []float64 `json:"min"`
	Max []float64 `json:"max"`
}

// FitScaler fits a scaler to the rows of x.
func FitScaler(x [][]float64) (*Scaler, error) {
	if len(x) == 0 || len(x[0]) == 0 {
		return nil, fmt.Errorf("scaler: fit: no rows or no features: %w", ErrEmpty)
	}
	dims := len(x[0])
	s := &Scaler{Min: make([]float64, dims), Max: make([]float64, dims)}
	for j := range dims {
		s.Min[j], s.Max[j] = math.Inf(1), math.Inf(-1)
	}
	for i, row := range x {
		if len(row) != dims {
			return nil, fmt.Errorf("scaler: fit: row %d has %d features, row 0 has %d: %w", i, len(row), dims, ErrLength)
		}
		if err := finite(row); err != nil {
			return nil, fmt.Errorf("scaler: fit: row %d: %w", i, err)
		}
		for j, v := range row {
			s.Min[j] = min(s.Min[j], v)
			s.Max[j] = max(s.Max[j], v)
		}
	}
	return s, nil
}

// Transform returns x scaled to [0,1] per feature, clipped, in a new slice.
func (s *Scaler) Transform(x []float64) ([]float64, error) {
	if len(s.Min) == 0 {
		return nil, fmt.Errorf("scaler: transform: %w", ErrNotFitted)
	}
	if len(x) != len(s.Min) {
		return nil, fmt.Errorf("scaler: transform: %d features, fitted on %d: %w", len(x), len(s.Min), ErrLength)
	}
	if err := finite(x); err != nil {
		return nil, fmt.Errorf("scaler: transform: %w", err)
	}
	out := make([]float64, len(x))
	for j, v := range x {
		span := s.Max[j] - s.Min[j]
		if !(span > 0) {
			continue // constant column: 0
		}
		out[j] = min(1, max(0, (v-s.Min[j])/span))
	}
	return out, nil
}

// TransformAll scales every row of x.
func (s *Scaler) TransformAll(x [][]float64) ([][]float64, error) {
	out := make([][]float64, len(x))
	for i, row := range x {
		r, err := s.Transform(row)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		out[i] = r
	}
	return out, nil
}

// MarshalBinary encodes the scaler exactly.
func (s *Scaler) MarshalBinary() ([]byte, error) {
	if len(s.Min) == 0 {
		return nil, fmt.Errorf("scaler: encode: %w", ErrNotFitted)
	}
	return encode("scaler", scalerState{Min: s.Min, Max: s.Max})
}

// scalerState is the encoded form; Scaler itself cannot be handed to gob,
// which would call its MarshalBinary again.
type scalerState struct {
	Min, Max []float64
}

// UnmarshalBinary restores a scaler written by MarshalBinary.
func (s *Scaler) UnmarshalBinary(b []byte) error {
	var st scalerState
	if err := decode(b, "scaler", &st); err != nil {
		return err
	}
	if len(st.Min) == 0 || len(st.Min) != len(st.Max) {
		return fmt.Errorf("scaler: decode: %d minima, %d maxima: %w", len(st.Min), len(st.Max), ErrBadEncoded)
	}
	for j := range st.Min {
		if !(st.Min[j] <= st.Max[j]) || math.IsInf(st.Max[j]-st.Min[j], 0) {
			return fmt.Errorf("scaler: decode: feature %d range [%v, %v]: %w", j, st.Min[j], st.Max[j], ErrBadEncoded)
		}
	}
	s.Min, s.Max = st.Min, st.Max
	return nil
}
