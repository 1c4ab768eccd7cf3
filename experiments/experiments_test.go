package experiments

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/internal/buildinfo"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// quickTiming keeps Fig 1d's measurements short in tests.
var quickTiming = measure.TimingOptions{Warmup: 1, MinRuns: 5, MaxRuns: 50, Confidence: 0.95, RelHalfWidth: 0.5}

type tiny struct {
	dir, cache, results, figures string
	specs                        map[string]string
}

func newTiny(t *testing.T) *tiny {
	t.Helper()
	dir := t.TempDir()
	tinyProject(t, dir)
	tinyTopK(t, dir)
	return &tiny{dir: dir, cache: filepath.Join(dir, "cache"), results: filepath.Join(dir, "results"),
		figures: filepath.Join(dir, "figures"), specs: writeSpecs(t, dir)}
}

func (tp *tiny) options(t *testing.T, verify bool) Options {
	t.Helper()
	r, err := pipeline.NewRunner(tp.cache)
	if err != nil {
		t.Fatal(err)
	}
	r.Verify = verify
	timing := quickTiming
	return Options{Runner: r, Results: tp.results, Figures: tp.figures, Root: tp.dir, Timing: &timing,
		ORTLibrary: settings.ORTLibrary(), ImportCache: filepath.Join(tp.dir, "import"), Versions: buildinfo.Versions()}
}

// runAll parses and runs every tiny spec, in name order.
func (tp *tiny) runAll(t *testing.T, o Options) map[string]Outcome {
	t.Helper()
	var names []string
	for n := range tp.specs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string]Outcome{}
	for _, n := range names {
		s, err := ParseSpec(tp.specs[n])
		if err != nil {
			t.Fatal(err)
		}
		oc := Run(context.Background(), s, o)
		if oc.Status == StatusFailed {
			t.Fatalf("%s failed: %s", n, oc.Reason)
		}
		out[n] = oc
	}
	return out
}

// volatileKeys are measured quantities: masked before comparing goldens.
var volatileKeys = map[string]bool{"mean_ms": true, "ci_low_ms": true, "ci_high_ms": true, "n": true,
	"latency_ratio_largest_to_cheapest": true, "latency_order": true, "timing": true,
	// the premodel's overhead, timed, and what depends on it
	"mean_lo_ms": true, "mean_hi_ms": true, "mean_geo_ms": true, "min_image_ms": true, "max_image_ms": true, "overhead_ms": true,
	// the frontier's routed latencies include the routers' own time
	"latency_ratio": true, "latency_ratio_lo": true, "latency_ratio_hi": true,
	// cost expressions' measured parts (cost_exprs.json)
	"terms": true, "den_const": true, "num_const": true}

// normalise masks what may change between equal runs: measured times,
// and the manifest (paths, dates, platform), which is checked apart.
func normalise(name, file string, b []byte) []byte {
	switch {
	case strings.HasSuffix(file, ".json"):
		var v any
		if json.Unmarshal(b, &v) != nil {
			return b
		}
		out, _ := json.MarshalIndent(mask(v), "", "  ")
		return out
	case strings.HasSuffix(file, ".csv"):
		lines := strings.Split(string(b), "\n")
		header := strings.Split(lines[0], ",")
		for i := 1; i < len(lines); i++ {
			cells := strings.Split(lines[i], ",")
			random := strings.Contains(lines[i], "random routing")
			for j := range cells {
				if j < len(header) && (isVolatile(header[j]) || (random && j > 3)) {
					cells[j] = "#"
				}
			}
			lines[i] = strings.Join(cells, ",")
		}
		return []byte(strings.Join(lines, "\n"))
	case file == "table.md" && (strings.HasPrefix(name, "fig8") || name == "fig9" || name == "fig10" || name == "fig11"):
		// mean ms (pooled, geometric, per image) and premodel ms are
		// timed; random routing follows them.
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			cells := strings.Split(l, "|")
			if !strings.HasPrefix(l, "|") || len(cells) < 8 || strings.Contains(l, "---") || strings.Contains(l, "method") {
				if strings.HasPrefix(l, "- ") && strings.Contains(l, " ms per image") {
					lines[i] = "- (timed summary)"
				}
				continue
			}
			for j := 3; j < len(cells)-1; j++ {
				if (j >= 6 && j <= 9) || strings.Contains(l, "random routing") {
					cells[j] = " # "
				}
			}
			lines[i] = strings.Join(cells, "|")
		}
		return []byte(strings.Join(lines, "\n"))
	case file == "table.md" && name == "frontier":
		// Routed latencies include the routers' measured time; random
		// routing is matched to them.
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			cells := strings.Split(l, "|")
			if !strings.HasPrefix(l, "|") || strings.Contains(l, "---") || strings.Contains(l, "train → test |") {
				continue
			}
			for j := 3; j < len(cells)-1; j++ {
				if strings.Contains(l, "random routing") || (len(cells) == 9 && (j == 5 || j == 6)) || (len(cells) == 10 && j == 8) {
					cells[j] = " # "
				}
			}
			lines[i] = strings.Join(cells, "|")
		}
		return []byte(strings.Join(lines, "\n"))
	case file == "table.md" && name == "fig1d":
		// The time columns: keep image and model, mask the rest.
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			if cells := strings.Split(l, "|"); strings.HasPrefix(l, "|") && len(cells) > 4 {
				for j := 3; j < len(cells)-1; j++ {
					cells[j] = " # "
				}
				lines[i] = strings.Join(cells, "|")
			}
		}
		return []byte(strings.Join(lines, "\n"))
	}
	return b
}

