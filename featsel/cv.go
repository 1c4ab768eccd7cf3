package featsel

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/selection"
)

// Factory makes an unfitted premodel. Every evaluation gets a fresh one,
// and evaluations run concurrently, so a learner need not be safe for
// concurrent use while it is fitted.
type Factory func() learners.Learner

// DefaultK is the paper's premodel's number of neighbours (K = 5).
const DefaultK = 5

// DefaultLearner is the premodel selection cross-validates by default: the
// multi-class kNN of package learners with K = 5 (Euclidean, majority vote,
// None a class of its own).
func DefaultLearner() learners.Learner { return learners.NewKNNScan(learners.Params{K: DefaultK}) }

// NewLearner makes the premodel selection cross-validates: learners' by
// name, except that the kNN scans its training rows instead of building a
// kd-tree (learners.NewKNNScan: the same answers, and a fold's model
// answers few queries, so the tree costs more than it saves).
func NewLearner(name string, p learners.Params) (learners.Learner, error) {
	if name == "knn" {
		return learners.NewKNNScan(p), nil
	}
	return learners.New(name, p)
}

// CVOptions configure cross-validation.
type CVOptions struct {
	Folds int   // k of k-fold (default 10, the paper's)
	Seed  int64 // folds (repeat r uses Seed+r) and Fit
	// Repeats is how many times k-fold CV is run on different random folds
	// (default 1); accuracy is averaged over them. On a few thousand images
	// one 10-fold split moves kNN accuracy by about a point, more than the
	// tolerance elimination works with; repeats average that out.
	Repeats int
	// New makes the premodel (default: DefaultLearner).
	New Factory
	// Workers evaluate feature sets concurrently (default GOMAXPROCS).
	Workers int
}

// split is one fold of one repeat: test positions (into the evaluator's
// sample), and every column of the training and test rows scaled with the
// training rows' min and max (min-max scaling is per column, so scaling a
// subset equals taking the subset of the scaled columns).
type split struct {
	test        []int
	train, xte  [][]float64
	trainY      []int
	repeat, idx int
}

// Score is a feature set's cross-validated figures, in percent of the
// sample's images (averaged over the repeats).
type Score struct {
	// Accuracy is the premodel's accuracy under the criterion (top-1 for
	// top-1 targets, top-5 for top-5 targets): the share of images whose
	// chosen model is right, an image the premodel sends to none running
	// the table's Fallback model (as premodel.Train's default fallback
	// does). This is what elimination tracks (§5.4: "the impact on
	// premodel execution time and top-1 accuracy").
	Accuracy float64 `json:"premodel_accuracy_pct"`
	// Selection is the share of images whose optimum model (or none) the
	// premodel named.
	Selection float64 `json:"selection_accuracy_pct"`
}

// Evaluator cross-validates the premodel on subsets of a table's columns.
// The folds (stratified by target) and each fold's scaler are fixed at
// construction, so every subset is judged on the same splits.
type Evaluator struct {
	t       Table
	sample  []int // rows of t, in order; a bootstrap resample repeats rows
	splits  []split
	folds   int
	repeats int
	newC    Factory
	seed    int64
	workers int
}

// NewEvaluator splits t into folds and fits each fold's scaler.
func NewEvaluator(t Table, o CVOptions) (*Evaluator, error) {
	rows := make([]int, len(t.X))
	for i := range rows {
		rows[i] = i
	}
	return newEvaluator(t, rows, o)
}

