package routers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/modelpick/modelpick/bundle"
	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/npy"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/selection"
)

// The premodel kinds: a learner on image features, and a learner on a
// frozen backbone's embedding (the cnn premodel).
const (
	KindLearner = "learner"
	KindCNN     = "cnn"
)

func learnerKind() Kind {
	return Kind{Name: KindLearner, Summary: "the premodel: a learner on image features (kNN cascade, DT, SVM, X.Y.Z)",
		Reads: []string{ReadsFeatures, ReadsLearner}, Train: trainLearner, Load: loadPremodel, Evaluate: evaluatePremodel}
}

func cnnKind() Kind {
	return Kind{Name: KindCNN, Learner: "cnn", Summary: "the cnn premodel: a head on a frozen backbone's stored embedding",
		Reads: []string{ReadsLearner, ReadsBackbone}, Train: trainCNN, Load: loadPremodel, Evaluate: evaluatePremodel}
}

// The fixed names of a premodel bundle's own files.
const (
	learnerFile = "learner.bin"
	traceFile   = "trace.json"
	trainXFile  = "arrays/train_x.npy"
	trainYFile  = "arrays/train_y.npy"
	scalerMin   = "arrays/scaler_min.npy"
	scalerMax   = "arrays/scaler_max.npy"
	looFile     = "arrays/loo_dist.npy"
)

// learnerSettings are a premodel bundle's own manifest fields.
type learnerSettings struct {
	Learner     string              `json:"learner"`
	Params      learners.Params     `json:"params"`
	Seed        int64               `json:"seed"`
	ThetaPP     float64             `json:"theta_pp"`
	Confidence  premodel.Confidence `json:"confidence"`
	Features    featureInfo         `json:"features"`
	Arrays      arrayInfo           `json:"arrays"`
	LearnerFile string              `json:"learner_file"`
	TraceFile   string              `json:"trace_file,omitempty"`
	// Backbone is the frozen model whose embedding a cnn bundle's head
	// reads; its spec and files are among the bundle's models.
	Backbone *premodel.Backbone `json:"backbone,omitempty"`
}

// featureInfo says which features the premodel reads and how they were
// computed.
type featureInfo struct {
	Names     []string `json:"names"`
	ConfigKey string   `json:"config_key"`
	MaxSide   int      `json:"max_side"`
}

// arrayInfo names the numeric arrays (.npy).
type arrayInfo struct {
	TrainX    string `json:"train_x"`
	TrainY    string `json:"train_y"`
	ScalerMin string `json:"scaler_min"`
	ScalerMax string `json:"scaler_max"`
	LOODist   string `json:"loo_dist"`
}

// TraceRecord is Algorithm 1's trace with the names and costs of the models
// its indices refer to (a bundle's trace.json).
type TraceRecord struct {
	Models []string        `json:"models"`
	Cost   []float64       `json:"cost_ms"`
	Trace  selection.Trace `json:"trace"`
}

func trainLearner(ctx context.Context, o TrainOptions) (*Trained, error) {
	ex, err := features.NewExtractor(o.Features, features.Options{MaxSide: o.MaxSide})
	if err != nil {
		return nil, fmt.Errorf("train: -features: %w", err)
	}
	t, err := profileview.LoadTable(ctx, o.Store, profileview.Options{Criterion: o.Criterion, Datasets: o.Datasets,
		Threads: o.Threads}, ex.ConfigKey(), ex.Names())
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	p, err := premodel.Train(t, premodelOptions(o))
	if err != nil {
		return nil, err
	}
	p.MaxSide = ex.MaxSide()
	return FromPremodel(p, t)
}

