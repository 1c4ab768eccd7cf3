package featsel

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat"

	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/selection"
)

// synthetic returns n rows with columns built by cols from one shared
// random source, and targets from target.
func synthetic(n int, seed uint64, names []string, gen func(rng *rand.Rand) ([]float64, int)) Table {
	rng := rand.New(rand.NewPCG(seed, 99))
	t := Table{Names: names, Classes: 3}
	for range n {
		x, y := gen(rng)
		t.X = append(t.X, x)
		t.Y = append(t.Y, y)
		t.Correct = append(t.Correct, correctFor(y, t.Classes))
	}
	return t
}

// correctFor is a correctness row for target y in which only the optimum
// model is right (none when y is None), so the premodel is right exactly
// when it names the optimum of an image some model gets right. Fallback 0
// is the cheapest model.
func correctFor(y, classes int) []bool {
	row := make([]bool, classes)
	for j := range row {
		row[j] = j == y
	}
	return row
}

// classOf turns an informative value in [0, 1) into one of 3 models or None.
func classOf(v float64) int {
	switch {
	case v < 0.25:
		return selection.None
	case v < 0.5:
		return 0
	case v < 0.75:
		return 1
	default:
		return 2
	}
}

func TestFilterKnownCorrelations(t *testing.T) {
	names := []string{"near_copy", "signal", "independent", "negated", "constant", "half_copy"}
	tab := synthetic(600, 1, names, func(rng *rand.Rand) ([]float64, int) {
		s := rng.Float64()
		ind := rng.Float64()
		return []float64{
			s + 0.03*rng.NormFloat64(),        // r ≈ 0.99 with signal
			s,                                 // decides the target
			ind,                               // unrelated
			-s + 0.05*rng.NormFloat64(),       // r ≈ -0.98
			3,                                 // constant
			0.5*s + 0.5*rng.Float64() + ind*0, // r ≈ 0.7: below the threshold
		}, classOf(s)
	})
	res, err := Filter(tab, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Kept, []string{"signal", "independent", "half_copy"}) {
		t.Fatalf("kept %v", res.Kept)
	}
	if res.Ranking[0].Name != "signal" {
		t.Errorf("ranking %v: the feature that decides the target must come first", res.Ranking)
	}
	cols := columnsOf(tab)
	removed := map[string]Removal{}
	for _, r := range res.Removed {
		removed[r.Removed] = r
	}
	for name, want := range map[string]float64{"near_copy": 0.99, "negated": -0.98} {
		r, ok := removed[name]
		if !ok || r.Kept != "signal" {
			t.Errorf("%s: removal %+v, want removed against signal", name, r)
			continue
		}
		i, j := slices.Index(names, name), slices.Index(names, "signal")
		if exact := stat.Correlation(cols[i], cols[j], nil); r.R != exact || math.Abs(r.R-want) > 0.02 {
			t.Errorf("%s: r = %v, stat.Correlation %v, want about %v", name, r.R, exact, want)
		}
	}
	if r := removed["constant"]; r.Kept != "" || !math.IsNaN(r.R) || !strings.Contains(r.Reason, "constant") {
		t.Errorf("constant feature: %+v", r)
	}
	hc := math.Abs(res.Matrix.R[1][5])
	if hc > 0.75 || hc < 0.5 {
		t.Errorf("half_copy |r| = %v, the test needs it in (0.5, 0.75]", hc)
	}
	// No two kept features are correlated above the threshold.
	for _, a := range res.Kept {
		for _, b := range res.Kept {
			i, j := slices.Index(names, a), slices.Index(names, b)
			if i != j && math.Abs(res.Matrix.R[i][j]) > 0.75 {
				t.Errorf("kept %s and %s with r = %v", a, b, res.Matrix.R[i][j])
			}
		}
	}
}

