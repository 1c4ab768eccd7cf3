package stages

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/selection"
	"github.com/modelpick/modelpick/store"
)

// PremodelCVIn is the input of the premodel's k-fold cross-validation.
type PremodelCVIn struct {
	Store   pipeline.File `json:"store"`
	Dataset string        `json:"dataset"`
	// Images is the set's folder: the premodel's feature extraction is
	// timed on the test images' files (nil: not timed).
	Images    *pipeline.File `json:"images,omitempty"`
	Criterion Criterion      `json:"criterion"`
	// Names and ConfigKey are the premodel's inputs (the kept features).
	Names     []string `json:"names"`
	ConfigKey string   `json:"config_key"`
	Learner   string   `json:"learner"`
	K         int      `json:"k"`
	Theta     float64  `json:"theta_pp"`
	Folds     int      `json:"folds"`
	Seed      int64    `json:"seed"`
	// FirstN, when set, fixes the candidates to the first FirstN models of
	// Algorithm 1's full order (theta 0) on each training fold, instead of
	// the models Algorithm 1 keeps under Theta.
	FirstN int `json:"first_n,omitempty"`
	// Baselines adds the max-softmax cascade (one shared threshold) and
	// random routing, both at the premodel's mean latency on the fold.
	Baselines bool `json:"baselines"`
	// Platform names the machine the overhead is timed on.
	Platform string `json:"platform"`
	// Backbone, when set, makes this a CNN premodel: Names and ConfigKey
	// are the backbone's stored embedding (the Embedding stage), and its
	// overhead is the backbone's cost from the store's costs table.
	Backbone *premodel.Backbone `json:"backbone,omitempty"`
}

// FoldMethod is one method's outcome on one test fold.
type FoldMethod struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // premodel, single, oracle, baseline
	// Accuracies in percent of the fold's test images.
	Top1 float64 `json:"top1_pct"`
	Top5 float64 `json:"top5_pct"`
	// Latency per image: model(s) plus, for the premodel, its measured
	// features and decision time.
	MeanMS     float64 `json:"mean_ms"`
	P95MS      float64 `json:"p95_ms"`
	ModelMS    float64 `json:"model_mean_ms"`
	OverheadMS float64 `json:"overhead_mean_ms"`
	// Precision, Recall and F1 of the classification itself, macro
	// averaged over the classes present in the fold (truth or prediction);
	// nil for methods whose per-image answers are not known.
	Precision *float64           `json:"precision_pct"`
	Recall    *float64           `json:"recall_pct"`
	F1        *float64           `json:"f1_pct"`
	Share     map[string]float64 `json:"share_pct"`
	// Runs is the mean number of models run per image (cascades).
	Runs float64 `json:"runs_per_image,omitempty"`
}

// PremodelFold is one fold's evaluation.
type PremodelFold struct {
	Fold       int      `json:"fold"`
	Train      int      `json:"train_images"`
	Test       int      `json:"test_images"`
	Candidates []string `json:"candidates"`
	// SelectionAcc is the share of test images whose optimum candidate
	// (or none) the premodel named.
	SelectionAcc float64            `json:"selection_accuracy_pct"`
	Overhead     premodel.Overhead  `json:"overhead"`
	Methods      []FoldMethod       `json:"methods"`
	Baselines    []FoldMethod       `json:"baselines,omitempty"`
	Targets      map[string]float64 `json:"test_target_share_pct"`
}

// PremodelCVOut is the cross-validation's outcome, fold by fold.
type PremodelCVOut struct {
	Images       int            `json:"images"`
	Excluded     map[string]int `json:"excluded"`
	Models       []string       `json:"models"`
	CostMS       []float64      `json:"cost_ms"`
	CostThreads  int            `json:"cost_threads"`
	EnergyStatus string         `json:"energy_status"`
	Folds        []PremodelFold `json:"folds"`
}

// premodelCVVersion 2: precision, recall and F1 summed in class order.
const premodelCVVersion = "2"