// volatilePrefixes are measures that depend on the premodel's timed
// overhead (random routing is matched to the latency it makes).
var volatilePrefixes = []string{"premodel_mean_ms", "premodel_overhead_ms", "speedup_vs_best_single", "random_top1",
	"premodel_minus_random_pp", "overhead_ms_", "overhead_pct_of_", "extraction_pct_of_overhead", "premodel_over_fastest_ms",
	"knn_decision_ms", "knn_overhead_over_dt_svm", "overhead_max_over_min", "mean_ms_ratio_5_to_1", "fastest_group",
	"knn_minus_fastest_other_overhead", "training_data_pct_of_training_time", "geo_vs_pooled_max_mean_ms",
	"goal_a_latency_ratio", "goal_b_latency_ratio", "goal_a_learned_latency_ratio", "goal_b_learned_latency_ratio", "latency_ratio_"}

func isVolatile(k string) bool {
	if volatileKeys[k] {
		return true
	}
	for _, p := range volatilePrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func mask(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if m, ok := x["method"].(string); ok && strings.HasPrefix(m, "random routing") {
			for k, c := range x {
				if _, num := c.(float64); num {
					x[k] = "#"
				}
			}
			return x
		}
		for k, c := range x {
			if isVolatile(k) {
				x[k] = "#"
			} else {
				x[k] = mask(c)
			}
		}
	case []any:
		for i := range x {
			x[i] = mask(x[i])
		}
	}
	return v
}

// TestExperimentsEndToEnd runs every kind on the tiny project and
// compares each experiment's records, measures and markdown with the
// goldens in testdata/golden (go test ./experiments -update rewrites them).
func TestExperimentsEndToEnd(t *testing.T) {
	tp := newTiny(t)
	o := tp.options(t, false)
	tp.runAll(t, o)
	for name := range tp.specs {
		dir := filepath.Join(tp.results, name)
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Name() == "manifest.json" {
				continue
			}
			got, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			got = normalise(name, f.Name(), got)
			golden := filepath.Join("testdata", "golden", name, f.Name())
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Errorf("%s/%s: no golden (run go test ./experiments -update): %v", name, f.Name(), err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s/%s differs from %s:\n--- got\n%s\n--- want\n%s", name, f.Name(), golden, got, want)
			}
		}
		checkManifest(t, name, filepath.Join(dir, "manifest.json"))
	}
	// Figures come from the records: every figure view wrote SVG and PNG.
	for _, f := range []string{"fig1d", "fig5", "fig6", "fig12", "fig13", "scale", "scale-shares"} {
		for _, ext := range []string{".svg", ".png"} {
			if st, err := os.Stat(filepath.Join(tp.figures, f+ext)); err != nil || st.Size() == 0 {
				t.Errorf("figure %s%s: %v", f, ext, err)
			}
		}
	}
}

