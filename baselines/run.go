package baselines

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/extract"
	"github.com/modelpick/modelpick/featsel"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/store"
)

// RunOptions configure Run: the stores, the candidates, the objectives,
// and the premodels with their sources.
type RunOptions struct {
	// Train calibrates and trains; Test is profiled (and featured,
	// embedded) separately; Costs gives each model's latency (nil: Train):
	// costs belong to the device, not to the images.
	Train, Test, Costs *store.Store
	Criterion          profileview.Criterion
	// Candidates, or Algorithm 1 on the training store under Theta when
	// empty; Frontier drops those another candidate beats on both training
	// accuracy and cost.
	Candidates []string
	Theta      float64
	Frontier   bool
	// BudgetsMS and TargetsAcc are the objectives (both empty: the cost of
	// the most accurate candidate on the training set, and its accuracy).
	BudgetsMS, TargetsAcc []float64
	Rules                 []Rule
	Premodels             []PremodelSpec
	// Features are the features source's inputs, stored under FeaturesKey
	// (extracted at MaxSide; 0: the default).
	Features    []string
	FeaturesKey string
	MaxSide     int
	// Backbone is the embedding source's model.
	Backbone string
	// OverheadMS gives a source's overhead per image; a source without
	// one takes the latest embed run's timing, in units of the backbone's
	// profiled cost unless RawOverhead; without such a run, the features
	// are timed here on the test images (TimingImages of them) and the
	// embedding costs the backbone's profiled run.
	OverheadMS    map[string]float64
	RawOverhead   bool
	Folds         int
	Seed          int64
	TimeDecisions bool
	TimingImages  int
	// Log receives a progress line (nil: none).
	Log io.Writer
}

// RunInfo says how Run read its inputs, for the records' manifest.
type RunInfo struct {
	Costs          string             `json:"costs"`
	Candidates     []string           `json:"candidates"`
	CandidatesFrom string             `json:"candidates_from"`
	Objectives     []string           `json:"objectives"`
	Premodels      []string           `json:"premodels"`
	Features       []string           `json:"features,omitempty"`
	FeaturesKey    string             `json:"features_config_key,omitempty"`
	EmbeddingKey   string             `json:"embedding_config_key,omitempty"`
	Overheads      map[string]float64 `json:"overhead_ms"`
	OverheadFrom   map[string]string  `json:"overhead_from"`
	Excluded       map[string]int     `json:"images_excluded"`
	// Extracted says which stores' features Run extracted itself.
	Extracted []string `json:"features_extracted,omitempty"`
}

// Run is the front door of the comparison: it loads both profiles (costs
// from the cost store), joins the premodels' sources, chooses the
// candidates and the objectives, and runs Compare.
func Run(ctx context.Context, o RunOptions) (Report, RunInfo, error) {
	info := RunInfo{Overheads: map[string]float64{}, OverheadFrom: map[string]string{}, Excluded: map[string]int{}}
	costs := o.Costs
	if costs == nil {
		costs = o.Train
	}
	train, err := profileview.Load(ctx, o.Train, profileview.Options{Criterion: o.Criterion, CostStore: costs})
	if err != nil {
		return Report{}, info, fmt.Errorf("baselines: %w", err)
	}
	test, err := profileview.Load(ctx, o.Test, profileview.Options{Criterion: o.Criterion, CostStore: costs})
	if err != nil {
		return Report{}, info, fmt.Errorf("baselines: %w", err)
	}
	info.Costs = fmt.Sprintf("%s: mean latency at %d thread(s)", costs.Path(), train.CostFrom.Threads)
	train, test, sources, err := joinSources(ctx, o, train, test, &info)
	if err != nil {
		return Report{}, info, err
	}
	cands, err := chooseCandidates(o, train, &info)
	if err != nil {
		return Report{}, info, err
	}
	objs, err := objectives(o, train, cands)
	if err != nil {
		return Report{}, info, err
	}
	for _, ob := range objs {
		info.Objectives = append(info.Objectives, ob.String())
	}
	for _, s := range o.Premodels {
		info.Premodels = append(info.Premodels, s.String())
	}
	if o.Log != nil {
		fmt.Fprintf(o.Log, "baselines: %d training, %d test images; candidates %s ...\n", len(train.Items), len(test.Items), strings.Join(cands, ", "))
	}
	rep, err := Compare(Options{Train: train, Test: test, Candidates: cands, Objectives: objs, Rules: o.Rules,
		Sources: sources, Premodels: o.Premodels, Folds: o.Folds, Seed: o.Seed, TimeDecisions: o.TimeDecisions})
	info.Candidates = rep.Candidates
	return rep, info, err
}

