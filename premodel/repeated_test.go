package premodel

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/modelpick/modelpick/internal/premodeltest"
	"github.com/modelpick/modelpick/method"
	"github.com/modelpick/modelpick/profileview"
)

// TestRepeatedCrossValidation: each seed tests every image once; the
// pooled out-of-fold answers give back the folds' own figures; the seeds
// differ; the same seeds give the same answers; random equal folds
// partition the images too.
func TestRepeatedCrossValidation(t *testing.T) {
	path, _ := premodeltest.MakeStore(t, t.TempDir(), premodeltest.World{N: 240, Seed: 5, Dataset: "train"})
	s := premodeltest.LoadSet(t, path, profileview.Top1)
	o := CVOptions{Learner: "knn-cascade", K: 5, Theta: DefaultTheta, Seed: 1, Seeds: []int64{1, 2, 3}, Folds: 4}
	cv, err := CrossValidate(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.Folds) != 12 || len(cv.Seeds) != 3 {
		t.Fatalf("%d folds over seeds %v, want 4 per seed of 3", len(cv.Folds), cv.Seeds)
	}
	tested := map[int64]int{}
	for _, f := range cv.Folds {
		tested[f.Seed] += f.Test
		if f.PremodelBytes <= 0 {
			t.Errorf("seed %d fold %d: premodel of %d bytes", f.Seed, f.Fold, f.PremodelBytes)
		}
	}
	for _, seed := range o.Seeds {
		if tested[seed] != 240 {
			t.Errorf("seed %d tested %d images, want each of 240 once", seed, tested[seed])
		}
	}
	pm := method.PremodelOf("knn-cascade")
	p := cv.Pool()
	for _, name := range []method.Name{pm, method.OracleAll, method.OracleCandidates} {
		if !p.Has(name) {
			t.Fatalf("%s not pooled (have %v)", name, p.Names())
		}
	}
	all := make([]int, p.N())
	for i := range all {
		all[i] = i
	}
	// The pooled accuracy is the folds' accuracies weighted by their size,
	// averaged over the seeds; so is the selection accuracy.
	var acc, sel float64
	for _, f := range cv.Folds {
		for _, m := range f.Methods {
			if m.Name == pm {
				acc += m.Top1 * float64(f.Test) / 240 / 3
			}
		}
		sel += f.SelectionAcc * float64(f.Test) / 240 / 3
	}
	if got := p.Accuracy(pm, profileview.Top1, all); math.Abs(got-acc) > 1e-9 {
		t.Errorf("pooled top-1 %v, folds' %v", got, acc)
	}
	if got := p.Selection(pm, all); math.Abs(got-sel) > 1e-9 {
		t.Errorf("pooled selection accuracy %v, folds' %v", got, sel)
	}
	// Never more than the candidates' oracle; the avoidable misses are the gap.
	orc := p.Accuracy(method.OracleCandidates, profileview.Top1, all)
	if gap := orc - p.Accuracy(pm, profileview.Top1, all); gap < 0 || math.Abs(p.Avoidable(pm, profileview.Top1, all)-gap) > 1e-9 {
		t.Errorf("candidates' oracle %v, avoidable misses %v: want the gap", orc, p.Avoidable(pm, profileview.Top1, all))
	}
	// The first level sees every image.
	if l := p.Level(pm, 0, all); !(l >= 0 && l <= 100) {
		t.Errorf("level 1 accuracy %v", l)
	}
	// One seed's pooled precision and recall over one fold's rows are
	// MacroPRF's on that fold.
	one, err := CrossValidate(context.Background(), s, CVOptions{Learner: "knn-cascade", K: 5, Theta: DefaultTheta, Seed: 2, Folds: 4})
	if err != nil {
		t.Fatal(err)
	}
	f := one.Folds[0]
	pr, rc, f1, mf := one.Pool().PRF(pm, f.Rows)
	if m := f.Methods[0]; math.Abs(pr-*m.Precision) > 1e-9 || math.Abs(rc-*m.Recall) > 1e-9 ||
		math.Abs(f1-*m.F1) > 1e-9 || math.Abs(mf-*m.MacroF1) > 1e-9 {
		t.Errorf("pooled P/R/F1/macro F1 %v %v %v %v, the fold's %v %v %v %v", pr, rc, f1, mf, *m.Precision, *m.Recall, *m.F1, *m.MacroF1)
	}
	if *f.Methods[0].F1 != PaperF1(*f.Methods[0].Precision, *f.Methods[0].Recall) {
		t.Errorf("F1 %v is not 2PR/(P+R)", *f.Methods[0].F1)
	}
	// Seed 2 alone is the second seed of the repeated run.
	for k := range one.OutOfFold {
		if one.OutOfFold[k].Name == pm {
			for _, r := range cv.OutOfFold {
				if r.Name == pm && r.Seed == 2 {
					for i := range r.Choice {
						if r.Choice[i] != one.OutOfFold[k].Choice[i] {
							t.Fatalf("seed 2 alone and within the repeats differ on image %d", i)
						}
					}
				}
			}
		}
	}
	// Random equal folds: every image once per seed, folds of equal size.
	rf, err := CrossValidate(context.Background(), s, CVOptions{Learner: "knn", K: 5, Theta: DefaultTheta, Seed: 1, Folds: 4, RandomFolds: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rf.Folds {
		if f.Test != 60 {
			t.Errorf("random fold %d: %d images, want 60", f.Fold, f.Test)
		}
	}
	// N models are N, even where Algorithm 1's order stops short.
	all3, err := CrossValidate(context.Background(), s, CVOptions{Learner: "knn.knn.knn", K: 5, Seed: 1, Folds: 4, FirstN: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all3.Folds {
		if len(f.Candidates) != 3 {
			t.Errorf("fold %d: candidates %v, want 3", f.Fold, f.Candidates)
		}
	}
	// Costs drawn within their intervals; as measured without a generator.
	if c := p.DrawCosts(nil); c[0] != cv.CostMS[0] {
		t.Errorf("undrawn cost %v, measured %v", c[0], cv.CostMS[0])
	}
	d := p.DrawCosts(rand.New(rand.NewPCG(1, 2)))
	for j := range d {
		if lo, hi := cv.CostLowMS[j], cv.CostHighMS[j]; lo == hi && d[j] != cv.CostMS[j] {
			t.Errorf("model %d: an exact cost drawn to %v", j, d[j])
		}
	}
}
