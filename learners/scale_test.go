package learners

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestScaler(t *testing.T) {
	s, err := FitScaler([][]float64{{0, 5, -1}, {10, 5, 1}, {5, 5, 0}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, want []float64
	}{
		{[]float64{0, 5, -1}, []float64{0, 0, 0}},
		{[]float64{10, 5, 1}, []float64{1, 0, 1}},
		{[]float64{2.5, 7, 0.5}, []float64{0.25, 0, 0.75}},
		{[]float64{-4, 5, 3}, []float64{0, 0, 1}},   // clipped below and above
		{[]float64{11, -9, -2}, []float64{1, 0, 0}}, // constant column: always 0
	} {
		got, err := s.Transform(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Transform(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Scaler
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*s, back) {
		t.Errorf("round trip: %+v, want %+v", back, *s)
	}
	all, err := back.TransformAll([][]float64{{5, 5, 0}})
	if err != nil || !reflect.DeepEqual(all, [][]float64{{0.5, 0, 0.5}}) {
		t.Errorf("TransformAll = %v, %v", all, err)
	}
}

func TestScalerRejects(t *testing.T) {
	if _, err := FitScaler(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	if _, err := FitScaler([][]float64{{1, 2}, {1}}); !errors.Is(err, ErrLength) {
		t.Errorf("ragged: %v", err)
	}
	if _, err := FitScaler([][]float64{{1, math.NaN()}}); !errors.Is(err, ErrFeature) {
		t.Errorf("NaN: %v", err)
	}
	s, _ := FitScaler([][]float64{{1, 2}})
	if _, err := s.Transform([]float64{1}); !errors.Is(err, ErrLength) {
		t.Errorf("short: %v", err)
	}
	if _, err := s.Transform([]float64{1, math.Inf(1)}); !errors.Is(err, ErrFeature) {
		t.Errorf("Inf: %v", err)
	}
	var zero Scaler
	if _, err := zero.Transform([]float64{1}); !errors.Is(err, ErrNotFitted) {
		t.Errorf("unfitted: %v", err)
	}
	if err := zero.UnmarshalBinary([]byte("x")); !errors.Is(err, ErrBadEncoded) {
		t.Errorf("junk: %v", err)
	}
}
