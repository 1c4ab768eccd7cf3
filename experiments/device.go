package experiments

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelpick/modelpick/device"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/ortenv"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/onnxconv"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
)

// DeviceMode says where a run's device-measured quantities (model
// latency, per-image latency, feature-extraction time) come from.
type DeviceMode int

// The device modes.
const (
	// DeviceLive measures them through the cached stages, as they are
	// asked for (tests and the smoke run).
	DeviceLive DeviceMode = iota
	// DeviceRecorded reads them from Options.Device, the recorded profile
	// (make reproduce); a quantity it lacks stops the experiment with an
	// error naming make measure.
	DeviceRecorded
	// DeviceMeasure measures every one afresh and records it into
	// Options.Device, which the caller saves (make measure).
	DeviceMeasure
)

// measureTiming is how make measure times model latency: at least 300
// rounds of every model side by side (a median and its interval need
// hundreds of runs; the paper's 5% rule alone stops at 30).
func measureTiming() measure.TimingOptions {
	t := stages.DefaultTiming()
	t.MinRuns, t.MaxRuns = 300, 5000
	return t
}

// driftBlocks is how many times make measure measures the models' latency
// to report its drift (device.Drift). The quietest block (the lowest
// geometric mean latency over the models) is recorded: on a shared
// machine other jobs only ever add time, so the minimum over repetitions
// is the usual estimate (featsel.TimeSets takes it per image too).
const driftBlocks = 5

// DeviceKey is what a recorded profile must have been measured for, with
// the runtime at lib.
func DeviceKey(lib string) (device.Key, error) {
	if err := ortenv.Init(lib); err != nil {
		return device.Key{}, err
	}
	return device.Key{Importer: onnxconv.Version, ONNXRuntime: ortenv.Version(), Features: features.Version}, nil
}

// recorded returns the profile quantities are read from (in measure mode,
// the one being measured), or why there is none; a recorded profile is
// listed among the experiment's inputs.
func (e *Env) recorded() (*device.Profile, error) {
	p := e.Opt.Device
	if p == nil {
		return nil, fmt.Errorf("no device profile (%s): %s", e.Opt.DeviceMissing, device.Fix)
	}
	if e.Opt.DeviceMode == DeviceRecorded {
		f, err := e.R.HashFile(p.Path())
		if err != nil {
			return nil, err
		}
		e.input("device profile", e.Opt.Rel(p.Path()), f)
	}
	return p, nil
}

func identities(fs []pipeline.File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Identity()
	}
	return out
}

// modelCosts returns the chain's models' latencies: recorded, measured
// afresh, or through the cached cost stage.
func (e *Env) modelCosts(ctx context.Context, c *chain) (stages.CostOut, error) {
	in := stages.CostIn{Set: c.sets[0], Models: c.models, Runtime: c.rt, Timing: e.timing(), Meter: "auto", Platform: stages.PlatformID()}
	switch e.Opt.DeviceMode {
	case DeviceRecorded:
		return e.recordedCosts(c)
	case DeviceMeasure:
		if out, err := e.recordedCosts(c); err == nil {
			return out, nil // measured earlier in this session
		}
		in.Timing = measureTiming()
		var blocks []stages.CostOut
		for b := range driftBlocks {
			if b > 0 {
				time.Sleep(5 * time.Second) // the blocks sample different moments of the machine's load
			}
			in.Session = fmt.Sprintf("%s/cost block %d", e.Opt.Session, b+1)
			out, err := pipeline.Do(ctx, e.R, stages.CostStage(), in)
			if err != nil {
				return out, err
			}
			blocks = append(blocks, out)
		}
		quiet := e.recordDrift(blocks)
		var measured []device.Model
		for _, m := range c.models {
			for _, r := range blocks[quiet].Costs {
				if r.Model == m.Spec.Name {
					measured = append(measured, device.Model{Model: r.Model, Files: identities(m.Files), Threads: r.Threads, N: r.N,
						MeanMS: r.MeanMS, StdMS: r.StdMS, MedianMS: r.MedianMS, P95MS: r.P95MS, CILowMS: r.CILowMS, CIHighMS: r.CIHighMS,
						Converged: r.Converged, Warnings: r.Warnings, EnergyJ: r.EnergyJ, IdleW: r.IdleW, EnergyStatus: r.EnergyStatus,
						PlatformJSON: r.Platform, MeasuredAt: r.MeasuredAt})
				}
			}
		}
		recordNew(e.Opt.Device, measured)
		// Downstream reads the recorded form, so a later recorded run
		// computes exactly what this one did.
		return e.recordedCosts(c)
	}
	return pipeline.Do(ctx, e.R, stages.CostStage(), in)
}