// PremodelCV trains the premodel on k-1 folds and evaluates it on the
// k-th (premodel.Train, premodel.Evaluate), stratified by each image's
// optimum model; every fold also gives every single model, the oracles
// and, when asked, the baselines on the same test images.
func PremodelCV() pipeline.Stage[PremodelCVIn, PremodelCVOut] {
	return pipeline.Stage[PremodelCVIn, PremodelCVOut]{
		Name: "premodel-cv", Version: premodelCVVersion,
		Code: []string{"features " + features.Version, opencvVersion(), goVersion()},
		// The premodel's overhead is timed here, and the baselines are
		// matched to the latency it makes.
		Volatile: []string{"folds[*].overhead", "folds[*].methods[*].mean_ms", "folds[*].methods[*].p95_ms",
			"folds[*].methods[*].overhead_mean_ms", "folds[*].baselines"},
		Run: func(ctx context.Context, w *pipeline.Work, in PremodelCVIn) (PremodelCVOut, error) {
			return premodelCV(ctx, in)
		},
	}
}

func premodelCV(ctx context.Context, in PremodelCVIn) (PremodelCVOut, error) {
	var out PremodelCVOut
	st, err := store.Open(in.Store.Path)
	if err != nil {
		return out, err
	}
	defer st.Close()
	set, err := premodel.Load(ctx, st, premodel.SetOptions{ProfileOptions: premodel.ProfileOptions{
		Criterion: premodel.Criterion(in.Criterion), Datasets: []string{in.Dataset}}, Names: in.Names, ConfigKey: in.ConfigKey})
	if err != nil {
		return out, err
	}
	out.Images, out.Excluded, out.Models, out.CostMS, out.CostThreads = len(set.X), set.Excluded, set.Models, set.Cost, set.CostThreads
	out.EnergyStatus, err = energyStatus(ctx, st)
	if err != nil {
		return out, err
	}
	pred, err := predictedClasses(ctx, st, in.Dataset)
	if err != nil {
		return out, err
	}
	targets, err := set.Targets()
	if err != nil {
		return out, err
	}
	folds, err := datasets.StratifiedKFold(targets, in.Folds, in.Seed)
	if err != nil {
		return out, err
	}
	var bp baselines.Profile
	var bIndex map[string]int
	if in.Baselines {
		if bp, err = baselines.LoadProfile(ctx, st, baselines.LoadOptions{Criterion: in.Criterion, Datasets: []string{in.Dataset}}); err != nil {
			return out, err
		}
		bIndex = map[string]int{}
		for i, im := range bp.Images {
			bIndex[im.File] = i
		}
	}
	var image func(premodel.Item) ([]byte, error)
	if in.Images != nil {
		image = func(it premodel.Item) ([]byte, error) {
			return os.ReadFile(filepath.Join(in.Images.Path, filepath.FromSlash(it.File)))
		}
	}
	for f := range folds {
		trainIdx, testIdx := datasets.TrainIndices(folds, f), folds[f]
		train, test := subsetSet(set, trainIdx), subsetSet(set, testIdx)
		o := premodel.Options{Learner: in.Learner, Params: learners.Params{K: in.K}, Theta: in.Theta, Seed: in.Seed}
		if in.FirstN > 0 {
			tr, err := selection.SelectModels(train.Correct(), train.Cost, 0)
			if err != nil {
				return out, err
			}
			n := min(in.FirstN, len(tr.Chosen))
			for _, j := range tr.Chosen[:n] {
				o.Candidates = append(o.Candidates, train.Models[j])
			}
		}
		p, err := premodel.Train(train, o)
		if err != nil {
			return out, fmt.Errorf("fold %d: %w", f, err)
		}
		if in.Backbone != nil {
			bb := *in.Backbone
			p.Backbone = &bb
		}
		rep, err := premodel.Evaluate(ctx, p, test, premodel.EvalOptions{Image: image})
		if err != nil {
			return out, fmt.Errorf("fold %d: %w", f, err)
		}
		fold := PremodelFold{Fold: f, Train: len(trainIdx), Test: len(testIdx), Candidates: p.Candidates,
			SelectionAcc: rep.SelectionAccuracy, Overhead: rep.Overhead, Targets: targetShares(test, p.Candidates)}
		choices := methodChoices(test, p, rep)
		for _, m := range rep.Methods {
			if m.Kind == "premodel" && m.Name != "premodel "+p.LearnerName {
				continue // the escalation variant: not part of the paper's comparison
			}
			fm := FoldMethod{Name: m.Name, Kind: m.Kind, Top1: m.Top1, Top5: m.Top5, MeanMS: m.MeanMS, P95MS: m.P95MS,
				ModelMS: m.ModelMS, OverheadMS: m.OverheadMS, Share: m.Share}
			if ch, ok := choices[m.Name]; ok {
				fm.Precision, fm.Recall, fm.F1 = prf(test, ch, pred)
			}
			fold.Methods = append(fold.Methods, fm)
		}
		if in.Baselines {
			own := fold.Methods[0]
			bs, err := foldBaselines(bp, bIndex, test, train, p.Candidates, own.MeanMS, uint64(in.Seed)+uint64(f))
			if err != nil {
				return out, fmt.Errorf("fold %d: %w", f, err)
			}
			fold.Baselines = bs
		}
		out.Folds = append(out.Folds, fold)
	}
	return out, nil
}