func checkManifest(t *testing.T, name, path string) {
	t.Helper()
	var m Manifest
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("%s: manifest unreadable: %v", name, err)
	}
	if m.Name != name || m.Command != "bin/modelpick run "+name+".yaml" || !strings.HasPrefix(m.Spec.Identity, "sha256:") ||
		m.Versions["features"] == "" || m.Versions["go"] == "" || m.Platform.Cores == 0 || len(m.Files) == 0 {
		t.Errorf("%s: manifest incomplete: %+v", name, m)
	}
	if name != "table2" && (len(m.Inputs) == 0 || len(m.Stages) == 0 || m.ComputedAt == "") {
		t.Errorf("%s: manifest lacks inputs, stages or date: %+v", name, m)
	}
	for _, in := range m.Inputs {
		if !strings.HasPrefix(in.Identity, "sha256:") && !strings.HasPrefix(in.Identity, "digest:") {
			t.Errorf("%s: input %s has no hash: %+v", name, in.Name, in)
		}
	}
}

// TestSecondRunDoesNoWork: with nothing changed, a second run computes no
// stage and leaves results/ byte for byte as it was.
func TestSecondRunDoesNoWork(t *testing.T) {
	tp := newTiny(t)
	tp.runAll(t, tp.options(t, false))
	before := snapshot(t, tp.results)
	o := tp.options(t, false)
	tp.runAll(t, o)
	recs := o.Runner.Records()
	if len(recs) == 0 {
		t.Fatal("the second run asked for no stage at all")
	}
	for _, r := range recs {
		if r.Status != pipeline.StatusHit {
			t.Errorf("second run: stage %s %s", r.Stage, r.Status)
		}
	}
	after := snapshot(t, tp.results)
	for f, b := range before {
		if !bytes.Equal(after[f], b) {
			t.Errorf("second run changed %s", f)
		}
	}
	if len(after) != len(before) {
		t.Errorf("second run wrote %d files, the first %d", len(after), len(before))
	}
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVerify re-runs every cached stage: nothing but measurements may
// differ, and a stage made nondeterministic is caught.
func TestVerify(t *testing.T) {
	tp := newTiny(t)
	tp.runAll(t, tp.options(t, false))
	o := tp.options(t, true)
	tp.runAll(t, o)
	verified := 0
	seen := map[string]bool{}
	for _, r := range o.Runner.Records() {
		first := !seen[r.Key]
		seen[r.Key] = true
		switch r.Status {
		case pipeline.StatusHit:
			if first {
				t.Errorf("verify: stage %s was not re-run the first time it was asked for", r.Stage)
			}
		case pipeline.StatusVerified:
			verified++
		case pipeline.StatusVaries:
			for _, d := range r.Diffs {
				if !d.Volatile {
					t.Errorf("%s: non-volatile diff in a varies record: %v", r.Stage, d)
				}
			}
		default:
			t.Errorf("verify: stage %s is %s: %v", r.Stage, r.Status, r.Diffs)
		}
	}
	if verified == 0 {
		t.Error("verify verified nothing")
	}
}

// TestFailureLeavesOtherResults: a failing experiment reports its error and
// leaves its own previous results and the others' untouched.
func TestFailureLeavesOtherResults(t *testing.T) {
	tp := newTiny(t)
	o := tp.options(t, false)
	for _, n := range []string{"fig5", "scale"} {
		s, err := ParseSpec(tp.specs[n])
		if err != nil {
			t.Fatal(err)
		}
		if oc := Run(context.Background(), s, o); oc.Status != StatusDone {
			t.Fatalf("%s: %+v", n, oc)
		}
	}
	before := snapshot(t, tp.results)
	// Corrupt one imported file: the import stage's input changes and fails.
	writeText(t, filepath.Join(tp.dir, "topk", "topk_ids_a.csv"), "v_000.JPEG,zz,0\n")
	s, err := ParseSpec(tp.specs["scale"])
	if err != nil {
		t.Fatal(err)
	}
	oc := Run(context.Background(), s, tp.options(t, false))
	if oc.Status != StatusFailed || !strings.Contains(oc.Reason, "topk_ids_a.csv line 1") {
		t.Fatalf("corrupt import: %+v", oc)
	}
	after := snapshot(t, tp.results)
	for f, b := range before {
		if !bytes.Equal(after[f], b) {
			t.Errorf("a failed experiment changed %s", f)
		}
	}
}
