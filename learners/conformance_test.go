package learners_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelpick/modelpick/learners"
)

const (
	blobClasses  = 3
	blobFeatures = 7
)

// blobs returns rows drawn from 4 well separated Gaussian blobs in the unit
// cube, one per class and one for None, with each row's true class.
func blobs(n int, seed uint64) learners.Data {
	centres := rand.New(rand.NewPCG(42, 42)) // the same centres for every seed
	c := make([][]float64, blobClasses+1)
	for k := range c {
		c[k] = make([]float64, blobFeatures)
		for j := range c[k] {
			c[k][j] = 0.15 + 0.7*centres.Float64()
		}
	}
	r := rand.New(rand.NewPCG(seed, 7))
	d := learners.Data{Classes: blobClasses}
	for i := range n {
		k := i % (blobClasses + 1)
		row := make([]float64, blobFeatures)
		for j := range row {
			row[j] = c[k][j] + 0.04*r.NormFloat64()
		}
		d.X = append(d.X, row)
		y := k
		if k == blobClasses {
			y = learners.None
		}
		d.Y = append(d.Y, y)
	}
	return d
}

type conformanceCase struct {
	name string
	p    learners.Params
}

// conformanceCases is every registered learner with default settings, the
// SVM with probabilities, and hierarchies mixing all level kinds.
func conformanceCases() []conformanceCase {
	var cs []conformanceCase
	for _, n := range learners.Names() {
		cs = append(cs, conformanceCase{n, learners.Params{}})
	}
	cs = append(cs,
		conformanceCase{"svm", learners.Params{Probability: true}},
		conformanceCase{"knn-cascade", learners.Params{Order: []int{2, 0, 1}}},
		conformanceCase{"knn.svm.dt", learners.Params{}},
		conformanceCase{"dt.knn.svm", learners.Params{Order: []int{1, 2, 0}}},
	)
	return cs
}

func TestConformance(t *testing.T) {
	train, test := blobs(400, 1), blobs(200, 2)
	for _, tc := range conformanceCases() {
		t.Run(tc.name+paramTag(tc.p), func(t *testing.T) {
			t.Parallel()
			fit := func() learners.Learner {
				l, err := learners.New(tc.name, tc.p)
				if err != nil {
					t.Fatal(err)
				}
				if l.Name() != tc.name {
					t.Fatalf("Name() = %q, want %q", l.Name(), tc.name)
				}
				if err := l.Fit(train, 11); err != nil {
					t.Fatalf("Fit: %v", err)
				}
				return l
			}
			l := fit()
			decisions := predictAll(t, l, test.X)

			right := 0
			for i, d := range decisions {
				if d.Class < learners.None || d.Class >= blobClasses {
					t.Fatalf("row %d: class %d outside -1..%d", i, d.Class, blobClasses-1)
				}
				if len(d.Scores) != blobClasses {
					t.Fatalf("row %d: %d scores for %d classes", i, len(d.Scores), blobClasses)
				}
				for _, s := range d.Scores {
					if !(s >= 0 && s <= 1) {
						t.Fatalf("row %d: score %v outside [0,1]", i, s)
					}
				}
				if !(d.MeanDist >= 0 || d.MeanDist == -1) {
					t.Fatalf("row %d: MeanDist %v", i, d.MeanDist)
				}
				if d.Class == test.Y[i] {
					right++
				}
			}
			// Blobs 0.04 wide with centres about 0.8 apart: any sensible
			// learner is nearly perfect.
			if acc := float64(right) / float64(len(test.X)); acc < 0.95 {
				t.Errorf("accuracy %.3f on separable blobs, want >= 0.95", acc)
			}

			// Safe for concurrent use: the same answers from parallel calls.
			var wg sync.WaitGroup
			parallel := make([][]learners.Decision, 4)
			for g := range parallel {
				wg.Go(func() {
					out := make([]learners.Decision, len(test.X))
					for i, row := range test.X {
						out[i], _ = l.Predict(row)
					}
					parallel[g] = out
				})
			}
			wg.Wait()
			for _, got := range parallel {
				if !sameDecisions(decisions, got) {
					t.Fatal("concurrent Predict calls disagree with sequential ones")
				}
			}

			// Deterministic under a seed.
			if again := predictAll(t, fit(), test.X); !sameDecisions(decisions, again) {
				t.Error("two fits with the same seed predict differently")
			}

			// Save and load, through New+UnmarshalBinary and through Load.
			b, err := l.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			fresh, err := learners.New(tc.name, learners.Params{})
			if err != nil {
				t.Fatal(err)
			}
			if err := fresh.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if got := predictAll(t, fresh, test.X); !sameDecisions(decisions, got) {
				t.Error("predictions changed after MarshalBinary/UnmarshalBinary")
			}
			loaded, err := learners.Load(b)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if loaded.Name() != tc.name {
				t.Errorf("Load gave %q", loaded.Name())
			}
			if got := predictAll(t, loaded, test.X); !sameDecisions(decisions, got) {
				t.Error("predictions changed after Load")
			}
			if b2, err := loaded.MarshalBinary(); err != nil || !slices.Equal(b, b2) {
				t.Errorf("re-encoding a loaded learner changed its bytes (err %v)", err)
			}

			checkRejects(t, tc, train)
		})
	}
}

