package premodel

import (
	"context"
	"testing"

	"github.com/modelpick/modelpick/internal/premodeltest"
	"github.com/modelpick/modelpick/profileview"
)

// TestCrossValidateTrainSize: a learning curve's point trains each fold on
// TrainSize of its training rows, tests on the whole fold, and draws the
// subset from the seed.
func TestCrossValidateTrainSize(t *testing.T) {
	path, _ := premodeltest.MakeStore(t, t.TempDir(), premodeltest.World{N: 300, Seed: 3, Dataset: "train"})
	s := premodeltest.LoadSet(t, path, profileview.Top1)
	o := CVOptions{Learner: "knn-cascade", K: 5, Theta: DefaultTheta, Seed: 2, Folds: 5, TrainSize: 40}
	cv, err := CrossValidate(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, f := range cv.Folds {
		if f.Train != 40 {
			t.Errorf("fold %d trained on %d rows, want 40", f.Fold, f.Train)
		}
		tested += f.Test
	}
	if tested != 300 {
		t.Errorf("%d images tested, want every one of 300", tested)
	}
	again, err := CrossValidate(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cv.Folds {
		if cv.Folds[i].SelectionAcc != again.Folds[i].SelectionAcc || cv.Folds[i].Methods[0].Top1 != again.Folds[i].Methods[0].Top1 {
			t.Errorf("fold %d: same seed, different result", i)
		}
	}
	o.TrainSize = 0
	full, err := CrossValidate(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	if full.Folds[0].Train != 240 {
		t.Errorf("TrainSize 0 trained on %d rows, want all 240", full.Folds[0].Train)
	}
}
