package experiments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/modelpick/modelpick/device"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/report"
)

// Options configure a run of experiments.
type Options struct {
	Runner *pipeline.Runner
	// Results and Figures are the output folders (results/, figures/).
	Results, Figures string
	// Root is the repository root: spec paths in manifests are relative
	// to it ("" keeps them as given).
	Root string
	// Limit caps every image set at its first Limit images and Folds
	// overrides every spec's folds (0: as the spec says) — the smoke run.
	Limit, Folds int
	// Timing overrides the cost-measurement settings (tests).
	Timing *measure.TimingOptions
	// DeviceMode says where device-measured quantities come from: Device,
	// the recorded profile (make reproduce), fresh measurements recorded
	// into Device (make measure), or the cached stages (tests, smoke).
	DeviceMode DeviceMode
	Device     *device.Profile
	// Amend, in measure mode, means Device is the recorded profile and
	// only what it lacks is measured (reproduce -measure-missing).
	Amend bool
	// DeviceMissing says why Device is nil in recorded mode (named in the
	// error of the first experiment that needs a device quantity).
	DeviceMissing string
	// Session names a measuring session (make measure): its stage inputs
	// carry it, so nothing measured before is reused.
	Session string
	// ORTLibrary is the ONNX Runtime library models run on, and
	// ImportCache the folder imported TFLite models are cached in.
	ORTLibrary, ImportCache string
	// Versions are the code versions results depend on (buildinfo), as
	// manifests record them.
	Versions map[string]string
	Log      io.Writer
}

// Status of an experiment after a run.
const (
	StatusDone    = "done"
	StatusPending = "not attempted"
	StatusFailed  = "failed"
)

// Outcome is what running one spec did.
type Outcome struct {
	Name, Artifact, Status string
	// Reason says why it is pending or failed.
	Reason  string
	Records []pipeline.Record
	// Seconds is this run's wall time.
	Seconds float64
	// Figures are the figures it drew (figures/NAME.svg and .png).
	Figures []string `json:",omitempty"`
}