// joinSources reads every source the premodels use for both profiles,
// leaves out the images lacking one, and sets each source's overhead.
func joinSources(ctx context.Context, o RunOptions, train, test *profileview.View, info *RunInfo) (*profileview.View, *profileview.View, map[string]Source, error) {
	type source struct {
		key    string
		names  []string
		reuses string
	}
	used := map[string]source{}
	for _, pm := range o.Premodels {
		switch pm.Source {
		case embedding.SourceFeatures:
			info.Features, info.FeaturesKey = o.Features, o.FeaturesKey
			used[pm.Source] = source{key: o.FeaturesKey, names: o.Features}
		case embedding.SourceEmbedding:
			key, dims, err := embedding.StoredOf(ctx, o.Train, o.Backbone)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("baselines: %w", err)
			}
			info.EmbeddingKey = key
			used[pm.Source] = source{key: key, names: embedding.Names(dims), reuses: o.Backbone}
		default:
			return nil, nil, nil, fmt.Errorf("baselines: premodel %s: no source %q (want features or embedding)", pm, pm.Source)
		}
	}
	keepTrain, keepTest := allTrue(len(train.Items)), allTrue(len(test.Items))
	rows := map[string][2][][]float64{}
	for name, s := range used {
		var r [2][][]float64
		for k, side := range []struct {
			st   *store.Store
			v    *profileview.View
			keep []bool
		}{{o.Train, train, keepTrain}, {o.Test, test, keepTest}} {
			x, missing, err := side.v.FeatureRows(ctx, side.st, s.key, s.names)
			if name == embedding.SourceFeatures && (err != nil || slices.Contains(missing, profileview.ExcludedNoFeatures)) {
				// A store profiled but not (fully) featured: extract them here.
				if o.Log != nil {
					fmt.Fprintf(o.Log, "baselines: store %s lacks features under %s: extracting them from its images ...\n", side.st.Path(), s.key)
				}
				sums, eerr := extract.Ensure(ctx, side.st, side.v.Datasets, o.Features, features.Options{MaxSide: o.MaxSide}, nil)
				if eerr != nil {
					return nil, nil, nil, fmt.Errorf("baselines: source %s: %w", name, eerr)
				}
				for _, sum := range sums {
					info.Extracted = append(info.Extracted, fmt.Sprintf("%s: %s, %d images extracted here, %d failed", side.st.Path(), sum.Dataset, sum.Computed, sum.Failed))
				}
				x, missing, err = side.v.FeatureRows(ctx, side.st, s.key, s.names)
			}
			if err != nil {
				return nil, nil, nil, fmt.Errorf("baselines: source %s: %w", name, err)
			}
			found := len(missing) - countMissing(missing)
			for i, why := range missing {
				side.keep[i] = side.keep[i] && why == ""
			}
			if found == 0 && name == embedding.SourceEmbedding {
				return nil, nil, nil, fmt.Errorf("baselines: store %s has no image with the embedding %s: run `modelpick embed -models SPEC -model %s -data DIR -store %s` on its images",
					side.st.Path(), s.key, o.Backbone, side.st.Path())
			}
			if found == 0 {
				return nil, nil, nil, fmt.Errorf("baselines: store %s has no image with the features %s under %s, even after extracting them: see its feature errors (modelpick summary -store %s)",
					side.st.Path(), strings.Join(s.names, ","), s.key, side.st.Path())
			}
			r[k] = x
		}
		rows[name] = r
	}
	info.Excluded["train: lacking a premodel input"] = countFalse(keepTrain)
	info.Excluded["test: lacking a premodel input"] = countFalse(keepTest)
	train, test = train.Keep(keepTrain), test.Keep(keepTest)
	sources := map[string]Source{}
	for name, r := range rows {
		src := Source{Train: pick(r[0], keepTrain), Test: pick(r[1], keepTest), Reuses: used[name].reuses}
		if v, ok := o.OverheadMS[name]; ok {
			src.OverheadMS, info.OverheadFrom[name] = v, "-overhead flag"
		} else {
			backbone := -1.0
			if j := train.ModelIndex(o.Backbone); j >= 0 && !o.RawOverhead {
				backbone = train.Cost[j]
			}
			v, from, err := embedding.MeasuredOverhead(ctx, name, backbone, o.Test, o.Train)
			if errors.Is(err, embedding.ErrNoOverhead) {
				v, from, err = unrecordedOverhead(ctx, o, name, test)
			}
			if err != nil {
				return nil, nil, nil, fmt.Errorf("baselines: %w", err)
			}
			src.OverheadMS, info.OverheadFrom[name] = v, from
			if o.Log != nil {
				fmt.Fprintf(o.Log, "baselines: %s overhead %.4g ms per image, from %s\n", name, v, from)
			}
		}
		info.Overheads[name] = src.OverheadMS
		sources[name] = src
	}
	return train, test, sources, nil
}

// DefaultTimingImages is how many test images the features are timed on
// when no embed run timed them (Fig 13's feature-timing count).
const DefaultTimingImages = 100