func trainCNN(ctx context.Context, o TrainOptions) (*Trained, error) {
	v, err := profileview.Load(ctx, o.Store, profileview.Options{Criterion: o.Criterion, Datasets: o.Datasets, Threads: o.Threads})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	j, err := v.Column(o.Backbone)
	if err != nil {
		return nil, fmt.Errorf("train: -backbone: %w", err)
	}
	bb := &premodel.Backbone{Model: o.Backbone, FilesSHA256: v.FilesSHA256[j]}
	key, dims, err := embedding.Stored(ctx, o.Store, bb.Model, bb.FilesSHA256)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	bb.Dims = dims
	t, err := v.Features(ctx, o.Store, key, embedding.Names(dims))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	o.Learner = "cnn"
	p, err := premodel.Train(t, premodelOptions(o))
	if err != nil {
		return nil, err
	}
	p.Backbone = bb
	return FromPremodel(p, t)
}

func premodelOptions(o TrainOptions) premodel.Options {
	return premodel.Options{Learner: o.Learner, Params: o.Params, Theta: o.Theta, Candidates: o.Candidates,
		Fallback: o.Fallback, Quantile: o.Quantile, Escalate: o.Escalate, Seed: o.Seed}
}

// FromPremodel is a trained premodel (a cnn one when it has a Backbone)
// with its training table, ready for Write.
func FromPremodel(p *premodel.Premodel, t *profileview.Table) (*Trained, error) {
	if p == nil || p.Learner() == nil || t == nil {
		return nil, fmt.Errorf("write bundle: need a trained premodel and its training set")
	}
	kind, desc := KindLearner, "features "+strings.Join(p.FeatureNames, ", ")
	if bb := p.Backbone; bb != nil {
		if err := bb.Check(p.FeatureNames, p.ConfigKey); err != nil {
			return nil, fmt.Errorf("write bundle: %w", err)
		}
		kind, desc = KindCNN, fmt.Sprintf("features the %d-d embedding of backbone %s", bb.Dims, bb.Model)
	} else {
		side, err := checkFeatures(p.FeatureNames, p.ConfigKey, p.MaxSide)
		if err != nil {
			return nil, fmt.Errorf("write bundle: %w", err)
		}
		p.MaxSide = side
	}
	tr := &Trained{Router: p, Profile: t.View, Files: map[string][]byte{},
		Manifest: bundle.Manifest{Router: kind, Criterion: p.Criterion, CandidatesFrom: "algorithm 1", Candidates: p.Candidates,
			Fallback: orNone(p.Fallback), Training: bundle.TrainingOf(t.View, len(t.X))},
		Settings: learnerSettings{Learner: p.LearnerName, Params: p.Params, Seed: p.Seed, ThetaPP: p.Theta, Confidence: p.Confidence,
			Features:    featureInfo{Names: p.FeatureNames, ConfigKey: p.ConfigKey, MaxSide: p.MaxSide},
			Arrays:      arrayInfo{TrainX: trainXFile, TrainY: trainYFile, ScalerMin: scalerMin, ScalerMax: scalerMax, LOODist: looFile},
			LearnerFile: learnerFile, Backbone: p.Backbone}}
	tr.Manifest.Training.TargetCounts = targetCounts(p)
	lb, err := p.Learner().MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("write bundle: %w", err)
	}
	tr.Files[learnerFile] = lb
	tr.Files[trainXFile] = npy.Matrix(p.TrainX, len(p.FeatureNames))
	tr.Files[trainYFile] = npy.Ints(p.TrainY)
	tr.Files[scalerMin] = npy.Floats(p.Scaler.Min)
	tr.Files[scalerMax] = npy.Floats(p.Scaler.Max)
	tr.Files[looFile] = npy.Floats(p.LOODist)
	from := "given"
	if p.Trace != nil {
		tb, err := json.MarshalIndent(TraceRecord{Models: t.Models, Cost: t.Cost, Trace: *p.Trace}, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("write bundle: %w", err)
		}
		tr.Files[traceFile] = append(tb, '\n')
		s := tr.Settings.(learnerSettings)
		s.TraceFile = traceFile
		tr.Settings = s
		from = "Algorithm 1, theta " + strconv.FormatFloat(p.Theta, 'g', -1, 64) + " pp"
	} else {
		tr.Manifest.CandidatesFrom = "given"
	}
	tr.Summary = []string{
		fmt.Sprintf("trained %s on %d images of %s (%s, latency at %d thread(s)), %s",
			p.LearnerName, len(t.X), strings.Join(t.Datasets, ", "), p.Criterion, t.CostFrom.Threads, desc),
		fmt.Sprintf("candidates (%s): %s; optimum per image: %s", from, strings.Join(p.Candidates, " > "), countList(tr.Manifest.Training.TargetCounts)),
		fmt.Sprintf("fallback: %s; confidence: mean distance to %d neighbours, threshold %.4g (%g quantile), escalation to %s %s",
			fallbackName(p.Fallback), p.Confidence.K, p.Confidence.Threshold, p.Confidence.Quantile, p.Confidence.Model,
			map[bool]string{true: "on", false: "off"}[p.Confidence.Escalate]),
	}
	return tr, nil
}