// Status is results/NAME/status.json: whether the artifact exists and why not.
type Status struct {
	Name     string `json:"name"`
	Artifact string `json:"artifact"`
	Title    string `json:"title"`
	Kind     string `json:"kind"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Command  string `json:"command"`
}

// Manifest is results/NAME/manifest.json.
type Manifest struct {
	Name     string            `json:"name"`
	Artifact string            `json:"artifact"`
	Title    string            `json:"title"`
	Kind     string            `json:"kind"`
	Command  string            `json:"command"`
	Spec     Input             `json:"spec"`
	Settings map[string]any    `json:"settings"`
	Inputs   []Input           `json:"inputs"`
	Versions map[string]string `json:"versions"`
	Platform measure.Platform  `json:"platform"`
	// ComputedAt is when the newest of the stages was computed (the date
	// of these results); ComputeSeconds is the stages' total compute time,
	// shared stages included.
	ComputedAt     string  `json:"computed_at"`
	ComputeSeconds float64 `json:"compute_seconds"`
	// ComputedBy lists the code revisions that computed the stages.
	ComputedBy []string            `json:"computed_by,omitempty"`
	Stages     []StageTime         `json:"stages"`
	Files      []report.OutputFile `json:"files"`
	// Figures are the figure files (figures/NAME.svg and .png).
	Figures []string `json:"figures,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// StageTime is one stage an experiment used, with its compute time.
type StageTime struct {
	Stage          string  `json:"stage"`
	Key            string  `json:"key"`
	ComputeSeconds float64 `json:"compute_seconds"`
	ComputedAt     string  `json:"computed_at"`
}

// Command is how a spec is run from the repository root.
func (o Options) command(path string) string {
	return "bin/modelpick run " + o.Rel(path)
}

// Rel is path relative to the repository root (Root), as results name it.
func (o Options) Rel(path string) string {
	if o.Root != "" {
		if abs, err := filepath.Abs(path); err == nil {
			if r, err := filepath.Rel(o.Root, abs); err == nil && !strings.HasPrefix(r, "..") {
				return filepath.ToSlash(r)
			}
		}
	}
	return filepath.ToSlash(path)
}

// oneCriterion refuses a folder whose specs mix correctness criteria
// without saying so: its report compares them as one run, and a premodel
// trained for top-1 beside a frontier of top-5 compares nothing. A spec
// for another criterion says so in its name (fig8-top5.yaml, as in
// experiments/), and its results go to their own folder.
func oneCriterion(specs []*Spec) error {
	var first *Spec
	for _, s := range specs {
		c, ok := specCriterion(s)
		if !ok || strings.HasSuffix(s.Name, "-"+string(c)) {
			continue
		}
		if first == nil {
			first = s
			continue
		}
		if fc, _ := specCriterion(first); fc != c {
			return s.errAt("criterion", "%s, but %s says %s: the specs of one folder use one criterion (their report compares them); "+
				"set criterion: %s here too, or name this spec %s-%s.yaml to run it beside them",
				c, first.Path, fc, fc, s.Name, c)
		}
	}
	return nil
}

// specCriterion is a spec's one correctness criterion, if it has one.
func specCriterion(s *Spec) (profileview.Criterion, bool) {
	v := reflect.Indirect(reflect.ValueOf(s.Params))
	if !v.IsValid() || v.Kind() != reflect.Struct {
		return "", false
	}
	f := v.FieldByName("Criterion")
	if !f.IsValid() || f.Type() != reflect.TypeOf(profileview.Criterion("")) || f.String() == "" {
		return "", false
	}
	return profileview.Criterion(f.String()), true
}

// ParseAll parses every *.yaml spec of dir (not its subfolders), all of
// them before anything runs; errors are joined.
func ParseAll(dir string) ([]*Spec, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var specs []*Spec
	var errs []error
	for _, p := range paths {
		if filepath.Base(p) == ClaimsFile {
			continue
		}
		s, err := ParseSpec(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		specs = append(specs, s)
	}
	if err := errors.Join(errs...); err == nil {
		if err := oneCriterion(specs); err != nil {
			errs = append(errs, err)
		}
	}
	// Kinds that read the others' results run after them.
	ks := Kinds()
	slices.SortStableFunc(specs, func(a, b *Spec) int {
		ra, rb := ks[a.Kind].ReadsResults, ks[b.Kind].ReadsResults
		switch {
		case ra == rb:
			return 0
		case rb:
			return -1
		}
		return 1
	})
	if len(specs) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("no experiment specs (*.yaml) in %s", dir)
	}
	return specs, errors.Join(errs...)
}

// ClaimsFile is the claims list beside the specs, not a spec.
const ClaimsFile = "claims.yaml"

// Run runs one parsed spec and writes its results; see the package
// documentation. A failure leaves results/NAME as it was.
func Run(ctx context.Context, s *Spec, o Options) Outcome {
	start := time.Now()
	oc := Outcome{Name: s.Name, Artifact: s.Artifact}
	k := Kinds()[s.Kind]
	first := len(o.Runner.Records())
	o.Runner.SetLabel(s.Name)
	defer o.Runner.SetLabel("")
	st := Status{Name: s.Name, Artifact: s.Artifact, Title: s.Title, Kind: s.Kind, Command: o.command(s.Path)}
	finish := func() Outcome {
		oc.Records = o.Runner.Records()[first:]
		oc.Seconds = time.Since(start).Seconds()
		return oc
	}
	if k.Pending != "" {
		oc.Status, oc.Reason = StatusPending, k.Pending
		st.Status, st.Reason = StatusPending, k.Pending
		if err := writePending(o, st); err != nil {
			oc.Status, oc.Reason = StatusFailed, err.Error()
		}
		return finish()
	}
	e := &Env{R: o.Runner, Log: o.Log, Opt: o}
	res, err := k.Run(ctx, e, s)
	if err == nil {
		st.Status = StatusDone
		err = write(s, o, e, res, o.Runner.Records()[first:], st)
	}
	if err != nil {
		oc.Status, oc.Reason = StatusFailed, errKind(s, err).Error()
		return finish()
	}
	oc.Status = StatusDone
	for _, f := range res.Figures {
		oc.Figures = append(oc.Figures, figureFile(s, f))
	}
	return finish()
}

// writePending replaces results/NAME with a status saying why it is not
// attempted.
func writePending(o Options, st Status) error {
	tmp, err := freshDir(o.Results, st.Name)
	if err != nil {
		return err
	}
	if err := writeJSON(tmp, "status.json", st); err != nil {
		return err
	}
	return swap(tmp, filepath.Join(o.Results, st.Name))
}

// write writes the records, views, measures and manifest into a fresh
// folder, swaps it for results/NAME, then draws the figures from the
// records there.
func write(s *Spec, o Options, e *Env, res *Result, recs []pipeline.Record, st Status) error {
	tmp, err := freshDir(o.Results, s.Name)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var files []report.OutputFile
	names := make([]string, 0, len(res.Records))
	for n := range res.Records {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fs, err := report.WriteRecords(tmp, n, res.Records[n])
		if err != nil {
			return err
		}
		files = append(files, fs...)
	}
	if len(res.Scalars) > 0 {
		fs, err := report.WriteRecords(tmp, "scalars", res.Scalars)
		if err != nil {
			return err
		}
		files = append(files, fs...)
	}
	views := report.Views()
	var md strings.Builder
	fmt.Fprintf(&md, "# %s: %s\n\n", s.Artifact, s.Title)
	for _, t := range res.Tables {
		v, ok := views[t]
		if !ok {
			return fmt.Errorf("no view %q (have %s)", t, strings.Join(report.ViewNames(), ", "))
		}
		text, err := v.Table(tmp)
		if err != nil {
			return err
		}
		md.WriteString(text + "\n")
	}
	for _, n := range append(append([]string{}, res.Notes...), s.Notes...) {
		md.WriteString("- " + n + "\n")
	}
	outs := []struct {
		name string
		data any
	}{{"measures.json", res.Measures}, {"status.json", st}}
	if len(res.CostExprs) > 0 {
		outs = append(outs, struct {
			name string
			data any
		}{report.CostExprsFile, report.CostExprs{Exprs: res.CostExprs, Terms: res.CostTerms}})
	}
	for _, f := range outs {
		b, err := json.MarshalIndent(f.data, "", "  ")
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		of, err := report.WriteFile(tmp, f.name, append(b, '\n'))
		if err != nil {
			return err
		}
		files = append(files, of)
	}
	of, err := report.WriteFile(tmp, "table.md", []byte(md.String()))
	if err != nil {
		return err
	}
	files = append(files, of)

	// Figures are drawn from the records just written, never from memory.
	type fig struct {
		file     string
		svg, png []byte
	}
	var figs []fig
	var paper report.Paper
	if len(res.Figures) > 0 {
		// The paper's values, drawn beside ours, come from the claims
		// beside the spec (none for a folder of specs without claims).
		if paper, err = report.ReadPaper(filepath.Join(filepath.Dir(s.Path), ClaimsFile), s.Name); err != nil {
			return err
		}
	}
	for _, f := range res.Figures {
		v, ok := views[f.View]
		if !ok || v.Figure == nil {
			return fmt.Errorf("no figure view %q", f.View)
		}
		file := figureFile(s, f)
		fg, err := v.Figure(tmp, s.Artifact+": "+s.Title, paper)
		if err != nil {
			return fmt.Errorf("figure %s: %w", file, err)
		}
		svg, err := fg.Encode("svg")
		if err != nil {
			return err
		}
		png, err := fg.Encode("png")
		if err != nil {
			return err
		}
		figs = append(figs, fig{file, svg, png})
	}

	man := manifest(s, o, e, res, recs, st)
	man.Files = files
	for _, f := range figs {
		man.Figures = append(man.Figures, f.file)
	}
	if err := writeJSON(tmp, "manifest.json", man); err != nil {
		return err
	}
	if err := swap(tmp, filepath.Join(o.Results, s.Name)); err != nil {
		return err
	}
	for _, f := range figs {
		if _, err := report.WriteFile(o.Figures, f.file+".svg", f.svg); err != nil {
			return err
		}
		if _, err := report.WriteFile(o.Figures, f.file+".png", f.png); err != nil {
			return err
		}
	}
	return nil
}

func manifest(s *Spec, o Options, e *Env, res *Result, recs []pipeline.Record, st Status) Manifest {
	m := Manifest{Name: s.Name, Artifact: s.Artifact, Title: s.Title, Kind: s.Kind, Command: st.Command,
		Settings: res.Settings, Inputs: e.inputs, Notes: res.Notes,
		Versions: o.Versions}
	if b, err := os.ReadFile(s.Path); err == nil {
		h := sha256.Sum256(b)
		m.Spec = Input{Name: "spec", Path: o.Rel(s.Path), Identity: "sha256:" + hex.EncodeToString(h[:])}
	}
	if m.Settings == nil {
		m.Settings = map[string]any{}
	}
	if o.Limit > 0 {
		m.Settings["limit_override"] = o.Limit
	}
	if o.Folds > 0 {
		m.Settings["folds_override"] = o.Folds
	}
	m.Platform = measure.DetectPlatform()
	m.Platform.Hostname = "" // results must not change with the machine's name
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		m.Stages = append(m.Stages, StageTime{Stage: r.Stage, Key: r.Key[:16], ComputeSeconds: r.ComputeSeconds, ComputedAt: r.ComputedAt})
		m.ComputeSeconds += r.ComputeSeconds
		if r.ComputedAt > m.ComputedAt {
			m.ComputedAt = r.ComputedAt
		}
		if r.Revision != "" && !slices.Contains(m.ComputedBy, r.Revision) {
			m.ComputedBy = append(m.ComputedBy, r.Revision)
		}
	}
	return m
}

