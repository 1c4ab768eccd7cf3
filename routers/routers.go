// Package routers holds the kinds of router a bundle can hold, each in
// its own file and listed in one registry (Kinds): how a kind trains on a
// store, writes itself into a bundle (package bundle), loads itself back
// and evaluates itself on a test store. A new router is one file and one
// line in Kinds; the conformance test runs every registered kind through
// the same checks (save and load round trip, picks only the bundle's
// models, deterministic, refuses a tampered file).
package routers

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/bundle"
	"github.com/modelpick/modelpick/committee"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/store"
)

// Kind is one kind of router.
type Kind struct {
	// Name is the kind's name in a bundle's manifest ("router").
	Name    string
	Summary string
	// Learner is the train command's -learner value that selects the
	// kind ("" for the learner kind, which takes every learners name).
	Learner string
	// Reads lists the groups of TrainOptions the kind reads beyond the
	// profile and the candidates (ReadsFeatures, ReadsLearner,
	// ReadsBackbone, ReadsObjective): a command refuses settings of a
	// group the kind ignores.
	Reads []string
	// Train fits a router of this kind on a training store.
	Train func(ctx context.Context, o TrainOptions) (*Trained, error)
	// Load rebuilds the router from an opened bundle.
	Load func(b *bundle.Bundle) (route.Router, error)
	// Evaluate evaluates a bundle's router on a test store.
	Evaluate func(ctx context.Context, l *Loaded, o EvalOptions) (Evaluation, error)
}

// The groups of TrainOptions a kind may read (Kind.Reads).
const (
	ReadsFeatures  = "features"  // Features, MaxSide
	ReadsLearner   = "learner"   // Learner, Params, Fallback, Quantile, Escalate
	ReadsBackbone  = "backbone"  // Backbone
	ReadsObjective = "objective" // Objective, Rule
	ReadsCommittee = "committee" // Vectors, Stop, TargetGain
)

// TrainOptions are the training settings every kind reads from; a kind
// ignores the groups it does not read (Kind.Reads).
type TrainOptions struct {
	Store     *store.Store
	Criterion profileview.Criterion
	Datasets  []string
	// Threads picks the latencies measured at this thread count (0: 1
	// when every model has it).
	Threads int
	// Candidates, in order, instead of Algorithm 1 under Theta.
	Candidates []string
	Theta      float64
	Seed       int64
	// Learner and Params: a learners name or X.Y.Z hierarchy, and its
	// settings; Features (all when empty) at the working-image side
	// MaxSide; Fallback, Quantile and Escalate as premodel.Options.
	Learner  string
	Params   learners.Params
	Features []string
	MaxSide  int
	Fallback string
	Quantile float64
	Escalate bool
	// Backbone is the model whose stored embedding a cnn premodel reads.
	Backbone string
	// Objective and Rule calibrate a cascade's thresholds.
	Objective baselines.Objective
	Rule      baselines.Rule
	// Vectors are the training images' full probability vectors of the
	// single models (committee.ComputeProbs), which a committee cascade's
	// statistics come from; Stop is its stop rule (StopThreshold or
	// StopLearned) and TargetGain, when set, its objective: top-1 at least
	// the best single model's plus this many points.
	Vectors    []*committee.Probs
	Stop       string
	TargetGain *float64
	// Log receives notes for people (nil: none).
	Log io.Writer
}

// Trained is a router a kind fitted, with what its bundle records.
type Trained struct {
	Router route.Router
	// Profile is the training profile (costs, the models' files hashes).
	Profile *profileview.View
	// Manifest holds the bundle's shared fields the kind sets (router,
	// criterion, candidates, fallback, training); Settings its own fields
	// and Files its own files.
	Manifest bundle.Manifest
	Settings any
	Files    map[string][]byte
	// Summary is what training did, in lines for people.
	Summary []string
}

// EvalOptions configure a kind's Evaluate.
type EvalOptions struct {
	// Store is the test store, profiled (and featured) apart from the
	// training store.
	Store    *store.Store
	Datasets []string
	Threads  int
	// DataDir is the test images' folder, to time feature extraction
	// (default: the folder the store recorded); Timing switches the
	// timing on, Repeats is how many times each decision is timed.
	DataDir string
	Timing  bool
	Repeats int
	// Vectors are the test images' probability vectors of the bundle's
	// models (a committee cascade is routed from them).
	Vectors []*committee.Probs
	Log     io.Writer
}

