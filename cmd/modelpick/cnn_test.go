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

// TestTrainCNNPremodel runs profile → embed → train -learner cnn →
// classify → evaluate on tiny generated models, the TFLite one (pooled)
// the backbone.
func TestTrainCNNPremodel(t *testing.T) {
	dir, spec, data := tinyProject(t, 24)
	testData := addPooledBackbone(t, dir, spec)
	trainDB, testDB := profilePair(t, dir, spec, data, testData)
	bundle := filepath.Join(dir, "cnn")
	train := []string{"train", "-store", trainDB, "-learner", "cnn", "-backbone", "pooled", "-models", spec, "-theta", "0", "-out", bundle}
	if _, _, err := cli(t, train...); err == nil || !strings.Contains(err.Error(), "modelpick embed") {
		t.Fatalf("cnn before embed: %v", err)
	}
	if _, _, err := cli(t, "train", "-store", trainDB, "-learner", "cnn", "-features", "contrast", "-out", bundle); err == nil {
		t.Error("-learner cnn with -features accepted")
	}
	for _, c := range [][2]string{{data, trainDB}, {testData, testDB}} {
		if _, _, err := cli(t, "embed", "-models", spec, "-model", "pooled", "-data", c[0], "-store", c[1], "-quiet"); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, err := cli(t, train...)
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "embedding of backbone pooled") {
		t.Errorf("train output:\n%s", out)
	}
	m := manifestOf(t, bundle)
	if m.Router != routers.KindCNN || m.Backbone == nil || m.Backbone.Dims != 3 || m.Learner != "cnn" {
		t.Fatalf("manifest router %q backbone %+v", m.Router, m.Backbone)
	}

	out, _, err = cli(t, "classify", "-bundle", bundle, filepath.Join(testData, "img_00001.jpg"), filepath.Join(testData, "img_00002.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	lines := 0
	for sc.Scan() {
		var line struct {
			Model   string             `json:"model"`
			Labels  []any              `json:"labels"`
			Timings map[string]float64 `json:"timings_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		if line.Model == "" || len(line.Labels) == 0 || line.Timings["premodel"] <= 0 {
			t.Errorf("classify line %s", sc.Text())
		}
		lines++
	}
	if lines != 2 {
		t.Errorf("%d classify lines:\n%s", lines, out)
	}

	rep := filepath.Join(dir, "eval", "cnn.json")
	if _, _, err := cli(t, "evaluate", "-bundle", bundle, "-store", testDB, "-out", rep); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Images  int      `json:"images"`
		Methods []any    `json:"methods"`
		Notes   []string `json:"notes"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || r.Images != 12 || len(r.Methods) == 0 ||
		!strings.Contains(strings.Join(r.Notes, " "), "backbone pooled") {
		t.Errorf("report %s (%v)", raw, err)
	}
}
