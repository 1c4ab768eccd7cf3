package routers

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/bundle"
	"github.com/modelpick/modelpick/internal/npy"
	"github.com/modelpick/modelpick/internal/premodeltest"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profileview"
)

func TestBundleRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path, specs := premodeltest.MakeStore(t, dir, premodeltest.World{N: 150, Seed: 4, Dataset: "train"})
	s := premodeltest.LoadSet(t, path, profileview.Top5)
	r := rand.New(rand.NewPCG(5, 5))
	probe := make([][]float64, 50)
	for i := range probe {
		probe[i] = []float64{1.2*r.Float64() - 0.1, 0.4 * r.Float64()}
	}
	for _, name := range []string{"knn", "knn-cascade", "dt", "svm", "dt.knn"} {
		t.Run(name, func(t *testing.T) {
			p, err := premodel.Train(s, premodel.Options{Learner: name, Theta: premodel.DefaultTheta, Seed: 7, Escalate: true, Fallback: premodel.FallbackNone,
				Params: learners.Params{K: 3}})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "bundle-"+name)
			labels := []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"}
			if err := writePremodel(out, p, s, WriteOptions{Specs: specs, Labels: labels, LabelsSource: "test"}); err != nil {
				t.Fatal(err)
			}
			b, err := Open(out)
			if err != nil {
				t.Fatal(err)
			}
			q := premodelOf(t, b)
			if q.Criterion != profileview.Top5 || q.LearnerName != name || q.Seed != 7 || q.Fallback != "" || !q.Confidence.Escalate ||
				!slices.Equal(q.Candidates, p.Candidates) || !slices.Equal(q.FeatureNames, premodeltest.Names) || q.Params.K != 3 ||
				q.Confidence != p.Confidence || !reflect.DeepEqual(q.Scaler, p.Scaler) {
				t.Errorf("loaded premodel differs: %+v\nwant %+v", q, p)
			}
			if !slices.Equal(b.Labels, labels) || b.Manifest.Fallback != "none" || b.Manifest.Version != bundle.Version {
				t.Errorf("labels %v, manifest %+v", b.Labels, b.Manifest)
			}
			var names []string
			for _, sp := range b.Specs {
				names = append(names, sp.Name)
				if !strings.HasPrefix(sp.FilePath(0), out) {
					t.Errorf("spec %s reads %s, outside the bundle", sp.Name, sp.FilePath(0))
				}
			}
			if !slices.Equal(names, p.Models()) {
				t.Errorf("bundle models %v, want %v", names, p.Models())
			}
			for _, x := range append(slices.Clone(s.X), probe...) {
				a, err1 := p.Decide(x)
				c, err2 := q.Decide(x)
				if err1 != nil || err2 != nil || !reflect.DeepEqual(a, c) {
					t.Fatalf("Decide(%v): %+v (%v) before, %+v (%v) after", x, a, err1, c, err2)
				}
			}
		})
	}
}

func writeTestBundle(t *testing.T) (string, *premodel.Premodel) {
	t.Helper()
	dir := t.TempDir()
	path, specs := premodeltest.MakeStore(t, dir, premodeltest.World{N: 100, Seed: 5, Dataset: "train"})
	s := premodeltest.LoadSet(t, path, profileview.Top1)
	p, err := premodel.Train(s, premodel.Options{Learner: "knn-cascade", Theta: premodel.DefaultTheta})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bundle")
	if err := writePremodel(out, p, s, WriteOptions{Specs: specs}); err != nil {
		t.Fatal(err)
	}
	return out, p
}

