package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelpick/modelpick/device"
	"github.com/modelpick/modelpick/experiments"
	"github.com/modelpick/modelpick/external"
	"github.com/modelpick/modelpick/internal/buildinfo"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/report"
	"github.com/modelpick/modelpick/store"
)

// expFlags are the flags run and reproduce share.
type expFlags struct {
	verify                  *bool
	limit, folds            *int
	results, figures, cache *string
	quiet                   *bool
	device                  *string
	measure, liveFlag       *bool
	measureMissing          *bool
	live                    bool                   // smoke: measure through the cached stages, no profile
	timing                  *measure.TimingOptions // tests only: set by the test binary
}

// root is the repository root (or the working directory outside one):
// default outputs and spec folders are relative to it.
func root() string {
	if r := settings.RepoRoot(); r != "" {
		return r
	}
	wd, _ := os.Getwd()
	return wd
}

func addExpFlags(fs interface {
	Bool(string, bool, string) *bool
	Int(string, int, string) *int
	String(string, string, string) *string
}) expFlags {
	r := root()
	return expFlags{
		verify:  fs.Bool("verify", false, "re-run cached stages and report any output that differs (nondeterminism)"),
		limit:   fs.Int("limit", 0, "use only the first N images of every image set (0 = as the specs say)"),
		folds:   fs.Int("folds", 0, "cross-validation folds for every spec (0 = as the specs say)"),
		results: fs.String("results", filepath.Join(r, "results"), "results folder"),
		figures: fs.String("figures", filepath.Join(r, "figures"), "figures folder"),
		cache:   fs.String("cache", filepath.Join(settings.Cache(), "pipeline"), "pipeline cache folder (outside the repository)"),
		quiet:   fs.Bool("quiet", false, "no per-stage lines"),
		device: fs.String("device", "", "the device's recorded cost profile (default: the one *.json in the specs' folder's device/); "+
			"latencies and extraction times are read from it, never measured"),
		measure: fs.Bool("measure", false, "measure every device quantity afresh and (re)write the -device profile (make measure)"),
		measureMissing: fs.Bool("measure-missing", false, "keep every quantity the -device profile records and measure only those an experiment "+
			"needs and it lacks, then rewrite it (an experiment that now times something new; not a re-measurement)"),
		liveFlag: fs.Bool("live", false, "measure latencies and extraction times on this machine as the experiments need them, "+
			"through the cached stages, with no recorded profile: your own models and images (make example)"),
	}
}

// options builds the run's options; specDir is the folder of the specs,
// whose device/ holds the recorded profile.
func (f expFlags) options(stderr io.Writer, specDir string) (experiments.Options, error) {
	r, err := pipeline.NewRunner(*f.cache)
	if err != nil {
		return experiments.Options{}, err
	}
	r.Verify, r.Revision = *f.verify, revision()
	r.Earlier = experiments.EarlierStageTimes(*f.results)
	if r.Revision == "unknown" {
		r.Revision = ""
	}
	if !*f.quiet {
		r.Log = stderr
	}
	o := experiments.Options{Runner: r, Results: *f.results, Figures: *f.figures, Root: root(),
		Limit: *f.limit, Folds: *f.folds, Timing: f.timing, Log: r.Log,
		ORTLibrary: settings.ORTLibrary(), ImportCache: settings.Cache(), Versions: buildinfo.Versions()}
	return o, f.deviceOptions(&o, specDir)
}

// defaultDeviceFile names a new profile when the specs' device/ has none.
const defaultDeviceFile = "device.json"