func checkRejects(t *testing.T, tc conformanceCase, train learners.Data) {
	t.Helper()
	nan := cloneData(train)
	nan.X[5][3] = math.NaN()
	inf := cloneData(train)
	inf.X[0][0] = math.Inf(-1)
	ragged := cloneData(train)
	ragged.X[7] = ragged.X[7][:3]
	badClass := cloneData(train)
	badClass.Y[2] = blobClasses
	for _, bad := range []struct {
		what string
		d    learners.Data
		err  error
		msg  string
	}{
		{"empty", learners.Data{Classes: blobClasses}, learners.ErrEmpty, "no rows"},
		{"lengths", learners.Data{X: train.X, Y: train.Y[:10], Classes: blobClasses}, learners.ErrLength, "400 feature rows but 10 labels"},
		{"NaN", nan, learners.ErrFeature, "row 5: feature 3 is NaN"},
		{"Inf", inf, learners.ErrFeature, "row 0: feature 0 is -Inf"},
		{"ragged", ragged, learners.ErrLength, "row 7 has 3 features"},
		{"class", badClass, learners.ErrLabel, "row 2 has class 3"},
		{"no classes", learners.Data{X: train.X, Y: train.Y}, learners.ErrLabel, "0 classes"},
	} {
		l, _ := learners.New(tc.name, tc.p)
		err := l.Fit(bad.d, 1)
		if !errors.Is(err, bad.err) || !strings.Contains(err.Error(), bad.msg) || !strings.HasPrefix(err.Error(), tc.name+": fit") {
			t.Errorf("Fit on %s data: error %v, want %v mentioning %q, prefixed %q", bad.what, err, bad.err, bad.msg, tc.name+": fit")
		}
	}

	l, _ := learners.New(tc.name, tc.p)
	if _, err := l.Predict(train.X[0]); !errors.Is(err, learners.ErrNotFitted) {
		t.Errorf("Predict before Fit: %v, want ErrNotFitted", err)
	}
	if _, err := l.MarshalBinary(); !errors.Is(err, learners.ErrNotFitted) {
		t.Errorf("MarshalBinary before Fit: %v, want ErrNotFitted", err)
	}
	if err := l.Fit(train, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Predict(train.X[0][:5]); !errors.Is(err, learners.ErrLength) {
		t.Errorf("Predict on 5 features: %v, want ErrLength", err)
	}
	x := slices.Clone(train.X[0])
	x[1] = math.NaN()
	if _, err := l.Predict(x); !errors.Is(err, learners.ErrFeature) {
		t.Errorf("Predict on NaN: %v, want ErrFeature", err)
	}
	if err := l.UnmarshalBinary([]byte("not a learner")); !errors.Is(err, learners.ErrBadEncoded) {
		t.Errorf("UnmarshalBinary of junk: %v, want ErrBadEncoded", err)
	}
	other := "dt"
	if tc.name == "dt" {
		other = "knn"
	}
	o, _ := learners.New(other, learners.Params{})
	if err := o.Fit(train, 1); err != nil {
		t.Fatal(err)
	}
	ob, _ := o.MarshalBinary()
	if err := l.UnmarshalBinary(ob); !errors.Is(err, learners.ErrBadEncoded) {
		t.Errorf("UnmarshalBinary of a %s: %v, want ErrBadEncoded", other, err)
	}
}

func predictAll(t *testing.T, l learners.Learner, x [][]float64) []learners.Decision {
	t.Helper()
	out := make([]learners.Decision, len(x))
	for i, row := range x {
		d, err := l.Predict(row)
		if err != nil {
			t.Fatalf("Predict row %d: %v", i, err)
		}
		out[i] = d
	}
	return out
}

// sameDecisions compares decisions bit for bit.
func sameDecisions(a, b []learners.Decision) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Class != b[i].Class || math.Float64bits(a[i].MeanDist) != math.Float64bits(b[i].MeanDist) ||
			len(a[i].Scores) != len(b[i].Scores) {
			return false
		}
		for j := range a[i].Scores {
			if math.Float64bits(a[i].Scores[j]) != math.Float64bits(b[i].Scores[j]) {
				return false
			}
		}
	}
	return true
}

func cloneData(d learners.Data) learners.Data {
	out := learners.Data{Y: slices.Clone(d.Y), Classes: d.Classes}
	for _, row := range d.X {
		out.X = append(out.X, slices.Clone(row))
	}
	return out
}

func paramTag(p learners.Params) string {
	var tags []string
	if p.Probability {
		tags = append(tags, "prob")
	}
	if p.Order != nil {
		tags = append(tags, "order")
	}
	if len(tags) == 0 {
		return ""
	}
	return "/" + strings.Join(tags, "-")
}

func TestNewUnknown(t *testing.T) {
	for _, name := range []string{"", "cnn.dt", "knn.cnn", "knn-cascade.dt", "knn..dt"} {
		if _, err := learners.New(name, learners.Params{}); err == nil {
			t.Errorf("New(%q) succeeded", name)
		}
	}
	if _, err := learners.Load([]byte{1, 2, 3}); !errors.Is(err, learners.ErrBadEncoded) {
		t.Errorf("Load of junk: %v", err)
	}
}

func TestHierarchyLevelCount(t *testing.T) {
	l, err := learners.New("knn.dt", learners.Params{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Fit(blobs(40, 1), 1); !errors.Is(err, learners.ErrLabel) || !strings.Contains(err.Error(), "2 levels") {
		t.Errorf("2 levels for 3 classes: %v", err)
	}
	l, _ = learners.New("knn.dt", learners.Params{Order: []int{2, 0}})
	if err := l.Fit(blobs(40, 1), 1); err != nil {
		t.Errorf("2 levels with an order of 2 classes: %v", err)
	}
	for _, order := range [][]int{{}, {0, 0}, {0, 3}, {-1, 1}} {
		l, _ := learners.New("knn-cascade", learners.Params{Order: order})
		if err := l.Fit(blobs(40, 1), 1); !errors.Is(err, learners.ErrLabel) {
			t.Errorf("order %v: %v, want ErrLabel", order, err)
		}
	}
}