// Evaluation is a router's evaluation on a test store: Report is written
// as JSON, Markdown printed.
type Evaluation struct {
	Report   any
	Markdown string
}

// Kinds is the explicit registry of router kinds.
func Kinds() map[string]Kind {
	out := map[string]Kind{}
	for _, k := range []Kind{learnerKind(), cnnKind(), softmaxKind(), committeeKind()} {
		out[k.Name] = k
	}
	return out
}

// KindNames lists the registered kinds, sorted.
func KindNames() []string {
	var out []string
	for n := range Kinds() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ForLearner returns the kind the train command's -learner value selects:
// a kind that claims the value, else the learner kind.
func ForLearner(learner string) Kind {
	ks := Kinds()
	for _, k := range ks {
		if k.Learner != "" && k.Learner == learner {
			return k
		}
	}
	return ks[KindLearner]
}

// Loaded is an opened bundle with its router.
type Loaded struct {
	*bundle.Bundle
	Router route.Router
	// Specs are the specs of Router.Models(), in order, with files inside
	// the bundle.
	Specs []inference.Spec
	kind  Kind
}

// Open opens a bundle (package bundle: format, version and files checked)
// and loads its router with the kind the manifest names.
func Open(dir string) (*Loaded, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, err
	}
	name := b.Manifest.Router
	if name == "" {
		name = KindLearner // manifests written before the field
	}
	k, ok := Kinds()[name]
	if !ok {
		return nil, fmt.Errorf("load bundle %s: router kind %q: this build reads %v: use the modelpick version that wrote the bundle, or retrain it: %w",
			dir, name, KindNames(), bundle.ErrBundle)
	}
	if _, err := profileview.ParseCriterion(string(b.Manifest.Criterion)); err != nil {
		return nil, fmt.Errorf("load bundle %s: %v: %w", dir, err, bundle.ErrBundle)
	}
	r, err := k.Load(b)
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", dir, err)
	}
	specs, err := b.Specs(r.Models())
	if err != nil {
		return nil, err
	}
	return &Loaded{Bundle: b, Router: r, Specs: specs, kind: k}, nil
}

// Evaluate evaluates the bundle's router on a test store with its kind's
// Evaluate.
func (l *Loaded) Evaluate(ctx context.Context, o EvalOptions) (Evaluation, error) {
	return l.kind.Evaluate(ctx, l, o)
}

// WriteOptions are what a bundle holds besides the router.
type WriteOptions struct {
	// Specs are the specs of (at least) every model of the router, with
	// resolvable files.
	Specs []inference.Spec
	// Labels are the class names (nil: none), and LabelsSource where they
	// came from.
	Labels       []string
	LabelsSource string
	Revision     string
	Command      string
}

// Write writes a trained router's bundle into dir.
func Write(dir string, t *Trained, o WriteOptions) error {
	m := t.Manifest
	m.Revision, m.Training.Command = o.Revision, o.Command
	var specs []inference.Spec
	for _, name := range t.Router.Models() {
		i := specIndex(o.Specs, name)
		if i < 0 {
			return fmt.Errorf("write bundle: no spec for model %s: pass the model spec file it was profiled with (-models)", name)
		}
		specs = append(specs, o.Specs[i])
	}
	profiled := map[string]string{}
	for j, name := range t.Profile.Models {
		profiled[name] = t.Profile.FilesSHA256[j]
	}
	return bundle.Write(dir, bundle.Contents{Manifest: m, Settings: t.Settings, Files: t.Files, Specs: specs,
		Profiled: profiled, Store: t.Profile.Store, Labels: o.Labels, LabelsSource: o.LabelsSource})
}

func specIndex(specs []inference.Spec, name string) int {
	for i, s := range specs {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// checkProfiled refuses a test profile whose files of a bundle's model
// differ from the bundle's copy.
func checkProfiled(l *Loaded, v *profileview.View) error {
	for _, mi := range l.Manifest.Models {
		if j := v.ModelIndex(mi.Name); j >= 0 && v.FilesSHA256[j] != mi.FilesSHA256 {
			return fmt.Errorf("evaluate: test store %s profiled other files for %s (sha256 %.12s) than the bundle holds (%.12s): "+
				"profile the bundle's models on the test images", v.Store, mi.Name, v.FilesSHA256[j], mi.FilesSHA256)
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