// deviceOptions chooses where device quantities come from: the recorded
// profile (checked against the current code before anything runs), a
// fresh measurement (-measure), or the cached stages (the smoke run).
func (f expFlags) deviceOptions(o *experiments.Options, specDir string) error {
	if *f.liveFlag && (*f.measure || *f.device != "") {
		return fmt.Errorf("%w: -live measures as it goes and reads no profile: drop -measure and -device", errUsage)
	}
	if f.live || *f.liveFlag {
		o.DeviceMode = experiments.DeviceLive
		return nil
	}
	dir := filepath.Join(specDir, "device")
	path := *f.device
	if *f.measure && *f.measureMissing {
		return fmt.Errorf("%w: -measure measures everything afresh, -measure-missing only what the profile lacks: give one", errUsage)
	}
	if *f.measureMissing {
		if path == "" {
			p, err := device.Find(dir)
			if err != nil {
				return err
			}
			path = p
		}
		p, err := readValid(path, o.ORTLibrary)
		if err != nil {
			return err
		}
		o.DeviceMode, o.Device, o.Amend = experiments.DeviceMeasure, p, true
		o.Session = time.Now().UTC().Format(time.RFC3339Nano)
		return nil
	}
	if *f.measure {
		if path == "" {
			if p, err := device.Find(dir); err == nil {
				path = p
			} else {
				path = filepath.Join(dir, defaultDeviceFile)
			}
		}
		o.DeviceMode, o.Device = experiments.DeviceMeasure, device.New(path)
		o.Session = time.Now().UTC().Format(time.RFC3339Nano)
		return nil
	}
	o.DeviceMode = experiments.DeviceRecorded
	if path == "" {
		p, err := device.Find(dir)
		if err != nil { // an error only for the experiments that need one
			o.DeviceMissing = err.Error()
			return nil
		}
		path = p
	}
	p, err := readValid(path, o.ORTLibrary)
	if err != nil {
		return err
	}
	o.Device = p
	return nil
}

// readValid reads a recorded profile and checks it was measured for this
// importer, runtime library and feature definitions.
func readValid(path, ortLibrary string) (*device.Profile, error) {
	p, err := device.Read(path)
	if err != nil {
		return nil, err
	}
	key, err := experiments.DeviceKey(ortLibrary)
	if err != nil {
		return nil, err
	}
	if err := p.Check(key); err != nil {
		return nil, err
	}
	return p, nil
}

// saveMeasured completes and writes a profile measured in this run.
func saveMeasured(o experiments.Options, loadBefore string, args []string) error {
	if o.DeviceMode != experiments.DeviceMeasure {
		return nil
	}
	p := o.Device
	key, err := experiments.DeviceKey(o.ORTLibrary)
	if err != nil {
		return err
	}
	if o.Amend {
		// The recorded quantities and their provenance stay; the amendment
		// says when, how and under what load the missing ones were added.
		p.Amended = append(p.Amended, fmt.Sprintf("%s: modelpick reproduce %s (revision %s; load average %s before, %s after) measured what the profile lacked",
			time.Now().UTC().Format(time.RFC3339), strings.Join(args, " "), revision(), loadBefore, loadAverage()))
		return p.Save()
	}
	p.Valid, p.Platform = key, stages.PlatformID()
	p.MeasuredAt = time.Now().UTC().Format(time.RFC3339)
	p.Load = device.Load{Before: loadBefore, After: loadAverage(),
		Note: "load averages (1, 5, 15 min, /proc/loadavg); the machine is shared, so other jobs may have run during the measurement"}
	p.Command = "modelpick reproduce " + strings.Join(args, " ")
	p.Revision = revision()
	return p.Save()
}

