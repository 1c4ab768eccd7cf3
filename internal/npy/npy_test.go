package npy

import (
	"bytes"
	"math"
	"reflect"
	"slices"
	"testing"
)

func TestNPYRoundTrip(t *testing.T) {
	x := [][]float64{{1, 2.5, -3}, {math.Pi, 0, 1e-300}}
	got, err := ReadMatrix(Matrix(x, 3))
	if err != nil || !reflect.DeepEqual(got, x) {
		t.Errorf("matrix: %v %v", got, err)
	}
	ints := []int{-1, 0, 7}
	if got, err := ReadInts(Ints(ints)); err != nil || !slices.Equal(got, ints) {
		t.Errorf("ints: %v %v", got, err)
	}
	b := Floats([]float64{1, 2})
	if (len(b)-16)%64 != 0 && len(b)%8 != 0 {
		t.Errorf("data not aligned: %d bytes", len(b))
	}
	if _, err := ReadInts(b); err == nil {
		t.Error("float array read as ints")
	}
	if _, err := ReadFloats(b[:len(b)-3]); err == nil {
		t.Error("truncated array accepted")
	}
}

func TestNPYRefusesForgedShapes(t *testing.T) {
	for _, shape := range [][]int{{1 << 62, 0}, {0, 1 << 62}, {1 << 40, 1 << 40}, {3, 2}} {
		b := encode("<f8", shape, func(*bytes.Buffer) {})
		if _, err := ReadMatrix(b); err == nil {
			t.Errorf("shape %v with no data accepted", shape)
		}
	}
}