// unrecordedOverhead is a source's overhead when no embed run measured it:
// the features timed now on the test images (featsel.TimeSets, the timing
// of Fig 13: decode included, best of 3 per image, one thread), or the
// backbone's profiled cost (its run; the embedding is that run's pooled
// output).
func unrecordedOverhead(ctx context.Context, o RunOptions, source string, test *profileview.View) (float64, string, error) {
	if source == embedding.SourceEmbedding {
		j := test.ModelIndex(o.Backbone)
		if j < 0 {
			return 0, "", fmt.Errorf("no overhead for source embedding: the backbone %s has no profiled cost: pass -overhead embedding=MS", o.Backbone)
		}
		return test.Cost[j], fmt.Sprintf("the backbone %s's profiled cost (its run; preprocessing not included): no embed run timed it", o.Backbone), nil
	}
	n := o.TimingImages
	if n <= 0 {
		n = DefaultTimingImages
	}
	dirs := map[string]string{}
	for _, d := range test.Datasets {
		found, err := o.Test.DatasetDirs(ctx, d)
		if err != nil {
			return 0, "", err
		}
		if len(found) > 0 {
			dirs[d] = found[0]
		}
	}
	var images [][]byte
	for _, it := range test.Items {
		if len(images) == n {
			break
		}
		dir, ok := dirs[it.Dataset]
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(it.File)))
		if err != nil {
			return 0, "", fmt.Errorf("timing the features: %w", err)
		}
		images = append(images, b)
	}
	if len(images) == 0 {
		return 0, "", fmt.Errorf("no measured overhead for source features, and the test images are not readable here to time it "+
			"(store %s recorded no folder that exists): pass -overhead features=MS, or run `modelpick embed ... -time-features %s` on the device",
			o.Test.Path(), strings.Join(o.Features, ","))
	}
	if o.Log != nil {
		fmt.Fprintf(o.Log, "baselines: no embed run timed the features: timing them on %d test images ...\n", len(images))
	}
	ms, err := featsel.TimeSets([][]string{o.Features}, images, features.Options{MaxSide: o.MaxSide}, 3)
	if err != nil {
		return 0, "", err
	}
	return ms[0], fmt.Sprintf("timed here by baselines: %d features on %d test images of %s, decode included, best of 3 per image, one thread: %.4g ms",
		len(o.Features), len(images), o.Test.Path(), ms[0]), nil
}

// chooseCandidates returns the given candidates, or Algorithm 1's on the training
// profile, kept to the cost/accuracy frontier when asked.
func chooseCandidates(o RunOptions, train *profileview.View, info *RunInfo) ([]string, error) {
	cands := o.Candidates
	info.CandidatesFrom = "-models flag"
	if len(cands) == 0 {
		tr, err := train.SelectModels(o.Theta)
		if err != nil {
			return nil, fmt.Errorf("baselines: %w", err)
		}
		for _, j := range tr.Chosen {
			cands = append(cands, train.Models[j])
		}
		info.CandidatesFrom = fmt.Sprintf("Algorithm 1 on the training store, theta %g pp", o.Theta)
	}
	if !o.Frontier {
		return cands, nil
	}
	idx, err := train.Columns(cands)
	if err != nil {
		return nil, fmt.Errorf("baselines: candidates: %w", err)
	}
	var out []string
	for _, j := range Frontier(train, idx) {
		out = append(out, train.Models[j])
	}
	info.CandidatesFrom += fmt.Sprintf("; %d of %d on the training cost/accuracy frontier", len(out), len(cands))
	return out, nil
}

// objectives are the given budgets and targets, or by default the cost of
// the most accurate candidate on the training set and its accuracy.
func objectives(o RunOptions, train *profileview.View, cands []string) ([]Objective, error) {
	var objs []Objective
	for _, b := range o.BudgetsMS {
		objs = append(objs, Objective{BudgetMS: b})
	}
	for _, t := range o.TargetsAcc {
		objs = append(objs, Objective{TargetAcc: t})
	}
	if len(objs) > 0 {
		return objs, nil
	}
	idx, err := train.Columns(cands)
	if err != nil {
		return nil, fmt.Errorf("baselines: candidates: %w", err)
	}
	best := -1
	var bestR Result
	for _, j := range idx {
		r, err := Single(train, j)
		if err != nil {
			return nil, err
		}
		if best < 0 || r.Hits > bestR.Hits || (r.Hits == bestR.Hits && train.Cheaper(j, best)) {
			best, bestR = j, r
		}
	}
	objs = []Objective{{BudgetMS: train.Cost[best]}}
	if bestR.Accuracy > 0 { // a target of 0% is no target
		objs = append(objs, Objective{TargetAcc: bestR.Accuracy})
	}
	return objs, nil
}

// countMissing counts the rows with a reason they are missing.
func countMissing(why []string) int {
	n := 0
	for _, w := range why {
		if w != "" {
			n++
		}
	}
	return n
}

func allTrue(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

func countFalse(v []bool) int {
	n := 0
	for _, b := range v {
		if !b {
			n++
		}
	}
	return n
}

func pick(rows [][]float64, keep []bool) [][]float64 {
	var out [][]float64
	for i, k := range keep {
		if k {
			out = append(out, rows[i])
		}
	}
	return out
}