// subsetSet keeps rows idx of s.
func subsetSet(s *premodel.Set, idx []int) *premodel.Set {
	p := *s.Profile
	p.Items, p.Correct1, p.Correct5 = nil, nil, nil
	x := make([][]float64, 0, len(idx))
	for _, i := range idx {
		p.Items = append(p.Items, s.Items[i])
		p.Correct1 = append(p.Correct1, s.Correct1[i])
		p.Correct5 = append(p.Correct5, s.Correct5[i])
		x = append(x, s.X[i])
	}
	return &premodel.Set{Profile: &p, Names: s.Names, ConfigKey: s.ConfigKey, X: x}
}

// methodChoices rebuilds, per method Evaluate reports, the model each test
// image ran ("" for none), so precision and recall can be computed: the
// premodel's from its records, a single model's trivially, the oracles'
// by their rule (the cheapest correct model, else the cheapest model).
func methodChoices(test *premodel.Set, p *premodel.Premodel, rep premodel.Report) map[string][]string {
	n := len(test.Items)
	out := map[string][]string{}
	own := make([]string, n)
	for i, r := range rep.Records {
		if r.Chosen != "none" {
			own[i] = r.Chosen
		}
	}
	out["premodel "+p.LearnerName] = own
	for _, m := range test.Models {
		c := make([]string, n)
		for i := range c {
			c[i] = m
		}
		out[m] = c
	}
	oracle := func(cols []int) []string {
		c := make([]string, n)
		cheapest := cols[0]
		for _, j := range cols {
			if test.Cost[j] < test.Cost[cheapest] {
				cheapest = j
			}
		}
		correct := test.Correct()
		for i := range c {
			best := -1
			for _, j := range cols {
				if correct[i][j] && (best < 0 || test.Cost[j] < test.Cost[best]) {
					best = j
				}
			}
			if best < 0 {
				best = cheapest
			}
			c[i] = test.Models[best]
		}
		return c
	}
	all := make([]int, len(test.Models))
	for j := range all {
		all[j] = j
	}
	out["oracle (all models)"] = oracle(all)
	var cand []int
	for _, m := range p.Candidates {
		cand = append(cand, test.ModelIndex(m))
	}
	out["oracle (candidates)"] = oracle(cand)
	return out
}

// prf is the macro precision, recall and F1 (percent) of the top-1 classes
// the chosen models predict, over the classes in the fold's truth or
// predictions; an image with no prediction counts against recall only.
func prf(test *premodel.Set, chosen []string, pred map[[2]string]int) (*float64, *float64, *float64) {
	tp, fp, fn := map[int]int{}, map[int]int{}, map[int]int{}
	classes := map[int]bool{}
	for i, it := range test.Items {
		classes[it.Label] = true
		c := -1
		if chosen[i] != "" {
			c = pred[[2]string{it.File, chosen[i]}]
		}
		switch {
		case c == it.Label:
			tp[c]++
		case c < 0:
			fn[it.Label]++
		default:
			classes[c] = true
			fp[c]++
			fn[it.Label]++
		}
	}
	// Sum in class order: map order would change the last bits (verify
	// caught it).
	order := make([]int, 0, len(classes))
	for c := range classes {
		order = append(order, c)
	}
	slices.Sort(order)
	var p, r, f float64
	for _, c := range order {
		var pc, rc float64
		if tp[c]+fp[c] > 0 {
			pc = float64(tp[c]) / float64(tp[c]+fp[c])
		}
		if tp[c]+fn[c] > 0 {
			rc = float64(tp[c]) / float64(tp[c]+fn[c])
		}
		p, r = p+pc, r+rc
		if pc+rc > 0 {
			f += 2 * pc * rc / (pc + rc)
		}
	}
	n := float64(len(classes))
	pp, rr, ff := 100*p/n, 100*r/n, 100*f/n
	return &pp, &rr, &ff
}

