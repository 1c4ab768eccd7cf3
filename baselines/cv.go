package baselines

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/modelpick/modelpick/learners"
)

// Factory makes a fresh, unfitted premodel.
type Factory func() (learners.Learner, error)

// FitPredict fits a min-max scaler and a premodel on the raw training
// features x and targets y (class l = candidate l, or learners.None), and
// returns its decisions on the raw rows of test, scaled by the same scaler.
func FitPredict(newLearner Factory, x [][]float64, y []int, classes int, test [][]float64, seed int64) ([]learners.Decision, error) {
	f, err := fit(newLearner, x, y, classes, seed)
	if err != nil {
		return nil, err
	}
	dec, _, err := f.predict(test)
	return dec, err
}

// fitted is a scaler and the premodel trained behind it.
type fitted struct {
	sc *learners.Scaler
	l  learners.Learner
}

func fit(newLearner Factory, x [][]float64, y []int, classes int, seed int64) (fitted, error) {
	sc, err := learners.FitScaler(x)
	if err != nil {
		return fitted{}, fmt.Errorf("baselines: premodel: %w", err)
	}
	xs, err := sc.TransformAll(x)
	if err != nil {
		return fitted{}, fmt.Errorf("baselines: premodel: training %w", err)
	}
	l, err := newLearner()
	if err != nil {
		return fitted{}, fmt.Errorf("baselines: premodel: %w", err)
	}
	if err := l.Fit(learners.Data{X: xs, Y: y, Classes: classes}, seed); err != nil {
		return fitted{}, fmt.Errorf("baselines: premodel: %w", err)
	}
	return fitted{sc, l}, nil
}

// predict scales and decides every raw row, and returns the median time
// per row: the median, not the mean, because on a shared machine a row
// that loses the processor mid-decision would otherwise dominate.
func (f fitted) predict(rows [][]float64) ([]learners.Decision, time.Duration, error) {
	out := make([]learners.Decision, len(rows))
	took := make([]float64, len(rows))
	for i, row := range rows {
		start := time.Now()
		r, err := f.sc.Transform(row)
		if err != nil {
			return nil, 0, fmt.Errorf("baselines: premodel: row %d: %w", i, err)
		}
		if out[i], err = f.l.Predict(r); err != nil {
			return nil, 0, fmt.Errorf("baselines: premodel: row %d: %w", i, err)
		}
		took[i] = float64(time.Since(start))
	}
	if len(rows) == 0 {
		return out, 0, nil
	}
	return out, time.Duration(quantile(took, 0.5)), nil
}

// OutOfFold returns, for every row of x, the decision of a premodel fitted
// (scaler included) on the other folds of a seeded k-fold split, so that a
// threshold calibrated on them is calibrated on unseen images.
func OutOfFold(newLearner Factory, x [][]float64, y []int, classes, folds int, seed int64) ([]learners.Decision, error) {
	n := len(x)
	if folds < 2 || folds > n {
		return nil, fmt.Errorf("baselines: %d folds for %d rows: want 2..%d", folds, n, n)
	}
	if len(y) != n {
		return nil, fmt.Errorf("baselines: %d rows but %d targets: %w", n, len(y), ErrProfile)
	}
	fold := make([]int, n)
	perm := rand.New(rand.NewPCG(uint64(seed), 0x666f6c6473)).Perm(n) // stream: "folds"
	for pos, i := range perm {
		fold[i] = pos % folds
	}
	out := make([]learners.Decision, n)
	for f := range folds {
		var trX, teX [][]float64
		var trY, teIdx []int
		for i := range x {
			if fold[i] == f {
				teX = append(teX, x[i])
				teIdx = append(teIdx, i)
			} else {
				trX = append(trX, x[i])
				trY = append(trY, y[i])
			}
		}
		dec, err := FitPredict(newLearner, trX, trY, classes, teX, seed)
		if err != nil {
			return nil, fmt.Errorf("baselines: fold %d of %d: %w", f+1, folds, err)
		}
		for k, i := range teIdx {
			out[i] = dec[k]
		}
	}
	return out, nil
}