// TestFilterTiesKeepTableOrder: exact duplicates carry the same information,
// so the one listed first in Table 2 is kept.
func TestFilterTiesKeepTableOrder(t *testing.T) {
	tab := synthetic(200, 2, []string{"first", "second"}, func(rng *rand.Rand) ([]float64, int) {
		v := rng.Float64()
		return []float64{v, v}, classOf(v)
	})
	res, err := Filter(tab, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Kept, []string{"first"}) || res.Removed[0].Removed != "second" || res.Removed[0].R != 1 {
		t.Fatalf("kept %v removed %+v", res.Kept, res.Removed)
	}
	if _, err := Filter(tab, 0); err == nil {
		t.Error("threshold 0 accepted")
	}
}

func TestMutualInformation(t *testing.T) {
	x := make([]float64, 1000)
	y := make([]int, 1000)
	noise := make([]int, 1000)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range x {
		x[i] = float64(i) / 1000
		y[i] = i * 5 / 1000 // five equal classes decided by x, on bin edges
		noise[i] = rng.IntN(5)
	}
	if mi := MutualInformation(x, y, 10); math.Abs(mi-math.Log2(5)) > 1e-9 {
		t.Errorf("MI of a deciding feature = %v bits, want log2(5)", mi)
	}
	if mi := MutualInformation(x, noise, 10); mi > 0.05 {
		t.Errorf("MI with noise = %v bits, want about 0", mi)
	}
}

// informative returns a table where only "signal" predicts the target and
// four other features are noise.
func informative(n int, seed uint64) Table {
	names := []string{"noise1", "noise2", "signal", "noise3", "noise4"}
	return synthetic(n, seed, names, func(rng *rand.Rand) ([]float64, int) {
		s := rng.Float64()
		return []float64{rng.Float64(), rng.NormFloat64(), 10 * s, rng.Float64(), rng.ExpFloat64()}, classOf(s)
	})
}

