package experiments

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/tflite/tflitetest"
)

// TestCNNPremodelTiny runs the cnn-premodel kind on the tiny project with
// a tiny TFLite backbone (tflitetest.PooledClassifier, named as the
// ladder's cheapest model, never right on the tiny labels) added to the
// models: the embedding stage, the CNN premodel beside the kNN premodel.
// The deterministic measures are compared with a golden (go test
// ./experiments -update rewrites it); cached stages rerun nothing.
func TestCNNPremodelTiny(t *testing.T) {
	dir := t.TempDir()
	tinyProject(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "bb.tflite"),
		tflitetest.Encode(tflitetest.PooledClassifier(), tflitetest.Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	models, err := os.ReadFile(filepath.Join(dir, "models.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bb := strings.Replace(strings.Replace(strings.TrimPrefix(tflitetest.PooledClassifierYAML, "models:\n"),
		"name: pooled", "name: "+cnnBackbone, 1), "pooled.tflite", "bb.tflite", 1)
	writeText(t, filepath.Join(dir, "models.yaml"), string(models)+bb)
	writeText(t, filepath.Join(dir, "latency.yaml"), "source: made up for the tests, one per model, rising\nunit: ms\n"+
		"latency: {"+cnnBackbone+": 0.5, a: 1, b: 2, c: 3, d: 8}\n")
	spec := filepath.Join(dir, "fig9-cnn.yaml")
	writeText(t, spec, "name: fig9-cnn\nartifact: Fig 9 (CNN)\ntitle: tiny\nkind: cnn-premodel\n"+
		"images:\n  - dir: set\nmodels: models.yaml\nlatency: latency.yaml\n"+
		"criterion: top1\nk: 3\nfolds: 3\nseed: 1\nseeds: [1, 2]\nbootstrap: 200\ntheta: 0.5\nthreshold: 0.75\ntolerance: 0.5\nlearner: knn\n")
	tp := &tiny{dir: dir, cache: filepath.Join(dir, "cache"), results: filepath.Join(dir, "results"),
		figures: filepath.Join(dir, "figures"), specs: map[string]string{"fig9-cnn": spec}}
	o := tp.options(t, false)
	for run := range 2 {
		oc := tp.runAll(t, o)["fig9-cnn"]
		if oc.Status != StatusDone {
			t.Fatalf("run %d: %+v", run, oc)
		}
	}
	raw, err := os.ReadFile(filepath.Join(tp.results, "fig9-cnn", "measures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cnn_top1_set", "knn_top1_set", "cnn_selection_accuracy_set", "backbone_cost_ms_set"} {
		if _, ok := m[k]; !ok {
			t.Errorf("measures: no %s in %v", k, m)
		}
	}
	if v, _ := m["backbone_cost_ms_set"].(float64); v != 0.5 {
		t.Errorf("backbone cost %v ms, want the latency file's 0.5", m["backbone_cost_ms_set"])
	}
	// Timed quantities and what depends on them are left out.
	for k := range m {
		if strings.Contains(k, "_ms_") || strings.Contains(k, "costlier") || strings.Contains(k, "over_knn_overhead") {
			delete(m, k)
		}
	}
	got, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden", "fig9-cnn", "measures.json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("no golden (run go test ./experiments -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("measures differ from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}
