package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/routers"
)

// TestTrainSoftmaxCascade runs profile → train -learner softmax →
// classify → evaluate on tiny generated models: no features needed.
func TestTrainSoftmaxCascade(t *testing.T) {
	dir, spec, data := tinyProject(t, 24)
	testData := writeTestSet(t, dir)
	trainDB, testDB := profilePair(t, dir, spec, data, testData)
	bundle := filepath.Join(dir, "cascade")
	// A cnn premodel before modelpick embed names the fix.
	if _, _, err := cli(t, "train", "-store", trainDB, "-learner", "cnn", "-backbone", "a", "-models", spec, "-out", bundle); err == nil ||
		!strings.Contains(err.Error(), "modelpick embed") {
		t.Errorf("cnn without embeddings: %v", err)
	}
	if _, _, err := cli(t, "train", "-store", trainDB, "-learner", "softmax", "-out", bundle, "-budget-ms", "1", "-target-acc", "50"); err == nil {
		t.Error("both objectives accepted")
	}
	if _, _, err := cli(t, "train", "-store", trainDB, "-learner", "knn", "-out", bundle, "-budget-ms", "1"); err == nil {
		t.Error("-budget-ms accepted for knn")
	}
	out, stderr, err := cli(t, "train", "-store", trainDB, "-learner", "softmax", "-out", bundle, "-models", spec, "-theta", "0")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "softmax cascade") || !strings.Contains(out, "bundle written to") {
		t.Errorf("train output:\n%s", out)
	}
	m := manifestOf(t, bundle)
	if m.Router != routers.KindSoftmax || m.Cascade == nil || len(m.Cascade.Thresholds) != len(m.Cascade.Levels)-1 ||
		m.Cascade.Calibration.Objective.BudgetMS <= 0 {
		t.Fatalf("manifest %+v", m)
	}

	img := filepath.Join(testData, "img_00001.jpg")
	out, _, err = cli(t, "classify", "-bundle", bundle, img)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	if !sc.Scan() {
		t.Fatalf("no classify line:\n%s", out)
	}
	var line map[string]any
	if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	runs, _ := line["runs"].([]any)
	if len(runs) == 0 || runs[len(runs)-1].(map[string]any)["model"] != line["model"] || line["labels"] == nil {
		t.Errorf("classify line %v", line)
	}

	rep := filepath.Join(dir, "eval", "cascade.json")
	out, _, err = cli(t, "evaluate", "-bundle", bundle, "-store", testDB, "-out", rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "softmax-cascade |") {
		t.Errorf("evaluate output:\n%s", out)
	}
	raw, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Router  string `json:"router"`
		Images  int    `json:"images"`
		Cascade struct {
			Accuracy float64 `json:"accuracy_pct"`
			MeanMS   float64 `json:"mean_ms"`
		} `json:"cascade"`
		Singles map[string]any `json:"singles"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Router != "softmax-cascade" || r.Images != 12 || r.Cascade.MeanMS <= 0 || len(r.Singles) != 2 {
		t.Errorf("report %s", raw)
	}
}
