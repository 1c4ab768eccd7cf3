package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/routers"
)

// FuzzLoadBundle corrupts one file of a real (tiny) bundle and loads it.
// which picks the file: 0 replaces manifest.json as is (its hashes then
// rarely match), any other value replaces one of the listed files other
// than the models and rewrites its hash and size in the manifest, so the
// corrupt bytes reach the parsers (.npy arrays, learner, labels, trace)
// instead of stopping at the hash check. Loading must fail with an error
// or give a premodel that routes a feature vector without panicking.
// ONNX files are left out: their parser is ONNX Runtime's, not ours.
// Seeds: the bundle's own files (added here) and
// testdata/fuzz/FuzzLoadBundle.
func FuzzLoadBundle(f *testing.F) {
	bundle, _ := tinyBundle(f)
	raw, err := os.ReadFile(filepath.Join(bundle, "manifest.json"))
	if err != nil {
		f.Fatal(err)
	}
	var man map[string]any
	if err := json.Unmarshal(raw, &man); err != nil {
		f.Fatal(err)
	}
	files := map[string][]byte{"manifest.json": raw}
	var targets []string // fuzzable files, in manifest order
	for _, e := range man["files"].([]any) {
		p := e.(map[string]any)["path"].(string)
		b, err := os.ReadFile(filepath.Join(bundle, filepath.FromSlash(p)))
		if err != nil {
			f.Fatal(err)
		}
		files[p] = b
		if !strings.HasSuffix(p, ".onnx") {
			targets = append(targets, p)
		}
	}
	f.Add(uint8(0), raw)
	for i, p := range targets {
		f.Add(uint8(i+1), files[p])
		f.Add(uint8(i+1), files[p][:len(files[p])/2])
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		dir := t.TempDir()
		manifest := data
		unchanged := bytes.Equal(data, raw)
		if which != 0 {
			target := targets[(int(which)-1)%len(targets)]
			unchanged = bytes.Equal(data, files[target])
			var m map[string]any
			json.Unmarshal(raw, &m) // parsed above: cannot fail
			for _, e := range m["files"].([]any) {
				fi := e.(map[string]any)
				if fi["path"] == target {
					sum := sha256.Sum256(data)
					fi["sha256"], fi["bytes"] = hex.EncodeToString(sum[:]), len(data)
				}
			}
			manifest, _ = json.Marshal(m)
			fuzzWrite(t, filepath.Join(dir, filepath.FromSlash(target)), data)
		}
		for p, b := range files {
			if dst := filepath.Join(dir, filepath.FromSlash(p)); p != "manifest.json" && !fuzzExists(dst) {
				fuzzWrite(t, dst, b)
			}
		}
		fuzzWrite(t, filepath.Join(dir, "manifest.json"), manifest)
		b, err := routers.Open(dir)
		if err != nil {
			if unchanged { // the harness itself must not break the bundle
				t.Fatalf("the unchanged bundle does not load: %v", err)
			}
			return
		}
		if _, err := b.Router.Route(zeroInput{}); err != nil {
			t.Logf("a loaded bundle fails to route: %v", err) // an error is fine; a panic is not
		}
	})
}

func fuzzWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fuzzExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// zeroInput answers every router's question with zeros.
type zeroInput struct{}

func (zeroInput) Features(names []string) ([]float64, error) { return make([]float64, len(names)), nil }
func (zeroInput) Embedding(string) ([]float64, error)        { return make([]float64, 3), nil }
func (zeroInput) Run(model string) (route.Output, error) {
	return route.Output{Model: model, Scores: make([]float32, 10)}, nil
}
