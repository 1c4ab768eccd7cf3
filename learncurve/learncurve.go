// Package learncurve measures what limits the premodel (Taylor et al.,
// "Adaptive Selection of Deep Learning Models on Embedded Systems"): how
// its accuracy grows with the number of training images (a learning curve
// by repeated cross-validation), and how much its features say about its
// target (the premodel on its features, on the same features shuffled
// across images, and with none).
//
// Every configuration is cross-validated with premodel.CrossValidate (the
// premodel as Figs 8-11 train it: Algorithm 1's candidates on each
// training fold, the learner, the cheapest candidate as fallback) once per
// seed; the seed draws the folds (stratified by target), the training
// subset of a learning-curve point, and the shuffle. Each image is tested
// once per seed, so an outcome is per image: on how many seeds the model
// the premodel ran was right under the criterion. Intervals come from a
// percentile bootstrap over the images (bootstrap.Mean) of the
// seed-averaged outcome (Outcome.Rates), or of a per-image combination of
// outcomes for a difference (Combine), so they reflect which images were
// drawn as well as the folds.
package learncurve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/modelpick/modelpick/method"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/selection"
)

// Options configure one configuration's repeated cross-validation.
type Options struct {
	// Learner, K and Theta are the premodel's (premodel.Train's).
	Learner string
	K       int
	Theta   float64
	Folds   int
	Seeds   []int64
	// TrainSize trains each fold on this many of its training rows (0:
	// all), premodel.CVOptions.TrainSize.
	TrainSize int
	// Shuffle permutes the feature rows across the images (seeded by each
	// seed) before cross-validating: features that say nothing about an
	// image's target, with their distribution intact.
	Shuffle bool
	// NoFeatures replaces the premodel by the training fold's most frequent
	// optimum model (none running the cheapest model): what a premodel can
	// do without looking at the image.
	NoFeatures bool
}

// Outcome is one configuration's repeated cross-validation, image by
// image in the table's row order.
type Outcome struct {
	Images int     `json:"images"`
	Seeds  []int64 `json:"seeds"`
	// TrainImages is the mean number of training rows per fold.
	TrainImages float64 `json:"train_images"`
	// Hits[i] is on how many seeds the model run on image i was right
	// under the criterion.
	Hits []int `json:"hits"`
	// AccuracyPct and SelectionPct are each seed's accuracy and selection
	// accuracy (the share of images whose optimum candidate, or none, the
	// premodel named), pooled over its folds.
	AccuracyPct  []float64 `json:"accuracy_pct"`
	SelectionPct []float64 `json:"selection_pct"`
	// BestSingle is the single model most accurate on all the images
	// under the criterion, BestHits whether it is right on each.
	BestSingle string `json:"best_single"`
	BestHits   []bool `json:"best_hits"`
	// OraclePct is the all-model oracle's accuracy.
	OraclePct float64 `json:"oracle_pct"`
}

// Run cross-validates one configuration on t once per seed.
func Run(ctx context.Context, t *profileview.Table, o Options) (Outcome, error) {
	out := Outcome{Images: len(t.X), Seeds: o.Seeds, Hits: make([]int, len(t.X))}
	if len(o.Seeds) == 0 {
		return out, fmt.Errorf("learncurve: no seeds")
	}
	correct := t.Correct()
	acc := t.Accuracy()
	best := 0
	for j := range acc {
		if acc[j] > acc[best] {
			best = j
		}
	}
	out.BestSingle = t.Models[best]
	for i := range correct {
		out.BestHits = append(out.BestHits, correct[i][best])
	}
	oracle, err := t.Oracle(nil)
	if err != nil {
		return out, err
	}
	hits := 0
	for i, j := range oracle {
		if correct[i][j] {
			hits++
		}
	}
	out.OraclePct = 100 * float64(hits) / float64(len(t.X))
	trained := 0.0
	for _, seed := range o.Seeds {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("learncurve: %w", err)
		}
		var f foldsOut
		if o.NoFeatures {
			f, err = majority(t, o, seed)
		} else {
			f, err = crossValidate(ctx, t, o, seed)
		}
		if err != nil {
			return out, fmt.Errorf("learncurve: seed %d: %w", seed, err)
		}
		n, sel := 0, 0.0
		for i, ok := range f.hit {
			if ok {
				out.Hits[i]++
				n++
			}
		}
		sel = f.selected
		out.AccuracyPct = append(out.AccuracyPct, 100*float64(n)/float64(len(t.X)))
		out.SelectionPct = append(out.SelectionPct, 100*sel/float64(len(t.X)))
		trained += f.train
	}
	out.TrainImages = trained / float64(len(o.Seeds))
	return out, nil
}

