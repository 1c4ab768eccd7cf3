package learners

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// CNNHead is the trained head of the CNN premodel: multinomial logistic
// regression (softmax over the classes and None, L2-penalised, fitted by
// L-BFGS) on the pooled embedding of a frozen ladder backbone.
//
// Why a frozen backbone and not a small CNN trained on pixels in Go: a
// few hundred to a thousand labelled images cannot train a convolutional
// network from scratch to see what makes an image hard, whereas the
// cheapest ladder model (mobilenet_v1_0.25_128, 0.4 ms) already computes
// an ImageNet-trained 256-d description of the image, and running it is a
// cost the cascade pays anyway when it picks that model (its answer comes
// out of the same run; see inference.Embedder). Training only a linear
// head on it is fast, convex (so the same data give the same weights),
// and hard to overfit.
//
// The learner sees whatever rows it is given (min-max scaled like every
// learner's input); it is the "cnn" premodel when those rows are the
// stored embeddings (package embed). Scores[c] is the predicted
// probability that class c is the optimum; the probability of None is
// the remainder. MeanDist is -1 (no neighbour search).
//
// L2 (Params.L2) is the penalty on the weights per training row; 0 picks
// it from l2Grid by 3-fold cross-validation accuracy on the training set,
// with folds drawn from the seed given to Fit.
type CNNHead struct {
	p  Params
	st headState
}

// headState is what a head encodes.
type headState struct {
	Params  Params
	Classes int
	Dims    int
	L2      float64   // the penalty used
	W       []float64 // (Classes+1) x (Dims+1): per slot, weights then bias
}

// l2Grid spans a strong to a weak penalty for unit-range features; the
// CV chooses among them, strongest first.
func l2Grid() []float64 { return []float64{1e-1, 1e-2, 1e-3} }

const (
	cvFolds       = 3
	maxIterations = 300 // L-BFGS iterations: ample for a convex problem of this size
)

// NewCNNHead returns an unfitted CNN premodel head.
func NewCNNHead(p Params) *CNNHead { return &CNNHead{p: p} }

// Name implements Learner.
func (*CNNHead) Name() string { return "cnn" }

// Fit implements Learner.
func (l *CNNHead) Fit(d Data, seed int64) error {
	dims, err := d.check()
	if err != nil {
		return fmt.Errorf("cnn: fit: %w", err)
	}
	if l.p.L2 < 0 || math.IsNaN(l.p.L2) || math.IsInf(l.p.L2, 0) {
		return fmt.Errorf("cnn: fit: L2 penalty %v, want a finite number >= 0", l.p.L2)
	}
	lambda := l.p.L2
	if lambda == 0 {
		lambda = chooseL2(d, dims, seed)
	}
	w := fitSoftmax(d.X, d.Y, d.Classes, dims, lambda)
	l.st = headState{Params: l.p, Classes: d.Classes, Dims: dims, L2: lambda, W: w}
	return nil
}

// chooseL2 returns the grid value with the best cross-validated accuracy
// (ties: the stronger penalty, listed first).
func chooseL2(d Data, dims int, seed int64) float64 {
	n := len(d.X)
	grid := l2Grid()
	if n < 2*cvFolds {
		return grid[0]
	}
	fold := make([]int, n)
	for pos, i := range rand.New(rand.NewPCG(uint64(seed), 0x636e6e)).Perm(n) { // stream: "cnn"
		fold[i] = pos % cvFolds
	}
	best, bestHits := grid[0], -1
	for _, lambda := range grid {
		hits := 0
		for f := range cvFolds {
			var x [][]float64
			var y []int
			for i := range d.X {
				if fold[i] != f {
					x, y = append(x, d.X[i]), append(y, d.Y[i])
				}
			}
			w := fitSoftmax(x, y, d.Classes, dims, lambda)
			st := headState{Classes: d.Classes, Dims: dims, W: w}
			for i := range d.X {
				if fold[i] == f && class(argmax(st.probs(d.X[i])), d.Classes) == d.Y[i] {
					hits++
				}
			}
		}
		if hits > bestHits {
			best, bestHits = lambda, hits
		}
	}
	return best
}

// fitSoftmax minimises the mean cross-entropy plus lambda/2 |W|^2 (biases
// unpenalised) from zero weights, so the fit is deterministic.
func fitSoftmax(x [][]float64, y []int, classes, dims int, lambda float64) []float64 {
	slots, stride := classes+1, dims+1
	n := float64(len(x))
	loss := func(grad, w []float64) float64 {
		if grad != nil {
			clear(grad)
		}
		st := headState{Classes: classes, Dims: dims, W: w}
		total := 0.0
		for i, row := range x {
			p := st.probs(row)
			s := slot(y[i], classes)
			total -= math.Log(max(p[s], 1e-300))
			if grad == nil {
				continue
			}
			for k := range slots {
				g := p[k]
				if k == s {
					g--
				}
				g /= n
				gk := grad[k*stride : (k+1)*stride]
				for j, v := range row {
					gk[j] += g * v
				}
				gk[dims] += g
			}
		}
		total /= n
		for k := range slots {
			for j := range dims {
				v := w[k*stride+j]
				total += lambda / 2 * v * v
				if grad != nil {
					grad[k*stride+j] += lambda * v
				}
			}
		}
		return total
	}
	return lbfgs(loss, make([]float64, slots*stride), maxIterations)
}