// recordDrift keeps the blocks' spread in the measured profile and
// returns the quietest block.
func (e *Env) recordDrift(blocks []stages.CostOut) int {
	d := &device.Drift{Blocks: len(blocks), BlockMeansMS: map[string][]float64{},
		Method: fmt.Sprintf("the models' latency measured %d times in a row, 5 s apart, each time side by side "+
			"(measure.TimeInterleaved); max_rel is the largest max/min - 1 of a model's block means, max_rel_order the same of its "+
			"block mean over the block's geometric mean of all models; the quietest block (lowest geometric mean) is recorded", len(blocks))}
	for _, b := range blocks {
		for _, r := range b.Costs {
			d.BlockMeansMS[r.Model] = append(d.BlockMeansMS[r.Model], r.MeanMS)
		}
	}
	spread := func(xs []float64) float64 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range xs {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		if !(lo > 0) {
			return 0
		}
		return hi/lo - 1
	}
	geo := make([]float64, len(blocks)) // each block's geometric mean latency
	for b := range blocks {
		for _, ms := range d.BlockMeansMS {
			geo[b] += math.Log(ms[b]) / float64(len(d.BlockMeansMS))
		}
	}
	for _, ms := range d.BlockMeansMS {
		d.MaxRel = math.Max(d.MaxRel, spread(ms))
		rel := make([]float64, len(ms))
		for b, x := range ms {
			rel[b] = x / math.Exp(geo[b])
		}
		d.MaxRelOrder = math.Max(d.MaxRelOrder, spread(rel))
	}
	d.Recorded = 0
	for b := range geo {
		if geo[b] < geo[d.Recorded] {
			d.Recorded = b
		}
	}
	e.Opt.Device.Drift = worseDrift(e.Opt.Device.Drift, d)
	return d.Recorded
}

// recordNew records the measured models the profile does not hold yet. A
// model measured earlier in the session keeps its latency: the experiments
// that ran before read it, and a later recorded run must compute what they
// computed (their cache keys, and the decision times keyed by them, hold
// it). A chain with new models (committees, say) is measured side by side
// again and only its new models are taken from that measurement.
func recordNew(p *device.Profile, measured []device.Model) {
	for _, m := range measured {
		if _, err := p.ModelCost(m.Model, m.Files, m.Threads); err == nil {
			continue
		}
		p.PutModel(m)
	}
}

// worseDrift keeps the larger of two measurements' drift between models
// (a session that measures twice): the profile is refused on the worse.
func worseDrift(prev, d *device.Drift) *device.Drift {
	if prev != nil && prev.MaxRelOrder > d.MaxRelOrder {
		return prev
	}
	return d
}

// recordedCosts converts the profile's latencies of the chain's models
// into the cost stage's output.
func (e *Env) recordedCosts(c *chain) (stages.CostOut, error) {
	var out stages.CostOut
	p, err := e.recorded()
	if err != nil {
		return out, err
	}
	for _, m := range c.models {
		r, err := p.ModelCost(m.Spec.Name, identities(m.Files), c.rt.Threads)
		if err != nil {
			return out, err
		}
		out.Costs = append(out.Costs, stages.Cost{Model: r.Model, Threads: r.Threads, N: r.N, MeanMS: r.MeanMS,
			StdMS: r.StdMS, MedianMS: r.MedianMS, P95MS: r.P95MS, CILowMS: r.CILowMS, CIHighMS: r.CIHighMS,
			Converged: r.Converged, Warnings: r.Warnings, EnergyJ: r.EnergyJ, IdleW: r.IdleW,
			EnergyStatus: r.EnergyStatus, Platform: r.PlatformJSON, MeasuredAt: r.MeasuredAt})
	}
	return out, nil
}