// foldsOut is one seed's pooled outcome: whether each image's model was
// right, how many images had their optimum named, and the mean training
// rows per fold.
type foldsOut struct {
	hit      []bool
	selected float64
	train    float64
}

func crossValidate(ctx context.Context, t *profileview.Table, o Options, seed int64) (foldsOut, error) {
	if o.Shuffle {
		s := *t
		perm := rand.New(rand.NewPCG(uint64(seed), shuffleStream)).Perm(len(t.X))
		s.X = make([][]float64, len(t.X))
		for i, p := range perm {
			s.X[i] = t.X[p]
		}
		t = &s
	}
	cv, err := premodel.CrossValidate(ctx, t, premodel.CVOptions{Learner: o.Learner, K: o.K, Theta: o.Theta, Seed: seed,
		Folds: o.Folds, TrainSize: o.TrainSize})
	if err != nil {
		return foldsOut{}, err
	}
	correct := t.Correct()
	f := foldsOut{hit: make([]bool, len(t.X))}
	for _, fold := range cv.Folds {
		i := slices.IndexFunc(fold.Methods, func(m premodel.FoldMethod) bool { return m.Kind == method.Premodel })
		if i < 0 {
			return f, fmt.Errorf("fold %d has no premodel", fold.Fold)
		}
		for k, row := range fold.Rows {
			if j := fold.Methods[i].Choice[k]; j >= 0 {
				f.hit[row] = correct[row][j]
			}
		}
		f.selected += fold.SelectionAcc * float64(fold.Test) / 100
		f.train += float64(fold.Train) / float64(len(cv.Folds))
	}
	return f, nil
}

// shuffleStream separates the shuffle from the folds' stream.
const shuffleStream = 0x5851f42d4c957f2d

// majority is the premodel without features: on each fold, the training
// rows' most frequent optimum model (ties: the lower column, none last),
// none running the cheapest model.
func majority(t *profileview.Table, o Options, seed int64) (foldsOut, error) {
	y, err := t.Targets(nil)
	if err != nil {
		return foldsOut{}, err
	}
	cv, err := premodel.Folds(y, o.Folds, seed, o.TrainSize)
	if err != nil {
		return foldsOut{}, err
	}
	cheapest := t.Order()[0] // the tie rule's cheapest
	correct := t.Correct()
	f := foldsOut{hit: make([]bool, len(t.X))}
	for _, sp := range cv {
		counts := make([]int, len(t.Models)+1) // last: none
		for _, r := range sp.Train {
			k := y[r]
			if k == selection.None {
				k = len(t.Models)
			}
			counts[k]++
		}
		m := 0
		for k, c := range counts {
			if c > counts[m] {
				m = k
			}
		}
		run := m
		if m == len(t.Models) {
			run = cheapest
		}
		for _, r := range sp.Test {
			f.hit[r] = correct[r][run]
			if (m == len(t.Models) && y[r] == selection.None) || y[r] == m {
				f.selected++
			}
		}
		f.train += float64(len(sp.Train)) / float64(len(cv))
	}
	return f, nil
}
