package device

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sample(path string) *Profile {
	p := New(path)
	p.Valid = Key{Importer: "2", ONNXRuntime: "1.30.0", Features: "features-v2"}
	p.PutModel(Model{Model: "b", Files: []string{"sha256:bb"}, Threads: 1, N: 300, MeanMS: 2, CILowMS: 1.9, CIHighMS: 2.1})
	p.PutModel(Model{Model: "a", Files: []string{"sha256:aa"}, Threads: 1, N: 300, MeanMS: 1, CILowMS: 0.9, CIHighMS: 1.1})
	p.PutImage(Image{Dataset: "d", File: "x.jpg", Identity: "sha256:x", Model: "a", Files: []string{"sha256:aa"}, N: 30, MeanMS: 1.5})
	p.PutFeatureSet(FeatureSet{Names: []string{"f", "g"}, Reps: 3, Images: []string{"sha256:x"}, MS: 4})
	p.PutFeatureImages(FeatureImages{Dataset: "d", Names: []string{"f"}, MS: map[string]float64{"x": 3}})
	return p
}

// TestRoundTrip: a saved profile reads back equal, in a fixed order, and
// a second save of the same content gives the same bytes.
func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "device", "dev.json")
	p := sample(path)
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	q, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if q.Models[0].Model != "a" || q.Valid != p.Valid || q.Path() != path {
		t.Errorf("read back %+v", q)
	}
	m, err := q.ModelCost("b", []string{"sha256:bb"}, 1)
	if err != nil || m.MeanMS != 2 {
		t.Errorf("model b: %+v %v", m, err)
	}
	if err := q.Save(); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(path); string(second) != string(first) {
		t.Errorf("a second save changed the file:\n%s\n%s", first, second)
	}
	if im, err := q.ImageLatency("d", "x.jpg", "sha256:x", "a", []string{"sha256:aa"}); err != nil || im.MeanMS != 1.5 {
		t.Errorf("image: %+v %v", im, err)
	}
	if f, err := q.FeatureSetTime([]string{"f", "g"}, 0, 3, []string{"sha256:x"}); err != nil || f.MS != 4 {
		t.Errorf("feature set: %+v %v", f, err)
	}
	if f, err := q.FeatureTimes("d", []string{"f"}, 0); err != nil || f.MS["x"] != 3 {
		t.Errorf("feature times: %v %v", f, err)
	}
}

// TestStale: whatever the profile lacks or was measured for otherwise
// stops the run with an error naming make measure.
func TestStale(t *testing.T) {
	dir := t.TempDir()
	p := sample(filepath.Join(dir, "dev.json"))
	wantFix := func(what string, err error, also string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "make measure") || !strings.Contains(err.Error(), also) {
			t.Errorf("%s: %v, want an error naming make measure and %q", what, err, also)
		}
	}
	wantFix("importer", p.Check(Key{Importer: "3", ONNXRuntime: "1.30.0", Features: "features-v2"}), `importer (onnxconv) "2", now "3"`)
	wantFix("runtime", p.Check(Key{ONNXRuntime: "1.31.0"}), "ONNX Runtime")
	wantFix("features", p.Check(Key{Features: "features-v3"}), "feature definitions")
	if err := p.Check(Key{Importer: "2", ONNXRuntime: "1.30.0", Features: "features-v2"}); err != nil {
		t.Errorf("current key: %v", err)
	}
	_, err := p.ModelCost("a", []string{"sha256:changed"}, 1)
	wantFix("model files", err, "sha256:changed")
	_, err = p.ModelCost("c", nil, 1)
	wantFix("unknown model", err, "model c")
	_, err = p.ModelCost("a", []string{"sha256:aa"}, 2)
	wantFix("thread count", err, "2 thread(s)")
	_, err = p.ImageLatency("d", "y.jpg", "sha256:y", "a", []string{"sha256:aa"})
	wantFix("image", err, "d/y.jpg")
	_, err = p.ImageLatency("d", "x.jpg", "sha256:edited", "a", []string{"sha256:aa"})
	wantFix("edited image", err, "other files")
	_, err = p.FeatureSetTime([]string{"g", "f"}, 0, 3, []string{"sha256:x"})
	wantFix("feature set", err, "g,f")
	_, err = p.FeatureTimes("d", []string{"g"}, 0)
	wantFix("feature times", err, "feature set g")

	_, err = Read(filepath.Join(dir, "none.json"))
	wantFix("missing file", err, "does not exist")
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"format": "`+Format+`", "extra": 1}`), 0o644)
	_, err = Read(filepath.Join(dir, "bad.json"))
	wantFix("unknown field", err, "extra")
	os.WriteFile(filepath.Join(dir, "old.json"), []byte(`{"format": "modelpick device profile 0"}`), 0o644)
	_, err = Read(filepath.Join(dir, "old.json"))
	wantFix("old format", err, "profile 0")
}

// TestFind: a folder names its one profile; none or several is an error.
func TestFind(t *testing.T) {
	dir := t.TempDir()
	if _, err := Find(dir); err == nil || !strings.Contains(err.Error(), "make measure") {
		t.Errorf("empty folder: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "a.json"), []byte("{}"), 0o644)
	if p, err := Find(dir); err != nil || filepath.Base(p) != "a.json" {
		t.Errorf("one profile: %s %v", p, err)
	}
	os.WriteFile(filepath.Join(dir, "b.json"), []byte("{}"), 0o644)
	if _, err := Find(dir); err == nil || !strings.Contains(err.Error(), "-device") {
		t.Errorf("two profiles: %v", err)
	}
}

// TestPutReplaces: a measurement replaces the same quantity's.
func TestPutReplaces(t *testing.T) {
	p := sample("x")
	p.PutModel(Model{Model: "a", Files: []string{"sha256:aa"}, Threads: 1, MeanMS: 7})
	p.PutFeatureImages(FeatureImages{Dataset: "d", Names: []string{"f"}, MS: map[string]float64{"y": 1}})
	if len(p.Models) != 2 || len(p.FeatureImages) != 1 {
		t.Fatalf("models %d, feature images %d", len(p.Models), len(p.FeatureImages))
	}
	if m, _ := p.ModelCost("a", []string{"sha256:aa"}, 1); m.MeanMS != 7 {
		t.Errorf("model a %v", m.MeanMS)
	}
	if f, _ := p.FeatureTimes("d", []string{"f"}, 0); len(f.MS) != 1 || f.MS["y"] != 1 {
		t.Errorf("feature times %v", f.MS)
	}
}

// TestDecisions: a cross-validation's decision times are found by its key,
// and a changed key names make measure.
func TestDecisions(t *testing.T) {
	p := sample("x")
	p.PutDecision(Decision{Key: "k1", Stage: "premodel-cv", FoldMS: []float64{0.01, 0.02}})
	p.PutDecision(Decision{Key: "k1", Stage: "premodel-cv", FoldMS: []float64{0.03}})
	if ms, err := p.DecisionTimes("k1"); err != nil || len(ms) != 1 || ms[0] != 0.03 {
		t.Errorf("k1: %v %v", ms, err)
	}
	if _, err := p.DecisionTimes("k2"); err == nil || !strings.Contains(err.Error(), "make measure") {
		t.Errorf("k2: %v", err)
	}
}