// loadAverage is /proc/loadavg's first three fields ("" where absent).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// runRun runs experiment specs: modelpick run [-verify] experiments/NAME.yaml...
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	f := addExpFlags(fs)
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: run: name experiment specs, e.g. modelpick run experiments/fig5.yaml", errUsage)
	}
	// Every spec is checked before any stage runs.
	var specs []*experiments.Spec
	var errs []error
	for _, p := range fs.Args() {
		if filepath.Base(p) == experiments.ClaimsFile { // beside the specs, so experiments/*.yaml names it
			fmt.Fprintf(stderr, "run: skipping %s (the claims list, not a spec)\n", p)
			continue
		}
		s, err := experiments.ParseSpec(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		specs = append(specs, s)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if *f.measure {
		return fmt.Errorf("%w: run: -measure rewrites the whole device profile, so it measures every experiment: use make measure (modelpick reproduce -measure)", errUsage)
	}
	o, err := f.options(stderr, filepath.Dir(specs[0].Path))
	if err != nil {
		return err
	}
	_, err = runSpecs(ctx, specs, o, stdout)
	return err
}

// runSpecs runs specs in order, going on after a failure, and prints one
// line each; it fails when any failed or verify found a difference.
func runSpecs(ctx context.Context, specs []*experiments.Spec, o experiments.Options, stdout io.Writer) ([]experiments.Outcome, error) {
	var failed []string
	differs := 0
	var log []experiments.Outcome
	for _, s := range specs {
		if err := ctx.Err(); err != nil {
			return log, err
		}
		oc := experiments.Run(ctx, s, o)
		log = append(log, oc)
		ran, hit := 0, 0
		for _, r := range oc.Records {
			switch r.Status {
			case pipeline.StatusRan:
				ran++
			case pipeline.StatusDiffers:
				differs++
				hit++
			default:
				hit++
			}
		}
		fmt.Fprintf(stdout, "%-12s %-22s %-14s %6.1f s  stages: %d ran, %d cached\n", s.Name, s.Artifact, oc.Status, oc.Seconds, ran, hit)
		if oc.Status == experiments.StatusFailed {
			fmt.Fprintf(stdout, "    %s\n", oc.Reason)
			failed = append(failed, s.Name)
		}
	}
	writeRunLog(o.Runner, log)
	if len(failed) > 0 {
		return log, fmt.Errorf("%d experiment(s) failed: %s", len(failed), strings.Join(failed, ", "))
	}
	if differs > 0 {
		return log, fmt.Errorf("verify: %d stage(s) gave outputs that differ from the cache (see the lines marked DIFFERS)", differs)
	}
	return log, nil
}

// writeRunLog keeps this run's timing record in the cache (not in results/,
// which must not change when nothing was recomputed).
func writeRunLog(r *pipeline.Runner, log []experiments.Outcome) {
	dir := filepath.Join(r.Root, "runs")
	if os.MkdirAll(dir, 0o755) != nil {
		return
	}
	b, err := json.MarshalIndent(log, "", "  ")
	if err != nil {
		return
	}
	os.WriteFile(filepath.Join(dir, time.Now().UTC().Format("20060102T150405.000")+".json"), b, 0o644)
}

// runReproduce runs every spec, then writes REPRODUCE.md.
func runReproduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("reproduce", stderr)
	f := addExpFlags(fs)
	r := root()
	dir := fs.String("dir", filepath.Join(r, "experiments"), "folder of experiment specs (*.yaml)")
	smoke := fs.Bool("smoke", false, "minimal end-to-end run: 60 images per set, 3 folds, short cost timing, outputs under the cache (not results/)")
	out := fs.String("out", filepath.Join(r, "REPRODUCE.md"), "REPRODUCE.md to write (- for stdout, \"\" for none)")
	tmpl := fs.String("template", "", "REPRODUCE template (default DIR/REPRODUCE.tmpl.md)")
	claims := fs.String("claims", "", "claims file (default DIR/claims.yaml)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if *smoke {
		smokeDefaults(fs, &f, out)
	}
	if *tmpl == "" {
		*tmpl = filepath.Join(*dir, "REPRODUCE.tmpl.md")
	}
	if *claims == "" {
		*claims = filepath.Join(*dir, experiments.ClaimsFile)
	}
	// Specs, claims and template are all checked before any stage runs.
	specs, err := experiments.ParseAll(*dir)
	if err != nil {
		return err
	}
	cl, err := report.ReadClaims(*claims)
	if err != nil {
		return err
	}
	tb, err := os.ReadFile(*tmpl)
	if err != nil {
		return fmt.Errorf("reproduce: %w", err)
	}
	o, err := f.options(stderr, *dir)
	if err != nil {
		return err
	}
	start, load := time.Now(), loadAverage()
	outs, runErr := runSpecs(ctx, specs, o, stdout)
	if o.DeviceMode == experiments.DeviceMeasure {
		// A profile from a failed run would lack what the failed
		// experiments measure: the old one stays.
		if runErr != nil {
			return fmt.Errorf("measure: the device profile %s was not written: %w", o.Device.Path(), runErr)
		}
		// Models that drift against each other by more than the tie
		// rule's resolution could be ordered by the noise: such a
		// measurement is not written.
		if d := o.Device.Drift; d != nil && d.MaxRelOrder > profileview.Resolution {
			return fmt.Errorf("measure: the device profile %s was not written: the models' latency relative to each other drifted by %.1f%% "+
				"between measurement blocks (load average %s before, %s after), more than the tie rule's resolution (%.0f%%, profileview.Resolution): "+
				"measure again on a quieter machine (uptime), or, if this device drifts so, widen the resolution",
				o.Device.Path(), 100*d.MaxRelOrder, load, loadAverage(), 100*profileview.Resolution)
		}
		if err := saveMeasured(o, load, args); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", o.Device.Path())
	}
	if err := writeReproduce(string(tb), *f.results, cl, *out, stdout); err != nil {
		return errors.Join(runErr, err)
	}
	sum := experiments.Summary{Outcomes: outs, Claims: report.Evaluate(cl, *f.results),
		Results: o.Rel(*f.results), Figures: o.Rel(*f.figures), Elapsed: time.Since(start)}
	if *out != "" && *out != "-" {
		sum.Reproduce = o.Rel(*out)
	}
	sum.Write(stdout)
	return runErr
}