// newEvaluator cross-validates on the sample rows of t. An image drawn
// several times (a bootstrap resample) has all its copies in one fold, so
// no test image is found among its own training rows.
func newEvaluator(t Table, sample []int, o CVOptions) (*Evaluator, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	if o.Folds == 0 {
		o.Folds = 10
	}
	if o.Repeats <= 0 {
		o.Repeats = 1
	}
	if o.New == nil {
		o.New = DefaultLearner
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	e := &Evaluator{t: t, sample: sample, folds: o.Folds, repeats: o.Repeats, newC: o.New, seed: o.Seed, workers: o.Workers}
	// The distinct images of the sample, in first-drawn order, and where
	// each one's copies are.
	var distinct, labels []int
	copies := map[int][]int{}
	for pos, row := range sample {
		if _, ok := copies[row]; !ok {
			distinct = append(distinct, row)
			labels = append(labels, t.Y[row])
		}
		copies[row] = append(copies[row], pos)
	}
	for r := range o.Repeats {
		folds, err := datasets.StratifiedKFold(labels, o.Folds, o.Seed+int64(r))
		if err != nil {
			return nil, fmt.Errorf("featsel: %d-fold split of %d images: %w", o.Folds, len(distinct), err)
		}
		for f := range folds {
			var trainPos, testPos []int
			for g, fold := range folds {
				for _, k := range fold {
					if g == f {
						testPos = append(testPos, copies[distinct[k]]...)
					} else {
						trainPos = append(trainPos, copies[distinct[k]]...)
					}
				}
			}
			slices.Sort(trainPos)
			slices.Sort(testPos)
			trainRows, testRows := rowsAt(sample, trainPos), rowsAt(sample, testPos)
			// The run-time scaler (clipping included), fitted on this
			// fold's training rows only.
			sc, err := learners.FitScaler(rowsOf(t.X, trainRows))
			if err != nil {
				return nil, fmt.Errorf("featsel: fold %d: %w", f, err)
			}
			tr, err := sc.TransformAll(rowsOf(t.X, trainRows))
			if err != nil {
				return nil, fmt.Errorf("featsel: fold %d: %w", f, err)
			}
			te, err := sc.TransformAll(rowsOf(t.X, testRows))
			if err != nil {
				return nil, fmt.Errorf("featsel: fold %d: %w", f, err)
			}
			y := make([]int, len(trainRows))
			for i, row := range trainRows {
				y[i] = t.Y[row]
			}
			e.splits = append(e.splits, split{test: testPos, train: tr, xte: te, trainY: y, repeat: r, idx: f})
		}
	}
	return e, nil
}

// Folds returns the number of folds.
func (e *Evaluator) Folds() int { return e.folds }

// Repeats returns the number of repeated k-fold runs.
func (e *Evaluator) Repeats() int { return e.repeats }

// Score returns the cross-validated figures of the premodel on the named
// features. No features means predicting the training folds' most
// frequent target.
func (e *Evaluator) Score(names []string) (Score, error) {
	cols, err := e.t.columns(names)
	if err != nil {
		return Score{}, err
	}
	return e.score(cols)
}

// Accuracy returns the premodel's cross-validated accuracy (Score's) on
// the named features.
func (e *Evaluator) Accuracy(names []string) (float64, error) {
	s, err := e.Score(names)
	return s.Accuracy, err
}

// answer tallies the premodel's class c on sample position pos.
func (e *Evaluator) answer(c, pos int, hits, sel *int) {
	row := e.sample[pos]
	if c == e.t.Y[row] {
		*sel++
	}
	run := c
	if run == selection.None {
		run = e.t.Fallback
	}
	if e.t.Correct[row][run] {
		*hits++
	}
}

func (e *Evaluator) score(cols []int) (Score, error) {
	hits, sel := 0, 0
	for _, sp := range e.splits {
		if len(cols) == 0 {
			m := majority(sp.trainY)
			for _, pos := range sp.test {
				e.answer(m, pos, &hits, &sel)
			}
			continue
		}
		c := e.newC()
		d := learners.Data{X: project(sp.train, cols), Y: sp.trainY, Classes: e.t.Classes}
		if err := c.Fit(d, e.seed); err != nil {
			return Score{}, fmt.Errorf("featsel: fit %s on fold %d of repeat %d: %w", c.Name(), sp.idx, sp.repeat, err)
		}
		row := make([]float64, len(cols))
		for k, pos := range sp.test {
			for a, j := range cols {
				row[a] = sp.xte[k][j]
			}
			p, err := c.Predict(row)
			if err != nil {
				return Score{}, fmt.Errorf("featsel: %s predict on fold %d of repeat %d: %w", c.Name(), sp.idx, sp.repeat, err)
			}
			e.answer(p.Class, pos, &hits, &sel)
		}
	}
	n := float64(e.repeats * len(e.sample))
	return Score{Accuracy: 100 * float64(hits) / n, Selection: 100 * float64(sel) / n}, nil
}

// scores evaluates several column sets concurrently; out[i] belongs to
// sets[i] whatever the scheduling.
func (e *Evaluator) scores(ctx context.Context, sets [][]int) ([]Score, error) {
	out := make([]Score, len(sets))
	errs := make([]error, len(sets))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(e.workers, len(sets)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = e.score(sets[i])
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

// rowsAt returns sample[pos] for each position.
func rowsAt(sample, pos []int) []int {
	out := make([]int, len(pos))
	for i, p := range pos {
		out[i] = sample[p]
	}
	return out
}

// rowsOf returns the rows of x at idx (shared, not copied).
func rowsOf(x [][]float64, idx []int) [][]float64 {
	out := make([][]float64, len(idx))
	for i, r := range idx {
		out[i] = x[r]
	}
	return out
}
