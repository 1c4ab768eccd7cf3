package premodel

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/inference"
)

// Router kinds a bundle's manifest names.
const (
	RouterLearner        = "learner"         // a Premodel on image features
	RouterSoftmaxCascade = "softmax-cascade" // a max-softmax confidence cascade
	RouterCNN            = "cnn"             // a Premodel on a backbone's embedding
)

// ReasonCascade marks the first level of a softmax cascade: the classifier
// escalates from there on the models' own top-1 scores.
const ReasonCascade = "cascade"

// SoftmaxCascade is the max-softmax confidence cascade as a router: the
// cheapest level's model runs first, and the classifier escalates to the
// next level while the top-1 score is below that level's threshold; the
// last level always answers. It reads no features.
type SoftmaxCascade struct {
	// Levels are model names in run (cost) order.
	Levels []string `json:"levels"`
	// Thresholds has one entry per level but the last.
	Thresholds []float64 `json:"thresholds"`
}

// CascadeFrom turns a calibrated baselines cascade into a router.
func CascadeFrom(c baselines.Cascade) (*SoftmaxCascade, error) {
	s := &SoftmaxCascade{Levels: slices.Clone(c.Models), Thresholds: slices.Clone(c.Thresholds)}
	return s, s.check()
}

func (c *SoftmaxCascade) check() error {
	switch {
	case len(c.Levels) == 0:
		return errors.New("softmax cascade: no levels")
	case len(c.Thresholds) != len(c.Levels)-1:
		return fmt.Errorf("softmax cascade: %d levels need %d thresholds, have %d", len(c.Levels), len(c.Levels)-1, len(c.Thresholds))
	}
	for i, m := range c.Levels {
		if m == "" || slices.Contains(c.Levels[:i], m) {
			return fmt.Errorf("softmax cascade: level %d model %q is empty or repeated", i, m)
		}
	}
	for _, t := range c.Thresholds {
		if math.IsNaN(t) {
			return errors.New("softmax cascade: a threshold is NaN")
		}
	}
	return nil
}

// Features implements Router: the cascade reads none.
func (*SoftmaxCascade) Features() []string { return nil }

// Models implements Router: the levels, in run order.
func (c *SoftmaxCascade) Models() []string { return slices.Clone(c.Levels) }

// Route implements Router: the first level always runs.
func (c *SoftmaxCascade) Route(Input) (Decision, error) {
	if len(c.Levels) == 0 {
		return Decision{}, errors.New("softmax cascade: no levels")
	}
	return Decision{Model: c.Levels[0], Class: 0, Scores: []float64{1}, MeanDist: -1, Reason: ReasonCascade}, nil
}

// Next says which model runs after level's model answered with top-1 score
// top1: the next level's, or "" when this level answers.
func (c *SoftmaxCascade) Next(level int, top1 float64) string {
	if level < 0 || level >= len(c.Levels)-1 || top1 >= c.Thresholds[level] {
		return ""
	}
	return c.Levels[level+1]
}

// CascadeInfo is the manifest entry of a softmax-cascade bundle.
type CascadeInfo struct {
	Levels      []string              `json:"levels"`
	Thresholds  []float64             `json:"thresholds"`
	Calibration baselines.Calibration `json:"calibration"`
}

// CascadeInput is what WriteCascadeBundle packs besides the cascade.
type CascadeInput struct {
	// Profile is the training store's profile (costs, model hashes).
	Profile      *Profile
	Calibration  baselines.Calibration
	Specs        []inference.Spec
	Labels       []string
	LabelsSource string
	Revision     string
	Command      string
}

// WriteCascadeBundle writes a softmax-cascade bundle into dir: its
// manifest (router "softmax-cascade", levels and thresholds), the level
// models' files and the class names. As WriteBundle, it assembles beside
// dir and renames into place.
func WriteCascadeBundle(dir string, c *SoftmaxCascade, in CascadeInput) error {
	if c == nil || in.Profile == nil {
		return errors.New("write bundle: need a calibrated cascade and its training profile")
	}
	if err := c.check(); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return writeAtomically(dir, func(tmp string) (Manifest, error) {
		p := in.Profile
		m := Manifest{Format: BundleFormat, Version: BundleVersion, CreatedAt: time.Now().UTC().Format(time.RFC3339),
			Revision: in.Revision, GoVersion: runtime.Version(), Router: RouterSoftmaxCascade,
			Criterion: p.Criterion, Learner: RouterSoftmaxCascade, CandidatesFrom: "calibrated cascade",
			Candidates: slices.Clone(c.Levels), Fallback: FallbackNone,
			Cascade: &CascadeInfo{Levels: slices.Clone(c.Levels), Thresholds: slices.Clone(c.Thresholds), Calibration: in.Calibration},
			Training: Training{Store: p.Store, Datasets: p.Datasets, Images: len(p.Items), Models: p.Models, CostMS: p.Cost,
				CostThreads: p.CostThreads, Excluded: p.Excluded, Command: in.Command}}
		w := &writer{dir: tmp}
		m.Labels = LabelsInfo{Source: in.LabelsSource, Count: len(in.Labels)}
		if len(in.Labels) > 0 {
			w.write(labelsFile, []byte(strings.Join(in.Labels, "\n")+"\n"))
			m.Labels.File = labelsFile
		}
		for _, name := range c.Levels {
			mi, err := copyModel(w, name, in.Specs, p)
			if err != nil {
				return m, err
			}
			m.Models = append(m.Models, mi)
		}
		if w.err != nil {
			return m, w.err
		}
		sort.Slice(w.files, func(i, j int) bool { return w.files[i].Path < w.files[j].Path })
		m.Files = w.files
		return m, nil
	})
}