// imageLatency returns per-image latencies (Fig 1d).
func (e *Env) imageLatency(ctx context.Context, in stages.ImageLatencyIn) (stages.ImageLatencyOut, error) {
	switch e.Opt.DeviceMode {
	case DeviceRecorded:
		return e.recordedImageLatency(in)
	case DeviceMeasure:
		if out, err := e.recordedImageLatency(in); err == nil {
			return out, nil
		}
		in.Session = e.Opt.Session
		out, err := pipeline.Do(ctx, e.R, stages.ImageLatencyStage(), in)
		if err != nil {
			return out, err
		}
		for _, l := range out.Latencies {
			id, err := e.imageIdentity(in.Set, l.File)
			if err != nil {
				return out, err
			}
			files := identities(modelFiles(in.Models, l.Model))
			if _, err := e.Opt.Device.ImageLatency(in.Set.Name, l.File, id, l.Model, files); err == nil {
				continue // measured earlier in this session, and used: kept
			}
			e.Opt.Device.PutImage(device.Image{Dataset: in.Set.Name, File: l.File, Identity: id, Model: l.Model,
				Files: identities(modelFiles(in.Models, l.Model)), N: l.N, MeanMS: l.MeanMS, CILowMS: l.CILowMS, CIHighMS: l.CIHighMS})
		}
		return e.recordedImageLatency(in)
	}
	return pipeline.Do(ctx, e.R, stages.ImageLatencyStage(), in)
}

func modelFiles(ms []stages.Model, name string) []pipeline.File {
	for _, m := range ms {
		if m.Spec.Name == name {
			return m.Files
		}
	}
	return nil
}

func (e *Env) imageIdentity(d stages.DataSet, file string) (string, error) {
	f, err := e.R.HashFile(filepath.Join(d.Dir.Path, filepath.FromSlash(file)))
	if err != nil {
		return "", err
	}
	return f.Identity(), nil
}

func (e *Env) recordedImageLatency(in stages.ImageLatencyIn) (stages.ImageLatencyOut, error) {
	var out stages.ImageLatencyOut
	p, err := e.recorded()
	if err != nil {
		return out, err
	}
	for _, f := range in.Files {
		id, err := e.imageIdentity(in.Set, f)
		if err != nil {
			return out, err
		}
		for _, m := range in.Models {
			r, err := p.ImageLatency(in.Set.Name, f, id, m.Spec.Name, identities(m.Files))
			if err != nil {
				return out, err
			}
			out.Latencies = append(out.Latencies, stages.ImageLatency{File: f, Model: m.Spec.Name, N: r.N,
				MeanMS: r.MeanMS, CILowMS: r.CILowMS, CIHighMS: r.CIHighMS})
		}
	}
	return out, nil
}

// featureTiming returns the extraction time of feature sets over timing
// images (Fig 13, the budget curve's overhead).
func (e *Env) featureTiming(ctx context.Context, in stages.FeatureTimingIn) (stages.FeatureTimingOut, error) {
	switch e.Opt.DeviceMode {
	case DeviceRecorded:
		return e.recordedFeatureTiming(in)
	case DeviceMeasure:
		if out, err := e.recordedFeatureTiming(in); err == nil {
			return out, nil
		}
		in.Session = e.Opt.Session
		out, err := pipeline.Do(ctx, e.R, stages.FeatureTiming(), in)
		if err != nil {
			return out, err
		}
		for i, s := range in.Sets {
			if f, err := e.Opt.Device.FeatureSetTime(s, in.MaxSide, in.Reps, identities(in.Images)); err == nil && len(f.ImageMS) == len(in.Images) {
				continue // measured earlier in this session, and used: kept
			}
			e.Opt.Device.PutFeatureSet(device.FeatureSet{Names: s, MaxSide: in.MaxSide, Reps: in.Reps, Images: identities(in.Images), MS: out.MS[i],
				ImageMS: out.ImageMS[i]})
		}
		return e.recordedFeatureTiming(in)
	}
	return pipeline.Do(ctx, e.R, stages.FeatureTiming(), in)
}

