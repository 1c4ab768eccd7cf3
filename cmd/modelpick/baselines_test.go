package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/baselines"
)

// TestBaselinesEndToEnd runs profile → features → embed → baselines on
// tiny generated models (two ONNX classifiers and a TFLite one whose
// pooled embedding feeds the CNN premodel) and two generated image sets.
func TestBaselinesEndToEnd(t *testing.T) {
	dir, spec, data := tinyProject(t, 24)
	testData := addPooledBackbone(t, dir, spec)
	trainDB, testDB := filepath.Join(dir, "train.db"), filepath.Join(dir, "test.db")
	for _, c := range [][2]string{{data, trainDB}, {testData, testDB}} {
		if _, _, err := cli(t, "profile", "-models", spec, "-data", c[0], "-store", c[1], "-quiet",
			"-min-runs", "5", "-max-runs", "20", "-ci-width", "0.5", "-meter", "none"); err != nil {
			t.Fatal(err)
		}
	}
	feats := "contrast,hue1,avg_perceived_brightness"
	// A store fresh from profile: baselines extracts the features and times
	// them itself, and says so (issue 13).
	fresh := filepath.Join(dir, "fresh")
	stdout, stderr, err := cli(t, "baselines", "-train", trainDB, "-test", testDB, "-features", feats, "-folds", "3",
		"-time-decisions=false", "-out", fresh)
	if err != nil {
		t.Fatalf("baselines on a freshly profiled store: %v\n%s", err, stderr)
	}
	var fman baselinesManifest
	if b, err := os.ReadFile(filepath.Join(fresh, "manifest.json")); err != nil || json.Unmarshal(b, &fman) != nil {
		t.Fatalf("manifest: %v", err)
	}
	if !strings.Contains(fman.OverheadFrom["features"], "timed here by baselines") || fman.Overheads["features"] <= 0 ||
		len(fman.Extracted) != 2 || !strings.Contains(stderr, "timing them on 12 test images") || !strings.Contains(stdout, "premodel/knn@features") {
		t.Errorf("fresh store: overhead %v from %q, extracted %v\nstderr:\n%s", fman.Overheads, fman.OverheadFrom, fman.Extracted, stderr)
	}
	args := func(out string, extra ...string) []string {
		return append([]string{"baselines", "-train", trainDB, "-test", testDB, "-premodels", "knn@features,cnn@embedding",
			"-features", feats, "-embedding-model", "pooled", "-folds", "3", "-seed", "3", "-time-decisions=false",
			"-out", out}, extra...)
	}
	// Before embedding: the error names the command to run.
	if _, _, err := cli(t, args(filepath.Join(dir, "none"))...); err == nil || !strings.Contains(err.Error(), "modelpick embed") {
		t.Fatalf("baselines without embeddings: %v", err)
	}
	for _, c := range [][2]string{{data, trainDB}, {testData, testDB}} {
		out, _, err := cli(t, "embed", "-models", spec, "-model", "pooled", "-data", c[0], "-store", c[1], "-quiet",
			"-time-features", feats)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "3 dims") || !strings.Contains(out, "backbone") {
			t.Errorf("embed output:\n%s", out)
		}
	}

	out1 := filepath.Join(dir, "b1")
	stdout, stderr, err = cli(t, args(out1)...)
	if err != nil {
		t.Fatalf("baselines: %v\n%s", err, stderr)
	}
	for _, want := range []string{"softmax-cascade/greedy", "knob/cnn@embedding", "premodel/knn@features", "oracle over the candidates"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("baselines output lacks %q:\n%s", want, stdout)
		}
	}
	var rep baselines.Report
	b, err := os.ReadFile(filepath.Join(out1, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.TrainImages != 24 || rep.TestImages != 12 || len(rep.Singles) != 3 || len(rep.Curves) == 0 {
		t.Errorf("report: %d/%d images, %d singles, %d curve points", rep.TrainImages, rep.TestImages, len(rep.Singles), len(rep.Curves))
	}
	var man baselinesManifest
	mb, _ := os.ReadFile(filepath.Join(out1, "manifest.json"))
	if err := json.Unmarshal(mb, &man); err != nil {
		t.Fatal(err)
	}
	if man.Overheads["features"] <= 0 || man.Overheads["embedding"] <= 0 || !strings.Contains(man.OverheadFrom["embedding"], "run") ||
		!strings.HasPrefix(man.EmbeddingKey, "embedding-v1;model=pooled") || len(man.Objectives) != 2 {
		t.Errorf("manifest %+v", man)
	}

	// The same seed, the same report (decisions untimed; the overheads come
	// from the stores' recorded embed runs).
	out2 := filepath.Join(dir, "b2")
	if _, _, err := cli(t, args(out2)...); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(filepath.Join(out2, "report.json"))
	if string(b) != string(b2) {
		t.Error("two runs with the same seed wrote different reports")
	}

	// Flags: explicit overheads, candidates and objectives.
	out3 := filepath.Join(dir, "b3")
	if _, _, err := cli(t, args(out3, "-overhead", "features=0.5,embedding=0.25", "-models", "a,b",
		"-budget-ms", "1000", "-target-acc", "50", "-rules", "shared")...); err != nil {
		t.Fatal(err)
	}
	mb, _ = os.ReadFile(filepath.Join(out3, "manifest.json"))
	man = baselinesManifest{}
	if err := json.Unmarshal(mb, &man); err != nil {
		t.Fatal(err)
	}
	if man.Overheads["features"] != 0.5 || man.Overheads["embedding"] != 0.25 || man.OverheadFrom["features"] != "-overhead flag" {
		t.Errorf("overheads %v from %v", man.Overheads, man.OverheadFrom)
	}

	for _, bad := range [][]string{
		{"baselines", "-train", trainDB, "-test", testDB},
		args(out3, "-premodels", "knn@pixels"),
		args(out3, "-premodels", "forest@features"),
		args(out3, "-rules", "best"),
		args(out3, "-budget-ms", "-1"),
		args(out3, "-overhead", "gpu=1"),
		args(out3, "-criterion", "top3"),
	} {
		if _, _, err := cli(t, bad...); err == nil {
			t.Errorf("%v accepted", bad[len(bad)-2:])
		}
	}
	if _, _, err := cli(t, "baselines", "-train", filepath.Join(dir, "missing.db"), "-test", testDB, "-out", out3); err == nil ||
		!strings.Contains(err.Error(), "missing.db") {
		t.Errorf("missing store: %v", err)
	}
}