// predictedClasses maps (file, model) to the model's top-1 class.
func predictedClasses(ctx context.Context, st *store.Store, dataset string) (map[[2]string]int, error) {
	preds, err := st.Predictions(ctx, dataset)
	if err != nil {
		return nil, err
	}
	out := make(map[[2]string]int, len(preds))
	for _, p := range preds {
		c := -1
		if len(p.Top5Idx) > 0 {
			c = p.Top5Idx[0]
		}
		out[[2]string{p.File, p.Model}] = c
	}
	return out, nil
}

// energyStatus summarises the costs' energy: measured, or why not.
func energyStatus(ctx context.Context, st *store.Store) (string, error) {
	costs, err := st.Costs(ctx)
	if err != nil {
		return "", err
	}
	var status []string
	for _, c := range costs {
		if c.EnergyJ == nil && !slices.Contains(status, c.EnergyStatus) {
			status = append(status, c.EnergyStatus)
		}
	}
	if len(status) == 0 {
		return "measured", nil
	}
	return strings.Join(status, "; "), nil
}

// targetShares is the share of test images whose optimum candidate is each
// candidate, or none.
func targetShares(test *premodel.Set, cands []string) map[string]float64 {
	var cols []int
	for _, m := range cands {
		cols = append(cols, test.ModelIndex(m))
	}
	sub, cost, err := selection.Subset(test.Correct(), test.Cost, cols)
	if err != nil {
		return nil
	}
	y, err := selection.Targets(sub, cost)
	if err != nil {
		return nil
	}
	out := map[string]float64{}
	for _, t := range y {
		name := "none"
		if t >= 0 {
			name = cands[t]
		}
		out[name] += 100 / float64(len(y))
	}
	return out
}

// foldBaselines evaluates the max-softmax cascade over the candidates
// (cost order, one shared threshold calibrated on the training fold for a
// mean latency of at most budgetMS) and random routing between the two
// candidates bracketing budgetMS, on the test fold.
func foldBaselines(bp baselines.Profile, index map[string]int, test, train *premodel.Set, cands []string, budgetMS float64, seed uint64) ([]FoldMethod, error) {
	keep := func(s *premodel.Set) (baselines.Profile, error) {
		k := make([]bool, len(bp.Images))
		for _, it := range s.Items {
			i, ok := index[it.File]
			if !ok {
				return baselines.Profile{}, fmt.Errorf("baselines: image %s is not in the profile", it.File)
			}
			k[i] = true
		}
		return bp.Keep(k), nil
	}
	tr, err := keep(train)
	if err != nil {
		return nil, err
	}
	te, err := keep(test)
	if err != nil {
		return nil, err
	}
	var levels []int
	for _, m := range cands {
		j, err := tr.ModelIndex(m)
		if err != nil {
			return nil, err
		}
		levels = append(levels, j)
	}
	levels = tr.ByCost(levels)
	var out []FoldMethod
	conv := func(name string, r baselines.Result) FoldMethod {
		return FoldMethod{Name: name, Kind: "baseline", Top1: r.Accuracy, MeanMS: r.MeanMS, P95MS: r.P95MS, ModelMS: r.MeanMS,
			Share: r.Share, Runs: r.Runs}
	}
	if len(levels) > 1 {
		c, _, err := baselines.CalibrateCascade(tr, levels, baselines.RuleShared, baselines.Objective{BudgetMS: budgetMS})
		if err != nil {
			return nil, err
		}
		r, err := c.Evaluate(te)
		if err != nil {
			return nil, err
		}
		out = append(out, conv("softmax cascade (matched latency)", r))
	}
	_, rr, err := baselines.RandomMatched(te, levels, budgetMS, seed)
	if err != nil {
		return nil, err
	}
	out = append(out, conv("random routing (matched latency)", rr))
	return out, nil
}

// CurveIn is the input of the cost/accuracy curves.
type CurveIn struct {
	Store     pipeline.File `json:"store"`
	Dataset   string        `json:"dataset"`
	Criterion Criterion     `json:"criterion"`
	Names     []string      `json:"names"`
	ConfigKey string        `json:"config_key"`
	Learner   string        `json:"learner"`
	K         int           `json:"k"`
	Theta     float64       `json:"theta_pp"`
	Folds     int           `json:"folds"`
	Seed      int64         `json:"seed"`
	// OverheadMS is the premodel's cost per image (feature extraction),
	// measured apart (FeatureTiming).
	OverheadMS float64 `json:"overhead_ms"`
}