func TestBundleRefusesTampering(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(dir string) error
		want   string
	}{
		{"model file", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "models", "big", "big.onnx"), []byte("another model"), 0o644)
		}, "models/big/big.onnx"},
		{"learner", func(dir string) error {
			b, _ := os.ReadFile(filepath.Join(dir, learnerFile))
			b[len(b)-1] ^= 1
			return os.WriteFile(filepath.Join(dir, learnerFile), b, 0o644)
		}, learnerFile},
		{"missing array", func(dir string) error { return os.Remove(filepath.Join(dir, trainXFile)) }, trainXFile},
		{"training rows", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, trainYFile), npy.Ints([]int{0, 1}), 0o644)
		}, trainYFile},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := writeTestBundle(t)
			if err := c.change(dir); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir)
			if err == nil || !errors.Is(err, bundle.ErrBundle) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want bundle.ErrBundle naming %s", err, c.want)
			}
		})
	}
}

func TestBundleRefusesOtherVersions(t *testing.T) {
	dir, _ := writeTestBundle(t)
	mp := filepath.Join(dir, bundle.ManifestFile)
	orig, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) {
		var m map[string]any
		if err := json.Unmarshal(orig, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		if err := os.WriteFile(mp, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit(func(m map[string]any) { m["version"] = bundle.Version + 1 })
	if _, err := Open(dir); err == nil || !errors.Is(err, bundle.ErrBundle) || !strings.Contains(err.Error(), "bundle version 2") ||
		!strings.Contains(err.Error(), "retrain") {
		t.Errorf("other version: %v", err)
	}
	edit(func(m map[string]any) { m["format"] = "something-else" })
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not a modelpick bundle") {
		t.Errorf("other format: %v", err)
	}
	edit(func(m map[string]any) {
		f := m["features"].(map[string]any)
		f["config_key"] = "features-v0;max_side=256"
	})
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "features-v0") {
		t.Errorf("other feature version: %v", err)
	}
	edit(func(m map[string]any) { m["files"] = m["files"].([]any)[1:] }) // drop one file's hash
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "not listed") {
		t.Errorf("unlisted file: %v", err)
	}
	if err := os.WriteFile(mp, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Errorf("restored manifest: %v", err)
	}
}

func TestWriteBundleChecks(t *testing.T) {
	dir := t.TempDir()
	path, specs := premodeltest.MakeStore(t, dir, premodeltest.World{N: 60, Seed: 6, Dataset: "train"})
	s := premodeltest.LoadSet(t, path, profileview.Top1)
	p, err := premodel.Train(s, premodel.Options{Learner: "knn"})
	if err != nil {
		t.Fatal(err)
	}
	busy := filepath.Join(dir, "busy")
	if err := os.MkdirAll(busy, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(busy, "thesis.tex"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writePremodel(busy, p, s, WriteOptions{Specs: specs}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-bundle folder overwritten: %v", err)
	}
	// A model file that changed since profiling is refused.
	if err := os.WriteFile(filepath.Join(dir, "small.onnx"), []byte("retrained"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writePremodel(filepath.Join(dir, "b"), p, s, WriteOptions{Specs: specs}); err == nil ||
		!strings.Contains(err.Error(), "not the ones profiled") {
		t.Errorf("changed model file: %v", err)
	}
	if err := writePremodel(filepath.Join(dir, "c"), p, s, WriteOptions{Specs: specs[:1]}); err == nil ||
		!strings.Contains(err.Error(), "no spec for model") {
		t.Errorf("missing spec: %v", err)
	}
	p.MaxSide = 64
	if err := writePremodel(filepath.Join(dir, "d"), p, s, WriteOptions{Specs: specs}); err == nil ||
		!strings.Contains(err.Error(), "-max-side") {
		t.Errorf("wrong max side: %v", err)
	}
}

// writePremodel writes a premodel's bundle.
func writePremodel(out string, p *premodel.Premodel, s *profileview.Table, o WriteOptions) error {
	tr, err := FromPremodel(p, s)
	if err != nil {
		return err
	}
	return Write(out, tr, o)
}

func premodelOf(t *testing.T, b *Loaded) *premodel.Premodel {
	t.Helper()
	p, ok := b.Router.(*premodel.Premodel)
	if !ok {
		t.Fatalf("router %T, want a premodel", b.Router)
	}
	return p
}