// checkFeatures says whether this build computes names at maxSide under
// key (a premodel trained on features another build computed would read
// other values), and returns the working-image side maxSide stands for.
func checkFeatures(names []string, key string, maxSide int) (int, error) {
	ex, err := features.NewExtractor(names, features.Options{MaxSide: maxSide})
	if err != nil {
		return 0, fmt.Errorf("features: %w", err)
	}
	if ex.ConfigKey() != key {
		return 0, fmt.Errorf("trained on features %s, but this build computes %s at max side %d: retrain on features extracted by this build "+
			"(with the -max-side they were extracted with)", key, ex.ConfigKey(), maxSide)
	}
	return ex.MaxSide(), nil
}

func targetCounts(p *premodel.Premodel) map[string]int {
	out := map[string]int{}
	for _, y := range p.TrainY {
		if y == learners.None {
			out["none"]++
		} else {
			out[p.Candidates[y]]++
		}
	}
	return out
}

func fallbackName(s string) string {
	if s == "" {
		return premodel.FallbackNone + " (no prediction)"
	}
	return s
}

func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// loadPremodel restores the premodel from the manifest and the verified
// files.
func loadPremodel(b *bundle.Bundle) (route.Router, error) {
	bad := func(format string, a ...any) error { return fmt.Errorf(format+": %w", append(a, bundle.ErrBundle)...) }
	var s learnerSettings
	if err := b.Settings(&s); err != nil {
		return nil, err
	}
	m := b.Manifest
	if (m.Router == KindCNN) != (s.Backbone != nil) {
		return nil, bad("router %q with backbone %v: a \"cnn\" bundle, and only it, names its backbone", m.Router, s.Backbone)
	}
	if s.Backbone != nil {
		if err := s.Backbone.Check(s.Features.Names, s.Features.ConfigKey); err != nil {
			return nil, bad("%v", err)
		}
		if mi, ok := b.Model(s.Backbone.Model); ok && mi.FilesSHA256 != s.Backbone.FilesSHA256 {
			return nil, bad("backbone %s: its files hash %.12s, the head was trained on the embedding of %.12s",
				s.Backbone.Model, mi.FilesSHA256, s.Backbone.FilesSHA256)
		}
	} else if _, err := checkFeatures(s.Features.Names, s.Features.ConfigKey, s.Features.MaxSide); err != nil {
		return nil, bad("%v", err)
	}
	p := &premodel.Premodel{Criterion: m.Criterion, FeatureNames: s.Features.Names, ConfigKey: s.Features.ConfigKey,
		Candidates: m.Candidates, Confidence: s.Confidence, LearnerName: s.Learner, Params: s.Params,
		Seed: s.Seed, Theta: s.ThetaPP, Backbone: s.Backbone, MaxSide: s.Features.MaxSide, Scaler: &learners.Scaler{}}
	if m.Fallback != premodel.FallbackNone {
		p.Fallback = m.Fallback
	}
	arrays := []struct {
		file string
		read func([]byte) error
	}{
		{s.Arrays.TrainX, func(d []byte) (err error) { p.TrainX, err = npy.ReadMatrix(d); return }},
		{s.Arrays.TrainY, func(d []byte) (err error) { p.TrainY, err = npy.ReadInts(d); return }},
		{s.Arrays.LOODist, func(d []byte) (err error) { p.LOODist, err = npy.ReadFloats(d); return }},
		{s.Arrays.ScalerMin, func(d []byte) (err error) { p.Scaler.Min, err = npy.ReadFloats(d); return }},
		{s.Arrays.ScalerMax, func(d []byte) (err error) { p.Scaler.Max, err = npy.ReadFloats(d); return }},
	}
	for _, a := range arrays {
		data, err := b.File(a.file)
		if err != nil {
			return nil, err
		}
		if err := a.read(data); err != nil {
			return nil, bad("%s: %v", a.file, err)
		}
	}
	data, err := b.File(s.LearnerFile)
	if err != nil {
		return nil, err
	}
	l, err := learners.Load(data)
	if err != nil {
		return nil, bad("%s: %v", s.LearnerFile, err)
	}
	q, err := premodel.Restore(p, l)
	if err != nil {
		return nil, bad("%v", err)
	}
	return q, nil
}