func (e *Env) recordedFeatureTiming(in stages.FeatureTimingIn) (stages.FeatureTimingOut, error) {
	var out stages.FeatureTimingOut
	p, err := e.recorded()
	if err != nil {
		return out, err
	}
	for _, s := range in.Sets {
		f, err := p.FeatureSetTime(s, in.MaxSide, in.Reps, identities(in.Images))
		if err != nil {
			return out, err
		}
		if len(f.ImageMS) != len(in.Images) {
			return out, fmt.Errorf("device profile: the extraction time of the feature set %s has %d per-image times for %d images "+
				"(recorded before they were kept): %s", strings.Join(s, ","), len(f.ImageMS), len(in.Images), device.Fix)
		}
		out.MS = append(out.MS, f.MS)
		out.ImageMS = append(out.ImageMS, f.ImageMS)
	}
	return out, nil
}

// featureTimes returns each image's extraction time of the premodel's
// feature set on a data set (the premodel's overhead), and of its decode.
func (e *Env) featureTimes(ctx context.Context, d stages.DataSet, names []string) (stages.FeatureTimesOut, error) {
	in := stages.FeatureTimesIn{Set: d, Names: names, Platform: stages.PlatformID()}
	read := func() (stages.FeatureTimesOut, error) {
		p, err := e.recorded()
		if err != nil {
			return stages.FeatureTimesOut{}, err
		}
		f, err := p.FeatureTimes(d.Name, names, in.MaxSide)
		return stages.FeatureTimesOut{MS: f.MS, DecodeMS: f.DecodeMS}, err
	}
	switch e.Opt.DeviceMode {
	case DeviceRecorded:
		return read()
	case DeviceMeasure:
		if out, err := read(); err == nil {
			return out, nil
		}
		in.Session = e.Opt.Session
		out, err := pipeline.Do(ctx, e.R, stages.FeatureTimes(), in)
		if err != nil {
			return out, err
		}
		e.Opt.Device.PutFeatureImages(device.FeatureImages{Dataset: d.Name, Names: names, MaxSide: in.MaxSide, MS: out.MS, DecodeMS: out.DecodeMS})
		return read()
	}
	return pipeline.Do(ctx, e.R, stages.FeatureTimes(), in)
}

// keptFeatureMS is a premodel's feature time per image: its kept features
// extracted from timing images of d (decode included, best of 3), from the
// device profile; 0 when timing is 0 (not asked for).
func (e *Env) keptFeatureMS(ctx context.Context, d stages.DataSet, kept []string, timing int) (float64, error) {
	if timing <= 0 {
		return 0, nil
	}
	imgs, err := stages.TimingImages(e.R, d, timing)
	if err != nil {
		return 0, err
	}
	t, err := e.featureTiming(ctx, stages.FeatureTimingIn{Sets: [][]string{kept}, Images: imgs, Reps: 3, Platform: stages.PlatformID()})
	if err != nil {
		return 0, err
	}
	return t.MS[0], nil
}

// premodelCVDo runs (or finds) a premodel's cross-validation with its
// decision times recorded, measured afresh, or timed in the cached stage.
func (e *Env) premodelCVDo(ctx context.Context, in stages.PremodelCVIn) (stages.PremodelCVOut, error) {
	if e.Opt.DeviceMode == DeviceLive {
		return pipeline.Do(ctx, e.R, stages.PremodelCV(), in)
	}
	key, _, err := pipeline.Key(stages.PremodelCV(), in)
	if err != nil {
		return stages.PremodelCVOut{}, err
	}
	read := func() (stages.PremodelCVOut, error) {
		p, err := e.recorded()
		if err != nil {
			return stages.PremodelCVOut{}, err
		}
		if in.DecisionMS, err = p.DecisionTimes(key); err != nil {
			return stages.PremodelCVOut{}, err
		}
		return pipeline.Do(ctx, e.R, stages.PremodelCV(), in)
	}
	if e.Opt.DeviceMode == DeviceMeasure {
		if _, err := e.Opt.Device.DecisionTimes(key); err != nil {
			timed := in
			timed.Session = e.Opt.Session
			out, err := pipeline.Do(ctx, e.R, stages.PremodelCV(), timed)
			if err != nil {
				return out, err
			}
			d := device.Decision{Key: key, Stage: "premodel-cv"}
			for _, f := range out.Folds {
				d.FoldMS = append(d.FoldMS, f.Overhead.DecisionMeanMS)
			}
			e.Opt.Device.PutDecision(d)
		}
	}
	return read()
}