func TestEliminationKeepsTheInformativeFeature(t *testing.T) {
	ctx := context.Background()
	tab := informative(400, 7)
	e, err := NewEvaluator(tab, CVOptions{Folds: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	el, err := Eliminate(ctx, e, tab.Names, DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(el.Kept, "signal") {
		t.Fatalf("kept %v lacks the informative feature (path %+v)", el.Kept, el.Path)
	}
	last := el.Path[len(el.Path)-1]
	if last.NFeatures != 1 || last.Features[0] != "signal" {
		t.Errorf("the last feature standing is %v", last.Features)
	}
	if len(el.Path) != len(tab.Names) {
		t.Errorf("path has %d steps, want %d (down to one feature)", len(el.Path), len(tab.Names))
	}
	if len(el.Kept) >= 3 {
		t.Errorf("kept %v: noise should have been eliminated", el.Kept)
	}
	// About a quarter of the images are None (no model right): the
	// premodel's accuracy is at most about 75%, its selection about 100%.
	if el.KeptAccuracy < 65 || el.Path[len(el.Path)-1].Selection < 85 || el.Baseline.Accuracy > 35 {
		t.Errorf("kept accuracy %.1f%%, last selection %.1f%%, baseline %+v", el.KeptAccuracy, el.Path[len(el.Path)-1].Selection, el.Baseline)
	}
	// The kept set is the smallest set within tolerance of the best.
	for _, s := range el.Path {
		if s.Holds != (s.Accuracy >= el.BestAccuracy-DefaultTolerance-eps) {
			t.Errorf("step to %d features: holds=%v at %.2f%% (best %.2f%%)", s.NFeatures, s.Holds, s.Accuracy, el.BestAccuracy)
		}
		if s.Holds && s.NFeatures < len(el.Kept) {
			t.Errorf("%d features hold, yet %d were kept", s.NFeatures, len(el.Kept))
		}
		if s.Accuracy > el.BestAccuracy {
			t.Errorf("best accuracy %.2f is below a step's %.2f", el.BestAccuracy, s.Accuracy)
		}
	}
	// Same seed, same answer.
	e2, _ := NewEvaluator(tab, CVOptions{Folds: 10, Seed: 1, Workers: 1})
	el2, err := Eliminate(ctx, e2, tab.Names, DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(el)
	b, _ := json.Marshal(el2)
	if string(a) != string(b) {
		t.Error("elimination is not deterministic across worker counts")
	}
}

func TestNormalise(t *testing.T) {
	got := Normalise([]float64{3, -1, 1, 0})
	if !slices.Equal(got, []float64{75, 0, 25, 0}) {
		t.Errorf("Normalise = %v", got)
	}
	if got := Normalise([]float64{-2, 0}); !slices.Equal(got, []float64{0, 0}) {
		t.Errorf("no positive drop: %v", got)
	}
}

// TestScalerSeesTrainingFoldOnly: a test row far outside the training
// range must be clipped, which only happens if the scaler did not see it.
func TestScalerSeesTrainingFoldOnly(t *testing.T) {
	tab := informative(100, 3)
	tab.X[0][2] = 1e6 // an outlier in row 0's fold
	e, err := NewEvaluator(tab, CVOptions{Folds: 5, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range e.splits {
		k := slices.Index(sp.test, 0)
		if k < 0 {
			continue
		}
		if v := sp.xte[k][2]; v != 1 {
			t.Errorf("outlier scaled to %v in its test fold, want clipped to 1", v)
		}
		for _, row := range sp.train {
			if row[2] < 0 || row[2] > 1 {
				t.Errorf("training value %v outside [0,1]", row[2])
			}
		}
		// Had the scaler seen the outlier, every other value would be ~0.
		if spread := maxCol(sp.train, 2); spread < 0.9 {
			t.Errorf("training column spans up to %v: the scaler saw the test fold", spread)
		}
	}
}

func maxCol(rows [][]float64, j int) float64 {
	m := 0.0
	for _, r := range rows {
		m = max(m, r[j])
	}
	return m
}

// constant is a premodel that always picks model 0 and counts its fits,
// to show Select takes any learners.Learner through the Factory.
type constant struct {
	*learners.KNN
	calls *int
}

func (c constant) Fit(learners.Data, int64) error { *c.calls++; return nil }
func (c constant) Predict([]float64) (learners.Decision, error) {
	return learners.Decision{Class: 0}, nil
}

func TestSelectUsesTheFactoryAndWritesRecords(t *testing.T) {
	ctx := context.Background()
	tab := informative(300, 11)
	tab.Names = []string{"noise1", "noise2", "signal", "noise3", "noise4"}
	// A copy of signal, to be removed by the filter.
	for i := range tab.X {
		tab.X[i] = append(tab.X[i], tab.X[i][2]*2+1)
	}
	tab.Names = append(tab.Names, "signal_copy")

	calls := 0
	o := DefaultOptions()
	o.CV.New = func() learners.Learner { return constant{learners.NewKNN(learners.Params{}), &calls} }
	if _, err := Select(ctx, tab, o); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Fatal("Select never used the factory's classifier")
	}

	o = DefaultOptions()
	var timed [][]string
	o.Time = func(sets [][]string) ([]float64, error) {
		timed = sets
		out := make([]float64, len(sets))
		for i, s := range sets {
			out[i] = float64(len(s)) / 10
		}
		return out, nil
	}
	r, err := Select(ctx, tab, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Filter.Removed) != 1 || r.Filter.Removed[0].Removed != "signal_copy" || r.Filter.Removed[0].Kept != "signal" {
		t.Errorf("filter removed %+v", r.Filter.Removed)
	}
	if len(r.Sweep) != len(r.Elimination.Path)+1+len(Table4Sets(r.Resampling)) || r.Sweep[0].NFeatures != 6 || r.Sweep[0].Stage != "all" ||
		len(timed) != len(r.Sweep) || *r.Sweep[1].ExtractMS != 0.5 {
		t.Errorf("sweep %+v", r.Sweep)
	}
	r.Manifest = Manifest{Command: "test", Criterion: profileview.Top1, Folds: 10, Seed: 1, Learner: "knn k=5"}
	r.Load = LoadInfo{Models: []string{"a", "b", "c"}, Cost: []float64{1, 2, 3}, TargetCounts: map[string]int{"a": 1}}
	// A constant feature's NaN must survive both formats.
	r.Filter.Removed = append(r.Filter.Removed, Removal{Removed: "flat", R: math.NaN(), Reason: "constant on every image"})
	dir := t.TempDir()
	if err := WriteRecords(dir, r); err != nil {
		t.Fatal(err)
	}
	var man Manifest
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil || json.Unmarshal(b, &man) != nil {
		t.Fatalf("manifest: %v", err)
	}
	for _, base := range []string{"correlation", "correlation_removed", "mi_ranking", "elimination_path",
		"kept_features", "importance", "filtered_importance", "frequency", "resamples", "sweep", "targets"} {
		for _, ext := range []string{".csv", ".json"} {
			if !slices.ContainsFunc(man.Files, func(f OutputFile) bool { return f.File == base+ext }) {
				t.Errorf("manifest lacks %s%s", base, ext)
			}
			if _, err := os.Stat(filepath.Join(dir, base+ext)); err != nil {
				t.Error(err)
			}
		}
	}
	f, _ := os.Open(filepath.Join(dir, "correlation_removed.csv"))
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 3 || recs[2][2] != "" || recs[1][1] != "signal" {
		t.Errorf("correlation_removed.csv %v %v", recs, err)
	}
	var rem []map[string]any
	b, _ = os.ReadFile(filepath.Join(dir, "correlation_removed.json"))
	if err := json.Unmarshal(b, &rem); err != nil || rem[1]["r"] != nil {
		t.Errorf("correlation_removed.json %s %v", b, err)
	}
	var imp []Importance
	b, _ = os.ReadFile(filepath.Join(dir, "importance.json"))
	if err := json.Unmarshal(b, &imp); err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, x := range imp {
		sum += x.Percent
	}
	if math.Abs(sum-100) > 1e-9 {
		t.Errorf("importance.json sums to %v", sum)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if !strings.Contains(string(md), "| signal_copy | signal |") || !strings.Contains(string(md), "Table 4 analogue") {
		t.Errorf("report.md:\n%s", md)
	}
}

// TestRepeatsAverageSplits: repeated CV is the mean of single runs on the
// seeds Seed, Seed+1, ...
func TestRepeatsAverageSplits(t *testing.T) {
	tab := informative(150, 5)
	names := []string{"signal", "noise1"}
	e3, err := NewEvaluator(tab, CVOptions{Folds: 5, Seed: 4, Repeats: 3})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e3.Accuracy(names)
	if err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for r := range int64(3) {
		e, _ := NewEvaluator(tab, CVOptions{Folds: 5, Seed: 4 + r})
		a, err := e.Accuracy(names)
		if err != nil {
			t.Fatal(err)
		}
		mean += a / 3
	}
	if math.Abs(got-mean) > 1e-9 || e3.Repeats() != 3 {
		t.Errorf("3 repeats: %v, mean of single runs %v", got, mean)
	}
}

// TestTable4IsWhatMostResamplesKeep: on a table where one feature decides
// the target, every resample keeps it and Table 4 is that feature alone;
// the summary's statistics come from the resamples.
func TestTable4IsWhatMostResamplesKeep(t *testing.T) {
	tab := informative(300, 21)
	o := DefaultOptions()
	o.Resample.Resamples = 8
	r, err := Select(context.Background(), tab, o)
	if err != nil {
		t.Fatal(err)
	}
	rs := r.Resampling
	if len(rs.Runs) != 8 || !slices.Equal(rs.Kept, []string{"signal"}) {
		t.Fatalf("%d runs, Table 4 %v, frequency %+v", len(rs.Runs), rs.Kept, rs.Frequency)
	}
	for _, f := range rs.Frequency {
		if (f.Feature == "signal") != (f.Share >= 0.5) || f.Kept != (f.Feature == "signal") {
			t.Errorf("frequency %+v", f)
		}
	}
	if len(rs.Frequency) != len(r.Filter.Kept) || len(r.FilteredImportance) != len(r.Filter.Kept) {
		t.Errorf("frequency over %d and Fig 12 over %d features, the filter left %d", len(rs.Frequency), len(r.FilteredImportance), len(r.Filter.Kept))
	}
	// Fig 12: the deciding feature has by far the largest drop and ranks first.
	if top := r.FilteredImportance[0]; top.Feature != "signal" || top.DropResampled.Lo < 20 || !top.Kept {
		t.Errorf("Fig 12 first %+v", top)
	}
	s := r.Summary
	if s.NKept.N != 8 || s.NKept.Lo < 1 || s.NKeptRule != 1 || !s.KeptAreMostImportant || s.DropAt.Median != 2 {
		t.Errorf("summary %+v", s)
	}
	if s.KeptAccuracy.Median < 60 || s.NoFeature.Median > 35 || s.KeptMinusAll.Lo < 0 || s.PeakN.Median < 1 {
		t.Errorf("summary accuracies %+v", s)
	}
	if s.TopFeature != "signal" || s.TopImportancePct.Median != 100 || s.MinKeptDrop.Median < 20 {
		t.Errorf("Fig 7 summary %+v", s)
	}
	// The same options give the same report.
	r2, err := Select(context.Background(), tab, o)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(r)
	b, _ := json.Marshal(r2)
	if string(a) != string(b) {
		t.Error("Select is not deterministic")
	}
}

// TestResampleFoldsKeepCopiesTogether: an image drawn twice is tested in
// one fold and never trains the premodel that answers it.
func TestResampleFoldsKeepCopiesTogether(t *testing.T) {
	tab := informative(120, 4)
	sample := draw(len(tab.X), 3, 0)
	if distinct(sample) == len(sample) {
		t.Fatal("the draw repeated no image")
	}
	e, err := newEvaluator(tab, sample, CVOptions{Folds: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, sp := range e.splits {
		test := map[int]bool{}
		for _, pos := range sp.test {
			test[sample[pos]] = true
		}
		seen += len(sp.test)
		if len(sp.train)+len(sp.test) != len(sample) {
			t.Errorf("fold %d: %d train + %d test of %d", sp.idx, len(sp.train), len(sp.test), len(sample))
		}
		for pos, row := range sample {
			if test[row] && !slices.Contains(sp.test, pos) {
				t.Errorf("fold %d: image %d is tested but one of its copies trains", sp.idx, row)
			}
		}
	}
	if seen != len(sample) {
		t.Errorf("%d test positions over the folds, want %d", seen, len(sample))
	}
	// The identity sample is the plain evaluator.
	rows := make([]int, len(tab.X))
	for i := range rows {
		rows[i] = i
	}
	a, _ := newEvaluator(tab, rows, CVOptions{Folds: 5, Seed: 1})
	b, _ := NewEvaluator(tab, CVOptions{Folds: 5, Seed: 1})
	sa, _ := a.Score(tab.Names)
	sb, _ := b.Score(tab.Names)
	if sa != sb {
		t.Errorf("identity sample %+v, plain %+v", sa, sb)
	}
}

// never is a premodel that always says none.
type never struct{ *learners.KNN }

func (never) Fit(learners.Data, int64) error { return nil }
func (never) Predict([]float64) (learners.Decision, error) {
	return learners.Decision{Class: selection.None}, nil
}

// TestNoneRunsTheFallback: the premodel's accuracy counts an image it
// sends to none as the fallback model's answer, as premodel.Train's
// default fallback does; its selection accuracy counts none as a class.
func TestNoneRunsTheFallback(t *testing.T) {
	tab := Table{Names: []string{"f"}, Classes: 2, Fallback: 1}
	for i := range 40 {
		tab.X = append(tab.X, []float64{float64(i)})
		switch {
		case i < 10: // only model 1 (the fallback) is right
			tab.Y, tab.Correct = append(tab.Y, 1), append(tab.Correct, []bool{false, true})
		case i < 30: // model 0 is the optimum; the fallback is right too
			tab.Y, tab.Correct = append(tab.Y, 0), append(tab.Correct, []bool{true, true})
		default: // no model is right
			tab.Y, tab.Correct = append(tab.Y, selection.None), append(tab.Correct, []bool{false, false})
		}
	}
	e, err := NewEvaluator(tab, CVOptions{Folds: 4, Seed: 1, New: func() learners.Learner { return never{} }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.Score([]string{"f"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Accuracy != 75 || s.Selection != 25 {
		t.Errorf("score %+v, want accuracy 75 (the fallback's) and selection 25 (the None images)", s)
	}
	bad := tab
	bad.Fallback = 2
	if _, err := NewEvaluator(bad, CVOptions{Folds: 4}); err == nil {
		t.Error("a fallback outside the models was accepted")
	}
}

func TestDropAtAndMostImportant(t *testing.T) {
	if got := dropAt([]float64{1, 9, 8, 0.5, 7}); got != 4 {
		t.Errorf("dropAt = %v, want 4 (9 8 7 | 1 0.5)", got)
	}
	if got := dropAt([]float64{3}); !math.IsNaN(got) {
		t.Errorf("dropAt of one = %v", got)
	}
	if !mostImportant([]float64{5, 1, 5}, []bool{true, false, true}) || mostImportant([]float64{5, 6}, []bool{true, false}) {
		t.Error("mostImportant")
	}
	s := SpreadOf([]float64{4, math.NaN(), 1, 3, 2})
	if s.N != 4 || s.Median != 2.5 || s.Lo != 1+0.025*3 || s.Hi != 4-0.025*3 {
		t.Errorf("SpreadOf = %+v", s)
	}
	run := ResampleRun{Path: []PathPoint{{NFeatures: 3, Accuracy: 60}, {NFeatures: 2, Accuracy: 58}, {NFeatures: 1, Accuracy: 55}},
		None: Score{Accuracy: 50}}
	if pathAt(run, 3)-pathAt(run, 1) != 5 || pathAt(run, 2)-pathAt(run, 0) != 8 || !math.IsNaN(pathAt(run, 7)) {
		t.Error("pathAt")
	}
	if z := SpreadOf([]float64{math.NaN()}); z != (Spread{}) {
		t.Errorf("SpreadOf(NaN) = %+v", z)
	}
}

// TestInformation: the feature that decides the target carries far more
// than its permutation baseline; noise does not; MutualInformation and
// Information agree.
func TestInformation(t *testing.T) {
	tab := informative(600, 9)
	info, h, err := Information(tab, 10, 100, 3)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(h-2) > 0.05 {
		t.Errorf("entropy of four near-equal classes = %v bits", h)
	}
	if info[0].Feature != "signal" || info[0].P > 0.011 || info[0].Excess < 1.5 || info[0].MI > h {
		t.Errorf("first %+v", info[0])
	}
	for _, x := range info[1:] {
		if x.Excess > 0.05 || x.MI < x.NullMean-0.05 {
			t.Errorf("noise %+v", x)
		}
		if x.NullHi < x.NullMean {
			t.Errorf("%s: 95th percentile %v below the mean %v", x.Feature, x.NullHi, x.NullMean)
		}
	}
	col := make([]float64, len(tab.X))
	for i, row := range tab.X {
		col[i] = row[2]
	}
	if mi := MutualInformation(col, tab.Y, 10); mi != info[0].MI {
		t.Errorf("MutualInformation %v, Information %v", mi, info[0].MI)
	}
	again, _, _ := Information(tab, 10, 100, 3)
	if !slices.Equal(again, info) {
		t.Error("same seed, another result")
	}
	if _, _, err := Information(tab, 1, 100, 3); err == nil {
		t.Error("one bin accepted")
	}
}
