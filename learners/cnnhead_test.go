package learners

import (
	"bytes"
	"encoding/gob"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestLBFGSQuadratic(t *testing.T) {
	// f(x) = sum_i (i+1) (x_i - i)^2 has its minimum at x_i = i.
	f := func(g, x []float64) float64 {
		s := 0.0
		for i, v := range x {
			d := v - float64(i)
			s += float64(i+1) * d * d
			if g != nil {
				g[i] = 2 * float64(i+1) * d
			}
		}
		return s
	}
	x := lbfgs(f, make([]float64, 20), 200)
	for i, v := range x {
		if math.Abs(v-float64(i)) > 1e-6 {
			t.Fatalf("x[%d] = %v, want %d", i, v, i)
		}
	}
}

// embeddings mimics a backbone's embedding: 64 non-negative dimensions,
// the class shifting a few of them.
func embeddings(n int, seed uint64) Data {
	r := rand.New(rand.NewPCG(seed, 9))
	d := Data{Classes: 3}
	for i := range n {
		y := i%4 - 1 // None, 0, 1, 2
		row := make([]float64, 64)
		for j := range row {
			row[j] = 0.3 * r.Float64()
		}
		row[4*(y+1)] += 0.6
		row[4*(y+1)+1] += 0.4
		d.X = append(d.X, row)
		d.Y = append(d.Y, y)
	}
	return d
}

func TestCNNHeadFitsAndRoundTrips(t *testing.T) {
	train, test := embeddings(200, 1), embeddings(100, 2)
	l := NewCNNHead(Params{})
	if err := l.Fit(train, 3); err != nil {
		t.Fatal(err)
	}
	if l.st.L2 <= 0 {
		t.Errorf("L2 chosen %v", l.st.L2)
	}
	right := 0
	for i, x := range test.X {
		d, err := l.Predict(x)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, s := range d.Scores {
			sum += s
		}
		if !(sum > 0 && sum <= 1+1e-12) || d.MeanDist != -1 || len(d.Scores) != 3 {
			t.Fatalf("row %d: scores %v (sum %v), MeanDist %v", i, d.Scores, sum, d.MeanDist)
		}
		if d.Class == test.Y[i] {
			right++
		}
	}
	if right < 95 {
		t.Errorf("%d of 100 right on separable embeddings", right)
	}

	// Save and load: the same probabilities, bit for bit.
	b, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Name() != "cnn" {
		t.Fatalf("loaded %q", loaded.Name())
	}
	for _, x := range test.X {
		a, _ := l.Predict(x)
		c, _ := loaded.Predict(x)
		for k := range a.Scores {
			if math.Float64bits(a.Scores[k]) != math.Float64bits(c.Scores[k]) || a.Class != c.Class {
				t.Fatal("loaded head predicts differently")
			}
		}
	}

	// A fixed L2 skips the cross-validation and is kept.
	fixed := NewCNNHead(Params{L2: 0.05})
	if err := fixed.Fit(train, 3); err != nil || fixed.st.L2 != 0.05 {
		t.Errorf("fixed L2: %v, %v", fixed.st.L2, err)
	}
	if err := NewCNNHead(Params{L2: -1}).Fit(train, 3); err == nil {
		t.Error("negative L2 accepted")
	}

	// A head whose weights do not fit its shape, or are not finite, is
	// refused.
	for _, mutate := range []func(*headState){
		func(s *headState) { s.W = s.W[:10] },
		func(s *headState) { s.W[3] = math.NaN() },
		func(s *headState) { s.Dims = 0 },
	} {
		st := l.st
		st.W = append([]float64(nil), l.st.W...)
		mutate(&st)
		enc, err := encode("cnn", st)
		if err != nil {
			t.Fatal(err)
		}
		if err := NewCNNHead(Params{}).UnmarshalBinary(enc); !errors.Is(err, ErrBadEncoded) {
			t.Errorf("tampered head: %v, want ErrBadEncoded", err)
		}
	}
}

func TestCNNHeadDeterministic(t *testing.T) {
	train := embeddings(120, 4)
	enc := func(seed int64) []byte {
		l := NewCNNHead(Params{})
		if err := l.Fit(train, seed); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(l.st); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if !bytes.Equal(enc(7), enc(7)) {
		t.Error("two fits with the same seed differ")
	}
}
