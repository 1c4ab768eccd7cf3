package experiments

import (
	"context"
	"fmt"
	"io"

	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/report"
)

// Env is what a kind runs with: the pipeline runner, the run's overrides,
// and the inputs it used (for the manifest).
type Env struct {
	R   *pipeline.Runner
	Log io.Writer
	Opt Options

	inputs []Input
}

// Input is one input of an experiment as the manifest lists it: the path
// as the spec wrote it and the identity its cache keys used.
type Input struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Identity string `json:"identity"`
}

func (e *Env) input(name, path string, f pipeline.File) {
	for _, in := range e.inputs {
		if in.Name == name && in.Identity == f.Identity() {
			return
		}
	}
	e.inputs = append(e.inputs, Input{Name: name, Path: path, Identity: f.Identity()})
}

// dataSet returns an image set of the spec, with the run's limit applied.
func (e *Env) dataSet(s *Spec, im ImageSet) (stages.DataSet, error) {
	gt := ""
	if im.GroundTruth != "" {
		gt = s.Resolve(im.GroundTruth)
	}
	limit := im.Limit
	if e.Opt.Limit > 0 && (limit == 0 || e.Opt.Limit < limit) {
		limit = e.Opt.Limit
	}
	d, err := stages.NewDataSet(e.R, s.Resolve(im.Dir), gt, limit)
	if err != nil {
		return d, err
	}
	e.input("images "+d.Name, im.Dir, d.Dir)
	if d.GroundTruth != nil {
		e.input("ground truth "+d.Name, im.GroundTruth, *d.GroundTruth)
	}
	return d, nil
}

// models loads every model of the spec's model file: profiles and costs
// cover them all (and so are shared by every experiment on the file);
// kinds apply the spec's only themselves.
func (e *Env) models(s *Spec, c Chain) ([]stages.Model, error) {
	ms, err := stages.LoadModels(e.R, s.Resolve(c.Models), nil)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Spec.IsCommittee() {
			continue // its members are models of the same file, recorded as such
		}
		for i, f := range m.Files {
			e.input("model "+m.Spec.Name, m.Spec.Files[i], f)
		}
	}
	return ms, nil
}

func (e *Env) runtime() (stages.Runtime, error) {
	rt, err := stages.NewRuntime(e.R, e.Opt.ORTLibrary, e.Opt.ImportCache, 1)
	if err != nil {
		return rt, err
	}
	e.input("onnxruntime library", "$MODELPICK_ORT_LIB", rt.Library)
	return rt, nil
}

func (e *Env) timing() measure.TimingOptions {
	if e.Opt.Timing != nil {
		return *e.Opt.Timing
	}
	return stages.DefaultTiming()
}

// chain is what most kinds need: the profiled, costed (and featured) store
// of a spec's image sets and models.
type chain struct {
	sets   []stages.DataSet
	models []stages.Model
	rt     stages.Runtime
	cost   stages.CostOut
	joined stages.JoinOut
	// latency is the published latency the spec names instead of a cost
	// profile (nil: measured here).
	latency *stages.Latency
}

// profiled runs (or finds) profile and cost, and features when asked, for
// every image set of s, and joins them. Cost is measured once, on the
// first set's first image.
func (e *Env) profiled(ctx context.Context, s *Spec, p Chain, withFeatures bool) (*chain, error) {
	c := &chain{}
	var err error
	for _, im := range p.Images {
		d, err := e.dataSet(s, im)
		if err != nil {
			return nil, err
		}
		c.sets = append(c.sets, d)
	}
	if c.models, err = e.models(s, p); err != nil {
		return nil, err
	}
	if c.rt, err = e.runtime(); err != nil {
		return nil, err
	}
	in := stages.JoinIn{}
	for _, d := range c.sets {
		p, err := pipeline.Do(ctx, e.R, stages.Profile(), stages.ProfileIn{Set: d, Models: c.models, Runtime: c.rt})
		if err != nil {
			return nil, err
		}
		in.Profiles = append(in.Profiles, p)
		if withFeatures {
			f, err := pipeline.Do(ctx, e.R, stages.Features(), stages.FeaturesIn{Set: d})
			if err != nil {
				return nil, err
			}
			in.Features = append(in.Features, f)
		}
	}
	if p.Latency != "" {
		if c.latency, err = e.latency(s, p.Latency); err != nil {
			return nil, err
		}
		in.Latency = c.latency
	} else {
		if c.cost, err = e.modelCosts(ctx, c); err != nil {
			return nil, err
		}
		in.Costs = &c.cost
	}
	if c.joined, err = pipeline.Do(ctx, e.R, stages.Join(), in); err != nil {
		return nil, err
	}
	return c, nil
}

// latency reads a published latency file the spec names.
func (e *Env) latency(s *Spec, path string) (*stages.Latency, error) {
	lf, err := ReadLatency(s.Resolve(path))
	if err != nil {
		return nil, err
	}
	f, err := e.R.HashFile(s.Resolve(path))
	if err != nil {
		return nil, err
	}
	e.input("published latency", path, f)
	return &stages.Latency{Source: lf.Source, MS: lf.Latency}, nil
}

// datasetNames lists the chain's data set names.
func (c *chain) datasetNames() []string {
	var out []string
	for _, d := range c.sets {
		out = append(out, d.Name)
	}
	return out
}

// Result is what a kind computed, as records.
type Result struct {
	// Records maps a record set's name to a slice of report record
	// structs, written as NAME.json and NAME.csv.
	Records map[string]any
	// Scalars are written as scalars.json/csv (and read by some views).
	Scalars []report.Scalar
	// Tables are the views rendered, in order, into table.md.
	Tables []string
	// Figures are drawn from the written records.
	Figures []FigureOut
	// Measures are the values claims compare (measures.json).
	Measures map[string]any
	// Settings are the spec's settings the kind used (manifest).
	Settings map[string]any
	// CostExprs write measures that are ratios or shares of times as
	// functions of costs (report.CostExpr), and CostTerms give the costs
	// they use that the device profile does not hold, with intervals:
	// the stability experiment recomputes those measures with every cost
	// moved within its interval (results/NAME/cost_exprs.json).
	CostExprs map[string]report.CostExpr
	CostTerms map[string]report.Interval
	Notes     []string
}

// FigureOut is one figure: figures/FILE.svg and .png drawn by View.
type FigureOut struct {
	File string
	View string
}

func unitOf(source string) string {
	if len(source) >= 4 && source[:4] == "spec" {
		return "MMACs"
	}
	return "ms"
}

func errKind(s *Spec, err error) error {
	return fmt.Errorf("%s (%s): %w", s.Name, s.Kind, err)
}
