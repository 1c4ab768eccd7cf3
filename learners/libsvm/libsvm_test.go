package libsvm

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
)

// rings returns points inside (label 7) and outside (label 3) a circle,
// which no linear model separates but an RBF kernel does.
func rings(n int, seed uint64) ([][]float64, []int) {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([][]float64, n)
	y := make([]int, n)
	for i := range x {
		a, b := r.Float64(), r.Float64()
		x[i] = []float64{a, b}
		if (a-0.5)*(a-0.5)+(b-0.5)*(b-0.5) < 0.09 {
			y[i] = 7
		} else {
			y[i] = 3
		}
	}
	return x, y
}

func TestVersion(t *testing.T) {
	if v := Version(); v < 300 {
		t.Fatalf("libsvm_version = %d, want >= 300", v)
	}
}

func TestTrainPredict(t *testing.T) {
	x, y := rings(400, 1)
	m, err := Train(x, y, Params{C: 10, Gamma: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Labels(); !reflect.DeepEqual(got, []int{y[0], 10 - y[0]}) {
		t.Errorf("Labels = %v, want order of first appearance", got)
	}
	tx, ty := rings(300, 2)
	right := 0
	for i, row := range tx {
		label, dec, err := m.Predict(row)
		if err != nil {
			t.Fatal(err)
		}
		if len(dec) != 1 {
			t.Fatalf("%d decision values for 2 classes", len(dec))
		}
		// The sign of the one decision value picks label[0] or label[1].
		want := m.Labels()[1]
		if dec[0] > 0 {
			want = m.Labels()[0]
		}
		if label != want {
			t.Fatalf("label %d disagrees with decision value %v", label, dec[0])
		}
		if label == ty[i] {
			right++
		}
	}
	if acc := float64(right) / float64(len(tx)); acc < 0.9 {
		t.Errorf("accuracy %.3f on the rings, want >= 0.9", acc)
	}
	if m.HasProbability() {
		t.Error("HasProbability without Probability")
	}
	if _, _, err := m.PredictProbability(tx[0]); err == nil {
		t.Error("PredictProbability worked on a model without probabilities")
	}
}

func TestMarshalBitIdentical(t *testing.T) {
	x, y := rings(300, 3)
	for i := range y { // three classes
		if x[i][0] > 0.8 {
			y[i] = 5
		}
	}
	for _, prob := range []bool{false, true} {
		m, err := Train(x, y, Params{C: 4, Gamma: 8, Probability: prob, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back Model
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		runtime.GC() // the original's C copy may go; back must not depend on it
		tx, _ := rings(200, 4)
		for _, row := range tx {
			l1, d1, _ := m.Predict(row)
			l2, d2, _ := back.Predict(row)
			if l1 != l2 || !sameBits(d1, d2) {
				t.Fatalf("prob=%v: decision changed after unmarshal: %d %v vs %d %v", prob, l1, d1, l2, d2)
			}
			if prob {
				l1, p1, err1 := m.PredictProbability(row)
				l2, p2, err2 := back.PredictProbability(row)
				if err1 != nil || err2 != nil || l1 != l2 || !sameBits(p1, p2) {
					t.Fatalf("probabilities changed after unmarshal: %v %v / %v %v", p1, err1, p2, err2)
				}
			}
		}
	}
}

func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func TestProbabilityDeterministic(t *testing.T) {
	x, y := rings(200, 5)
	probs := func(seed int64) []float64 {
		m, err := Train(x, y, Params{C: 4, Gamma: 8, Probability: true, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var out []float64
		for _, row := range x[:50] {
			_, p, err := m.PredictProbability(row)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p...)
		}
		return out
	}
	if a, b := probs(1), probs(1); !sameBits(a, b) {
		t.Error("same seed, different probabilities")
	}
}

func TestRejects(t *testing.T) {
	x, y := rings(20, 6)
	for name, tc := range map[string]struct {
		x [][]float64
		y []int
	}{
		"empty":       {nil, nil},
		"lengths":     {x, y[:3]},
		"one label":   {x[:2], []int{1, 1}},
		"NaN":         {[][]float64{{0, math.NaN()}, {1, 1}}, []int{0, 1}},
		"ragged":      {[][]float64{{0, 1}, {1}}, []int{0, 1}},
		"no features": {[][]float64{{}, {}}, []int{0, 1}},
	} {
		if _, err := Train(tc.x, tc.y, Params{}); !errors.Is(err, ErrInput) {
			t.Errorf("%s: err = %v, want ErrInput", name, err)
		}
	}
	m, err := Train(x, y, Params{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Predict([]float64{1}); !errors.Is(err, ErrInput) {
		t.Errorf("short row: err = %v", err)
	}
	if _, _, err := m.Predict([]float64{1, math.Inf(1)}); !errors.Is(err, ErrInput) {
		t.Errorf("Inf feature: err = %v", err)
	}
	var zero Model
	if _, _, err := zero.Predict([]float64{1, 1}); err == nil {
		t.Error("untrained model predicted")
	}
	if err := zero.UnmarshalBinary([]byte("junk")); err == nil {
		t.Error("junk unmarshalled")
	}
}
