package featsel

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/selection"
)

// Classifier is the premodel as selection needs it. Fit receives min-max
// scaled rows and targets in 0..classes-1 or selection.None; Predict one
// scaled row. Every evaluation gets a fresh Classifier from the Factory, and
// evaluations run concurrently, so a Classifier need not be safe for
// concurrent use.
type Classifier interface {
	Fit(x [][]float64, y []int, classes int, seed int64) error
	Predict(x []float64) (int, error)
}

// Factory makes an unfitted Classifier.
type Factory func() Classifier

// CVOptions configure cross-validation.
type CVOptions struct {
	Folds int   // k of k-fold (default 10, the paper's)
	Seed  int64 // folds and Fit
	// New makes the premodel (default: NewKNN with K = 5).
	New Factory
	// Workers evaluate feature sets concurrently (default GOMAXPROCS).
	Workers int
}

// Evaluator cross-validates the premodel on subsets of a table's columns.
// The folds (stratified by target) and each fold's scaler are fixed at
// construction, so every subset is judged on the same splits.
type Evaluator struct {
	t       Table
	folds   [][]int
	newC    Factory
	seed    int64
	workers int
	// Per fold, every column scaled with the training rows' min and max:
	// min-max scaling is per column, so scaling a subset equals taking the
	// subset of the scaled columns.
	train, test [][][]float64
	trainY      [][]int
}

// NewEvaluator splits t into folds and fits each fold's scaler.
func NewEvaluator(t Table, o CVOptions) (*Evaluator, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	if o.Folds == 0 {
		o.Folds = 10
	}
	if o.New == nil {
		o.New = func() Classifier { return NewKNN(DefaultK) }
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	folds, err := datasets.StratifiedKFold(t.Y, o.Folds, o.Seed)
	if err != nil {
		return nil, fmt.Errorf("featsel: %d-fold split of %d images: %w", o.Folds, len(t.Y), err)
	}
	e := &Evaluator{t: t, folds: folds, newC: o.New, seed: o.Seed, workers: o.Workers}
	for f := range folds {
		trainIdx := datasets.TrainIndices(folds, f)
		sc := fitMinMax(t.X, trainIdx)
		e.train = append(e.train, sc.applyRows(t.X, trainIdx))
		e.test = append(e.test, sc.applyRows(t.X, folds[f]))
		y := make([]int, len(trainIdx))
		for i, r := range trainIdx {
			y[i] = t.Y[r]
		}
		e.trainY = append(e.trainY, y)
	}
	return e, nil
}

// Folds returns the number of folds.
func (e *Evaluator) Folds() int { return len(e.folds) }

// Accuracy returns the cross-validated accuracy, in percent of all images,
// of the premodel on the named features. No features means predicting the
// training folds' most frequent target.
func (e *Evaluator) Accuracy(names []string) (float64, error) {
	cols, err := e.t.columns(names)
	if err != nil {
		return 0, err
	}
	return e.accuracy(cols)
}

func (e *Evaluator) accuracy(cols []int) (float64, error) {
	hits := 0
	for f, test := range e.folds {
		if len(cols) == 0 {
			m := majority(e.trainY[f])
			for _, i := range test {
				if e.t.Y[i] == m {
					hits++
				}
			}
			continue
		}
		c := e.newC()
		if err := c.Fit(project(e.train[f], cols), e.trainY[f], e.t.Classes, e.seed); err != nil {
			return 0, fmt.Errorf("featsel: fit fold %d: %w", f, err)
		}
		row := make([]float64, len(cols))
		for k, i := range test {
			for a, j := range cols {
				row[a] = e.test[f][k][j]
			}
			p, err := c.Predict(row)
			if err != nil {
				return 0, fmt.Errorf("featsel: predict fold %d: %w", f, err)
			}
			if p == e.t.Y[i] {
				hits++
			}
		}
	}
	return 100 * float64(hits) / float64(len(e.t.Y)), nil
}

// accuracies evaluates several column sets concurrently; out[i] belongs to
// sets[i] whatever the scheduling.
func (e *Evaluator) accuracies(ctx context.Context, sets [][]int) ([]float64, error) {
	out := make([]float64, len(sets))
	errs := make([]error, len(sets))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(e.workers, len(sets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = e.accuracy(sets[i])
			}
		}()
	}
	for i := range sets {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("featsel: %w", err)
	}
	return out, errors.Join(errs...)
}

// project returns the given columns of rows.
func project(rows [][]float64, cols []int) [][]float64 {
	out := make([][]float64, len(rows))
	flat := make([]float64, len(rows)*len(cols))
	for i, r := range rows {
		o := flat[i*len(cols) : (i+1)*len(cols) : (i+1)*len(cols)]
		for a, j := range cols {
			o[a] = r[j]
		}
		out[i] = o
	}
	return out
}

// majority returns the most frequent value (ties: the smallest).
func majority(y []int) int {
	counts := map[int]int{}
	for _, v := range y {
		counts[v]++
	}
	best, bestN := selection.None, -1
	keys := make([]int, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if counts[k] > bestN {
			best, bestN = k, counts[k]
		}
	}
	return best
}

// minMax is a min-max scaler: x' = (x - min) / (max - min), clipped to
// [0, 1] so a value outside the training range (as at run time) cannot
// outweigh the other features; a column constant on the training rows
// scales to 0.
type minMax struct{ lo, hi []float64 }

func fitMinMax(x [][]float64, rows []int) minMax {
	d := len(x[rows[0]])
	s := minMax{lo: slices.Clone(x[rows[0]]), hi: slices.Clone(x[rows[0]])}
	for _, i := range rows {
		for j := range d {
			s.lo[j] = min(s.lo[j], x[i][j])
			s.hi[j] = max(s.hi[j], x[i][j])
		}
	}
	return s
}

func (s minMax) apply(x []float64) []float64 {
	out := make([]float64, len(x))
	for j, v := range x {
		if span := s.hi[j] - s.lo[j]; span > 0 {
			out[j] = min(max((v-s.lo[j])/span, 0), 1)
		}
	}
	return out
}

func (s minMax) applyRows(x [][]float64, rows []int) [][]float64 {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = s.apply(x[r])
	}
	return out
}