// probs returns the softmax over the slots (classes, then None) for row.
func (st headState) probs(row []float64) []float64 {
	slots, stride := st.Classes+1, st.Dims+1
	z := make([]float64, slots)
	top := math.Inf(-1)
	for k := range slots {
		wk := st.W[k*stride : (k+1)*stride]
		s := wk[st.Dims]
		for j, v := range row {
			s += wk[j] * v
		}
		z[k] = s
		top = max(top, s)
	}
	sum := 0.0
	for k := range z {
		z[k] = math.Exp(z[k] - top)
		sum += z[k]
	}
	for k := range z {
		z[k] /= sum
	}
	return z
}

func argmax(v []float64) int {
	best := 0
	for k := 1; k < len(v); k++ {
		if v[k] > v[best] {
			best = k
		}
	}
	return best
}

// Predict implements Learner.
func (l *CNNHead) Predict(x []float64) (Decision, error) {
	if err := checkInput(x, l.st.Dims); err != nil {
		return Decision{}, fmt.Errorf("cnn: predict: %w", err)
	}
	p := l.st.probs(x)
	return Decision{Class: class(argmax(p), l.st.Classes), Scores: p[:l.st.Classes], MeanDist: -1}, nil
}

// MarshalBinary implements Learner.
func (l *CNNHead) MarshalBinary() ([]byte, error) {
	if l.st.Dims == 0 {
		return nil, fmt.Errorf("cnn: encode: %w", ErrNotFitted)
	}
	return encode(l.Name(), l.st)
}

// UnmarshalBinary implements Learner.
func (l *CNNHead) UnmarshalBinary(b []byte) error {
	var st headState
	if err := decode(b, l.Name(), &st); err != nil {
		return err
	}
	if st.Dims < 1 || st.Classes < 1 || len(st.W) != (st.Classes+1)*(st.Dims+1) {
		return fmt.Errorf("cnn: decode: %d weights for %d classes and %d features: %w", len(st.W), st.Classes, st.Dims, ErrBadEncoded)
	}
	for _, v := range st.W {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("cnn: decode: non-finite weight: %w", ErrBadEncoded)
		}
	}
	l.p, l.st = st.Params, st
	return nil
}

// lbfgs minimises f (which fills grad when it is non-nil) from x by
// limited-memory BFGS (Nocedal and Wright, Algorithm 7.4, 10 pairs) with a
// backtracking Armijo line search. gonum's optimize would do, but it pulls
// in a module this build does not carry. Deterministic: no randomness, no
// clock.
func lbfgs(f func(grad, x []float64) float64, x []float64, iters int) []float64 {
	const (
		memory = 10
		tol    = 1e-6 // stop when the largest gradient entry is below this
	)
	n := len(x)
	g := make([]float64, n)
	fx := f(g, x)
	var ss, ys [][]float64
	var rhos []float64
	d := make([]float64, n)
	xn, gn := make([]float64, n), make([]float64, n)
	alpha := make([]float64, memory)
	for range iters {
		if normInf(g) < tol {
			break
		}
		// Two-loop recursion: d = -H g.
		copy(d, g)
		for k := len(ss) - 1; k >= 0; k-- {
			alpha[k] = rhos[k] * dot(ss[k], d)
			axpy(-alpha[k], ys[k], d)
		}
		if k := len(ss) - 1; k >= 0 {
			scale(dot(ss[k], ys[k])/dot(ys[k], ys[k]), d)
		}
		for k := range ss {
			b := rhos[k] * dot(ys[k], d)
			axpy(alpha[k]-b, ss[k], d)
		}
		scale(-1, d)
		slope := dot(g, d)
		if slope >= 0 { // not a descent direction: restart from steepest descent
			ss, ys, rhos = nil, nil, nil
			copy(d, g)
			scale(-1, d)
			slope = dot(g, d)
		}
		step, fn := 1.0, 0.0
		for tries := 0; ; tries++ {
			for i := range x {
				xn[i] = x[i] + step*d[i]
			}
			fn = f(gn, xn)
			if fn <= fx+1e-4*step*slope || tries == 40 {
				break
			}
			step /= 2
		}
		if !(fn < fx) {
			break // no progress possible at this precision
		}
		s, y := make([]float64, n), make([]float64, n)
		for i := range x {
			s[i], y[i] = xn[i]-x[i], gn[i]-g[i]
		}
		if sy := dot(s, y); sy > 1e-12 {
			if len(ss) == memory {
				ss, ys, rhos = ss[1:], ys[1:], rhos[1:]
			}
			ss, ys, rhos = append(ss, s), append(ys, y), append(rhos, 1/sy)
		}
		copy(x, xn)
		copy(g, gn)
		fx = fn
	}
	return x
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func axpy(a float64, x, y []float64) {
	for i := range x {
		y[i] += a * x[i]
	}
}

func scale(a float64, x []float64) {
	for i := range x {
		x[i] *= a
	}
}

func normInf(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(v))
	}
	return m
}