// CurvePoint is one point of a cost/accuracy curve.
type CurvePoint struct {
	Method   string  `json:"method"`
	Param    float64 `json:"param"`
	Accuracy float64 `json:"accuracy_pct"`
	MeanMS   float64 `json:"mean_ms"`
}

// CurveOut holds the curves over Algorithm 1's candidates.
type CurveOut struct {
	Candidates []string     `json:"candidates"` // cost order
	Images     int          `json:"images"`
	Points     []CurvePoint `json:"points"`
}

// Curve sweeps the budget knob (cumulative out-of-fold premodel scores,
// baselines.SweepKnob) and the shared-threshold softmax cascade over
// Algorithm 1's candidates, and adds every single model and the oracle as
// points: accuracy and mean latency on every image of the set.
func Curve() pipeline.Stage[CurveIn, CurveOut] {
	return pipeline.Stage[CurveIn, CurveOut]{
		Name: "budget-curve", Version: "1", Code: []string{goVersion()},
		Run: func(ctx context.Context, w *pipeline.Work, in CurveIn) (CurveOut, error) {
			var out CurveOut
			st, err := store.Open(in.Store.Path)
			if err != nil {
				return out, err
			}
			defer st.Close()
			set, err := premodel.Load(ctx, st, premodel.SetOptions{ProfileOptions: premodel.ProfileOptions{
				Criterion: premodel.Criterion(in.Criterion), Datasets: []string{in.Dataset}}, Names: in.Names, ConfigKey: in.ConfigKey})
			if err != nil {
				return out, err
			}
			bp, err := baselines.LoadProfile(ctx, st, baselines.LoadOptions{Criterion: in.Criterion, Datasets: []string{in.Dataset}})
			if err != nil {
				return out, err
			}
			// The premodel's rows, in the baselines profile's image order.
			row := map[string]int{}
			for i, it := range set.Items {
				row[it.File] = i
			}
			keep := make([]bool, len(bp.Images))
			var x [][]float64
			for i, im := range bp.Images {
				if r, ok := row[im.File]; ok {
					keep[i] = true
					x = append(x, set.X[r])
				}
			}
			bp = bp.Keep(keep)
			tr, err := selection.SelectModels(set.Correct(), set.Cost, in.Theta)
			if err != nil {
				return out, err
			}
			var levels []int
			for _, j := range tr.Chosen {
				l, err := bp.ModelIndex(set.Models[j])
				if err != nil {
					return out, err
				}
				levels = append(levels, l)
			}
			levels = bp.ByCost(levels)
			for _, l := range levels {
				out.Candidates = append(out.Candidates, bp.Models[l])
			}
			out.Images = len(bp.Images)
			y := bp.Targets(levels)
			factory := func() (learners.Learner, error) { return learners.New(in.Learner, learners.Params{K: in.K}) }
			dec, err := baselines.OutOfFold(factory, x, y, len(levels), in.Folds, in.Seed)
			if err != nil {
				return out, err
			}
			scores := make([][]float64, len(dec))
			for i, d := range dec {
				scores[i] = baselines.Cumulative(d)
			}
			add := func(method string, pts []baselines.Point) {
				for _, p := range pts {
					out.Points = append(out.Points, CurvePoint{Method: method, Param: p.Param, Accuracy: p.Result.Accuracy, MeanMS: p.Result.MeanMS})
				}
			}
			knob, err := baselines.SweepKnob(bp, levels, scores, in.OverheadMS)
			if err != nil {
				return out, err
			}
			add("budget knob ("+in.Learner+" premodel)", knob)
			if len(levels) > 1 {
				casc, err := baselines.SweepCascade(bp, levels)
				if err != nil {
					return out, err
				}
				add("softmax cascade", casc)
			}
			for j, m := range bp.Models {
				r, err := baselines.Single(bp, j)
				if err != nil {
					return out, err
				}
				out.Points = append(out.Points, CurvePoint{Method: "single: " + m, Param: bp.Cost[j], Accuracy: r.Accuracy, MeanMS: r.MeanMS})
			}
			or, err := baselines.Oracle(bp, levels)
			if err != nil {
				return out, err
			}
			out.Points = append(out.Points, CurvePoint{Method: "oracle (candidates)", Accuracy: or.Accuracy, MeanMS: or.MeanMS})
			return out, nil
		},
	}
}