// evaluatePremodel evaluates a premodel bundle on a test store profiled
// and featured apart from its training store (premodel.Evaluate).
func evaluatePremodel(ctx context.Context, l *Loaded, o EvalOptions) (Evaluation, error) {
	p, ok := l.Router.(*premodel.Premodel)
	if !ok {
		return Evaluation{}, fmt.Errorf("evaluate: the %s bundle holds no premodel", l.Manifest.Router)
	}
	t, err := profileview.LoadTable(ctx, o.Store, profileview.Options{Criterion: p.Criterion, Datasets: o.Datasets, Threads: o.Threads},
		p.ConfigKey, p.FeatureNames)
	if err != nil {
		return Evaluation{}, fmt.Errorf("evaluate: %w", err)
	}
	if err := checkProfiled(l, t.View); err != nil {
		return Evaluation{}, err
	}
	eo := premodel.EvalOptions{MaxSide: p.MaxSide, Repeats: o.Repeats}
	if o.Timing && p.Backbone != nil && o.Log != nil {
		fmt.Fprintf(o.Log, "evaluate: a cnn bundle's overhead is its backbone %s's run, not timed here (its cost is in the test store)\n", p.Backbone.Model)
	}
	if o.Timing && p.Backbone == nil {
		if eo.Image, err = imageReader(ctx, o, t.Datasets); err != nil {
			return Evaluation{}, err
		}
	}
	rep, err := premodel.Evaluate(ctx, p, t, eo)
	if err != nil {
		return Evaluation{}, err
	}
	return Evaluation{Report: struct {
		Bundle string `json:"bundle"`
		premodel.Report
	}{l.Dir, rep}, Markdown: rep.Markdown()}, nil
}

// imageReader reads test images from the folder each data set was
// profiled from (or DataDir, for one data set).
func imageReader(ctx context.Context, o EvalOptions, datasets []string) (func(profileview.Item) ([]byte, error), error) {
	dirs := map[string]string{}
	for _, d := range datasets {
		if o.DataDir != "" && len(datasets) == 1 {
			dirs[d] = o.DataDir
			continue
		}
		found, err := o.Store.DatasetDirs(ctx, d)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("evaluate: the images of data set %s are not readable here, to time feature extraction: "+
				"pass -data DIR (one data set at a time), or -feature-timing=false", d)
		}
		dirs[d] = found[0]
	}
	return func(it profileview.Item) ([]byte, error) {
		return os.ReadFile(filepath.Join(dirs[it.Dataset], filepath.FromSlash(it.File)))
	}, nil
}
