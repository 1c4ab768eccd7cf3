package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/routers"

	"github.com/modelpick/modelpick/premodel"
)

// TestPremodelEndToEnd runs profile → features → select-models → train →
// classify → evaluate on tiny generated models and two generated image
// sets, one to train on and one to test on.
func TestPremodelEndToEnd(t *testing.T) {
	dir, spec, data := tinyProject(t, 24)
	testData := writeTestSet(t, dir)
	trainDB, testDB := profilePair(t, dir, spec, data, testData)
	// Training on a store fresh from profile extracts the features it
	// reads from the images the store recorded, and says so (issue 13).
	bundle := filepath.Join(dir, "bundle")
	if _, stderr, err := cli(t, "train", "-store", trainDB, "-models", spec, "-out", filepath.Join(dir, "fresh"), "-features", "contrast,hue1"); err != nil ||
		!strings.Contains(stderr, "features: extracted 2 features of 24 images of set") {
		t.Fatalf("train on a fresh store: %v\n%s", err, stderr)
	}
	for _, c := range [][2]string{{data, trainDB}, {testData, testDB}} {
		if _, _, err := cli(t, "features", "-data", c[0], "-store", c[1], "-quiet"); err != nil {
			t.Fatal(err)
		}
	}

	sel := filepath.Join(dir, "sel")
	out, _, err := cli(t, "select-models", "-store", trainDB, "-criterion", "top1", "-theta", "0.5", "-out", sel)
	if err != nil || !strings.Contains(out, "Algorithm 1") {
		t.Fatalf("select-models: %v\n%s", err, out)
	}
	for _, f := range []string{"selection.json", "fig5_optimum_share.csv", "fig6_steps.csv"} {
		if _, err := os.Stat(filepath.Join(sel, f)); err != nil {
			t.Error(err)
		}
	}

	out, stderr, err := cli(t, "train", "-store", trainDB, "-criterion", "top1", "-learner", "knn-cascade", "-out", bundle,
		"-features", "avg_brightness,hue1,hue5,contrast", "-models", spec, "-seed", "3", "-escalate")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "bundle written to") || !strings.Contains(out, "escalation to") {
		t.Errorf("train output:\n%s", out)
	}
	if !strings.Contains(stderr, "no class names") { // the tiny models have 10 classes, ImageNet's labels 1000
		t.Errorf("train stderr: %q", stderr)
	}
	m := manifestOf(t, bundle)
	if m.Learner != "knn-cascade" || m.Seed != 3 || !m.Confidence.Escalate ||
		len(m.Features.Names) != 4 || m.Criterion != string(profileview.Top1) {
		t.Errorf("manifest: %+v", m)
	}

	// classify: one JSON line per image, an error line for the bad one.
	bad := filepath.Join(dir, "bad.jpg")
	if err := os.WriteFile(bad, []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	imgs := []string{filepath.Join(data, "img_00000.jpg"), bad, filepath.Join(testData, "img_00002.jpg")}
	out, _, err = cli(t, append([]string{"classify", "-bundle", bundle, "-workers", "2"}, imgs...)...)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 images") {
		t.Errorf("classify error: %v", err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("classify printed %d lines:\n%s", len(lines), out)
	}
	for i, l := range lines {
		if l["image"] != imgs[i] {
			t.Errorf("line %d is for %v, want %s", i, l["image"], imgs[i])
		}
		if i == 1 {
			if l["error"] == nil || l["model"] != nil {
				t.Errorf("bad image line: %v", l)
			}
			continue
		}
		for _, k := range []string{"model", "labels", "scores", "timings_ms", "decision"} {
			if l[k] == nil {
				t.Errorf("line %d lacks %s: %v", i, k, l)
			}
		}
		if n := len(l["labels"].([]any)); n != 5 {
			t.Errorf("line %d: %d labels", i, n)
		}
	}

	rep := filepath.Join(dir, "eval", "report.json")
	out, _, err = cli(t, "evaluate", "-bundle", bundle, "-store", testDB, "-out", rep)
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	if !strings.Contains(out, "| premodel knn-cascade + escalation |") || !strings.Contains(out, "| oracle (all models) |") {
		t.Errorf("evaluate output:\n%s", out)
	}
	var r premodel.Report
	raw, err := os.ReadFile(rep)
	if err != nil || json.Unmarshal(raw, &r) != nil {
		t.Fatalf("report: %v", err)
	}
	if r.Images != 12 || len(r.Methods) != 2+2+2 || !r.Overhead.FeaturesMeasured || r.Overhead.FeaturesMeanMS <= 0 || len(r.Records) != 12 {
		t.Errorf("report: %d images, %d methods, overhead %+v", r.Images, len(r.Methods), r.Overhead)
	}

	// Learners by name, including a hierarchy with one level per candidate.
	levels := make([]string, len(m.Candidates))
	for i := range levels {
		levels[i] = []string{"dt", "knn", "svm"}[i%3]
	}
	for _, l := range []string{"dt", "svm", strings.Join(levels, ".")} {
		if _, _, err := cli(t, "train", "-store", trainDB, "-learner", l, "-out", filepath.Join(dir, "b-"+l),
			"-features", "avg_brightness,hue1,hue5,contrast", "-fallback", "none", "-models", spec); err != nil {
			t.Errorf("train -learner %s: %v", l, err)
		}
	}

	// Bad input: a usage error before any work, or an error naming the fix.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "-store", trainDB, "-out", bundle, "-learner", "forest"}, "unknown learner"},
		{[]string{"train", "-store", trainDB, "-out", bundle, "-criterion", "top3"}, "want top1 or top5"},
		{[]string{"train", "-store", trainDB, "-out", bundle, "-features", "contrast", "-fallback", "zzz"}, `fallback "zzz"`},
		{[]string{"train", "-store", filepath.Join(dir, "nope.db"), "-out", bundle}, "nope.db"},
		// The tiny spec's relative paths do not resolve from the store alone.
		{[]string{"train", "-store", trainDB, "-out", bundle, "-features", "contrast"}, "pass -models"},
		{[]string{"classify", "-bundle", bundle}, "name the images"},
		{[]string{"classify", "-bundle", filepath.Join(dir, "nope"), imgs[0]}, "nope"},
		{[]string{"evaluate", "-bundle", bundle, "-store", testDB}, "flag -out is required"},
	} {
		_, stderr, err := cli(t, c.args...)
		if err == nil || !strings.Contains(err.Error()+stderr, c.want) {
			t.Errorf("%v: got %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
	// A tampered bundle is refused by every command that reads it.
	lf := filepath.Join(bundle, "learner.bin")
	raw, _ = os.ReadFile(lf)
	if err := os.WriteFile(lf, append(raw, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"classify", "-bundle", bundle, imgs[0]}, {"evaluate", "-bundle", bundle, "-store", testDB, "-out", rep}} {
		if _, _, err := cli(t, args...); err == nil || !strings.Contains(err.Error(), "learner.bin") {
			t.Errorf("%s on a tampered bundle: %v", args[0], err)
		}
	}
}

// testManifest is what the tests read of a bundle's manifest.json.
type testManifest struct {
	Router, Learner, Criterion string
	Seed                       int64
	Candidates                 []string
	Confidence                 struct{ Escalate bool }
	Features                   struct{ Names []string }
	Backbone                   *struct{ Dims int }
	Cascade                    *struct {
		Levels      []string
		Thresholds  []float64
		Calibration struct {
			Objective struct {
				BudgetMS float64 `json:"budget_ms"`
			}
		}
	}
}

func manifestOf(t *testing.T, dir string) testManifest {
	t.Helper()
	if _, err := routers.Open(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m testManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