// writeAtomically assembles a bundle in a temporary folder beside dir
// (fill writes every file but the manifest and returns the manifest) and
// renames it into place.
func writeAtomically(dir string, fill func(tmp string) (Manifest, error)) error {
	if err := checkTarget(dir); err != nil {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".bundle-*")
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	defer os.RemoveAll(tmp)
	m, err := fill(tmp)
	if err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write bundle %s: manifest: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, manifestFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("write bundle %s: replace the old bundle: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	return nil
}

// rebuildCascade restores a softmax cascade from its manifest.
func rebuildCascade(m *Manifest) (*SoftmaxCascade, error) {
	if m.Cascade == nil {
		return nil, fmt.Errorf("router %q but no \"cascade\" entry in %s: retrain the bundle: %w", m.Router, manifestFile, ErrBundle)
	}
	if _, err := ParseCriterion(string(m.Criterion)); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrBundle)
	}
	c := &SoftmaxCascade{Levels: m.Cascade.Levels, Thresholds: m.Cascade.Thresholds}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrBundle)
	}
	return c, nil
}

// CascadeReport is the evaluation of a softmax-cascade bundle on a test
// store, from its stored top-1 scores and costs.
type CascadeReport struct {
	Criterion  Criterion `json:"criterion"`
	Images     int       `json:"images"`
	Levels     []string  `json:"levels"`
	Thresholds []float64 `json:"thresholds"`
	// Cascade is the bundle's cascade; Singles every model of the test
	// store alone; Oracle the fastest correct model among all.
	Cascade  baselines.Result            `json:"cascade"`
	Singles  map[string]baselines.Result `json:"singles"`
	Oracle   baselines.Result            `json:"oracle"`
	OfOracle float64                     `json:"share_of_oracle_pct"`
}

// EvaluateCascade evaluates c on a test profile (baselines.LoadProfile of
// the test store, under the bundle's criterion): accuracy, mean and p95
// latency (every level run counts), share per answering model, beside
// every single model and the oracle.
func EvaluateCascade(c *SoftmaxCascade, crit Criterion, test baselines.Profile) (CascadeReport, error) {
	rep := CascadeReport{Criterion: crit, Images: len(test.Images), Levels: c.Levels, Thresholds: c.Thresholds,
		Singles: map[string]baselines.Result{}}
	var levels []int
	for _, name := range c.Levels {
		j, err := test.ModelIndex(name)
		if err != nil {
			return rep, fmt.Errorf("evaluate: %w: profile model %s on the test images", err, name)
		}
		levels = append(levels, j)
	}
	bc, err := baselines.NewCascade(test, levels, c.Thresholds)
	if err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	if rep.Cascade, err = bc.Evaluate(test); err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	all := make([]int, len(test.Models))
	for j := range all {
		all[j] = j
		if rep.Singles[test.Models[j]], err = baselines.Single(test, j); err != nil {
			return rep, fmt.Errorf("evaluate: %w", err)
		}
	}
	if rep.Oracle, err = baselines.Oracle(test, test.ByCost(all)); err != nil {
		return rep, fmt.Errorf("evaluate: %w", err)
	}
	if rep.Oracle.Accuracy > 0 {
		rep.OfOracle = 100 * rep.Cascade.Accuracy / rep.Oracle.Accuracy
	}
	return rep, nil
}

// Markdown renders the report as a short table.
func (r CascadeReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "softmax cascade %s (thresholds %v) on %d images, %s\n\n", strings.Join(r.Levels, " > "), r.Thresholds, r.Images, r.Criterion)
	b.WriteString("| method | accuracy % | mean ms | p95 ms |\n|---|---|---|---|\n")
	row := func(name string, x baselines.Result) {
		fmt.Fprintf(&b, "| %s | %.2f | %.3f | %.3f |\n", name, x.Accuracy, x.MeanMS, x.P95MS)
	}
	row("softmax-cascade", r.Cascade)
	names := make([]string, 0, len(r.Singles))
	for n := range r.Singles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		row(n, r.Singles[n])
	}
	row("oracle", r.Oracle)
	return b.String()
}
