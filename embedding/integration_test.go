package embedding

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/settings"
)

// TestRealBackbone embeds real ImageNet images with the cheapest ladder
// model: a 256-d embedding of ReLU6 activations, and the class scores of
// the same run equal to the plain model's. It needs the shared assets and
// fails, rather than skips, without them.
func TestRealBackbone(t *testing.T) {
	specPath := filepath.Join(settings.RepoRoot(), "experiments", "models", "ladder.yaml")
	files, _ := filepath.Glob(filepath.Join(settings.Assets(), "images", "imagenet-val-dev", "*.JPEG"))
	if len(files) < 10 {
		t.Fatalf("need the shared ImageNet images under %s (set %s): found %d", settings.Assets(), settings.EnvAssets, len(files))
	}
	sort.Strings(files)
	sf, err := inference.ParseSpecFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	var spec inference.Spec
	for _, s := range sf.Models {
		if s.Name == "mobilenet_v1_0.25_128" {
			spec = s
		}
	}
	if spec.Name == "" {
		t.Fatalf("%s has no mobilenet_v1_0.25_128", specPath)
	}
	opts := inference.Options{CacheDir: t.TempDir()}
	e, err := inference.LoadEmbedder(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	plain, err := inference.Load(spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if e.Dims() != 256 {
		t.Fatalf("Dims = %d, want 256", e.Dims())
	}
	for _, f := range files[:10] {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Vector(e, data)
		if err != nil {
			t.Fatal(err)
		}
		nonzero := 0
		for _, x := range v {
			if x < 0 || x > 6 {
				t.Fatalf("%s: embedding value %v outside ReLU6's [0, 6]", f, x)
			}
			if x > 0 {
				nonzero++
			}
		}
		if nonzero < 32 {
			t.Errorf("%s: only %d of 256 dimensions non-zero", f, nonzero)
		}
		scores := append([]float32(nil), e.Scores()...)
		img, err := inference.DecodeImage(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := plain.Classify(img, 5); err != nil {
			t.Fatal(err)
		}
		img.Close()
		for k, s := range plain.Scores() {
			if scores[k] != s {
				t.Fatalf("%s: score %d = %v with the embedding output, %v in the plain model", f, k, scores[k], s)
			}
		}
	}
}
