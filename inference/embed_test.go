package inference

import (
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/tflite/tflitetest"
)

// tinyTFLite writes tflitetest.PooledClassifier as pooled.tflite.
func tinyTFLite(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "pooled.tflite")
	if err := os.WriteFile(p, tflitetest.Encode(tflitetest.PooledClassifier(), tflitetest.Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEmbedder(t *testing.T) {
	dir := t.TempDir()
	tinyTFLite(t, dir)
	sf, err := ParseSpec([]byte(tflitetest.PooledClassifierYAML), dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{CacheDir: filepath.Join(dir, "cache")}
	e, err := LoadEmbedder(sf.Models[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	plain, err := Load(sf.Models[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if e.Dims() != 3 {
		t.Errorf("Dims = %d, want 3", e.Dims())
	}
	for _, c := range []color.RGBA{{200, 64, 128, 255}, {10, 250, 90, 255}, {128, 128, 128, 255}} {
		path := filepath.Join(dir, "img.png")
		if err := imgtest.WritePNG(path, imgtest.Solid(16, 16, c)); err != nil {
			t.Fatal(err)
		}
		img := gocv.IMRead(path, gocv.IMReadColor)
		emb, err := e.Embed(img)
		if err != nil {
			t.Fatal(err)
		}
		// A solid image pools to its own colour, RGB, as real values.
		want := []float64{(float64(c.R) - 128) / 128, (float64(c.G) - 128) / 128, (float64(c.B) - 128) / 128}
		for k := range want {
			if math.Abs(float64(emb[k])-want[k]) > 1.01/128 {
				t.Errorf("colour %v: embedding %v, want %v", c, emb, want)
				break
			}
		}
		// The same run's scores are the plain model's.
		scores := append([]float32(nil), e.Scores()...)
		if _, err := plain.Classify(img, 5); err != nil {
			t.Fatal(err)
		}
		for k, s := range plain.Scores() {
			if scores[k] != s {
				t.Fatalf("colour %v: score %d = %v, plain model %v", c, k, scores[k], s)
			}
		}
		img.Close()
	}
	// The second load reuses the cached import; the plain import has its
	// own cache entry.
	cached, _ := filepath.Glob(filepath.Join(dir, "cache", "onnx", "*.onnx"))
	if len(cached) != 2 {
		t.Errorf("cache holds %v, want the plain and the embedding import", cached)
	}
	again, err := LoadEmbedder(sf.Models[0], opts)
	if err != nil {
		t.Fatal(err)
	}
	again.Close()

	// Only single .tflite files can expose an embedding.
	tinyModel(t, dir, 8)
	onnxSpec, err := ParseSpec([]byte(tinyYAML), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadEmbedder(onnxSpec.Models[0], opts); err == nil || !strings.Contains(err.Error(), ".tflite") {
		t.Errorf("ONNX spec: %v", err)
	}
}