func freshDir(results, name string) (string, error) {
	if err := os.MkdirAll(results, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(results, "."+name+".tmp-")
	if err != nil {
		return "", err
	}
	// MkdirTemp makes 0700; results are for everyone to read.
	return dir, os.Chmod(dir, 0o755)
}

// swap replaces dst by the folder tmp.
func swap(tmp, dst string) error {
	old := dst + ".old"
	os.RemoveAll(old)
	if _, err := os.Stat(dst); err == nil {
		if err := os.Rename(dst, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

func writeJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err = report.WriteFile(dir, name, append(b, '\n'))
	return err
}

// figureFile is the name of figure f's files (figures/NAME.svg, .png).
func figureFile(s *Spec, f FigureOut) string {
	if f.File != "" {
		return f.File
	}
	return s.Name
}

// EarlierStageTimes reads the compute seconds of every stage named in the
// manifests under results (by the key's first 16 hex digits, as manifests
// keep them): the time a stage computed again took before, its ETA. An
// unreadable manifest only means fewer ETAs.
func EarlierStageTimes(results string) map[string]float64 {
	paths, _ := filepath.Glob(filepath.Join(results, "*", "manifest.json"))
	out := map[string]float64{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var m Manifest
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		for _, st := range m.Stages {
			if st.ComputeSeconds > 0 {
				out[st.Key] = st.ComputeSeconds
			}
		}
	}
	return out
}