// smokeDefaults sets the smoke run's settings on every flag not given: 60
// images per set, 3 folds, outputs under the cache, short cost timing.
func smokeDefaults(fs *flag.FlagSet, f *expFlags, out *string) {
	base := filepath.Join(settings.Cache(), "smoke")
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for name, apply := range map[string]func(){
		"limit":   func() { *f.limit = 60 },
		"folds":   func() { *f.folds = 3 },
		"results": func() { *f.results = filepath.Join(base, "results") },
		"figures": func() { *f.figures = filepath.Join(base, "figures") },
		"out":     func() { *out = filepath.Join(base, "REPRODUCE.md") },
	} {
		if !set[name] {
			apply()
		}
	}
	// Cost measured through the cached stages (no profile), to a loose
	// interval in a second per model: a smoke run checks that everything
	// runs, not the milliseconds.
	f.live = true
	f.timing = &measure.TimingOptions{Warmup: 2, MinRuns: 10, MaxRuns: 200, Confidence: 0.95, RelHalfWidth: 0.2, MaxDuration: time.Second}
}

func writeReproduce(tmpl, results string, cl []report.Claim, out string, stdout io.Writer) error {
	if out == "" {
		return nil
	}
	text, err := report.Reproduce(tmpl, results, cl)
	if err != nil {
		return err
	}
	if out == "-" {
		_, err := io.WriteString(stdout, text)
		return err
	}
	if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
		return fmt.Errorf("reproduce: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", out)
	return nil
}

// runReport regenerates REPRODUCE.md from results/ alone.
func runReport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", stderr)
	r := root()
	dir := fs.String("dir", filepath.Join(r, "experiments"), "folder of the template and claims")
	results := fs.String("results", filepath.Join(r, "results"), "results folder")
	out := fs.String("out", filepath.Join(r, "REPRODUCE.md"), "file to write (- for stdout)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cl, err := report.ReadClaims(filepath.Join(*dir, experiments.ClaimsFile))
	if err != nil {
		return err
	}
	tb, err := os.ReadFile(filepath.Join(*dir, "REPRODUCE.tmpl.md"))
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return writeReproduce(string(tb), *results, cl, *out, stdout)
}

// runImport imports external per-image results into a store.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", stderr)
	format := fs.String("format", external.FormatTopK, "input format: topk (topk_ids_MODEL.csv files, rows FILE,PREDICTED[,TRUTH])")
	dir := fs.String("dir", "", "folder of the result files")
	storePath := fs.String("store", "", "store file (SQLite); created if missing")
	dataset := fs.String("dataset", "", "data set name in the store (default: the folder's name)")
	gt := fs.String("ground-truth", "", "ground truth (FILE INDEX lines) for files without a TRUTH column")
	only := fs.String("models", "", "comma-separated models to import (default all)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "dir", "store"); err != nil {
		return err
	}
	if *format != external.FormatTopK {
		return fmt.Errorf("%w: import: -format %q, want %s", errUsage, *format, external.FormatTopK)
	}
	if *dataset == "" {
		*dataset = filepath.Base(filepath.Clean(*dir))
	}
	st, err := store.Open(*storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	sum, err := external.ImportTopK(ctx, st, external.Options{Dir: *dir, Dataset: *dataset, GroundTruth: *gt, Models: splitList(*only)})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d images x %d models into %s (data set %s); no latency imported\n", sum.Images, len(sum.Models), *storePath, sum.Dataset)
	for _, m := range sum.Models {
		fmt.Fprintf(stdout, "  %-32s %6d rows  top-1 %.2f%%  truth from %s\n", m.Model, m.Rows, m.Top1, m.TruthFrom)
	}
	return nil
}
