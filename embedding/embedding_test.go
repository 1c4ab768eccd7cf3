package embedding

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/onnxconv"
	"github.com/modelpick/modelpick/store"
	"github.com/modelpick/modelpick/tflite/tflitetest"
)

func setup(t *testing.T, n int) (*datasets.Set, inference.Spec, *store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pooled.tflite"),
		tflitetest.Encode(tflitetest.PooledClassifier(), tflitetest.Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	sf, err := inference.ParseSpec([]byte(tflitetest.PooledClassifierYAML), dir)
	if err != nil {
		t.Fatal(err)
	}
	imgDir := filepath.Join(dir, "set")
	if _, err := imgtest.WriteSet(imgDir, n, 16, func(i int) int { return i % 10 }); err != nil {
		t.Fatal(err)
	}
	set, err := datasets.Load(imgDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return set, sf.Models[0], st, filepath.Join(dir, "cache")
}

func TestRunStoresEmbeddingsAndResumes(t *testing.T) {
	ctx := context.Background()
	set, spec, st, cache := setup(t, 6)
	// A corrupt image is recorded, not fatal.
	if err := os.WriteFile(filepath.Join(set.Dir, "img_00003.jpg"), []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Set: set, Store: st, Spec: spec, Inference: inference.Options{CacheDir: cache}, BatchSize: 2,
		TimeFeatures: []string{"avg_perceived_brightness"}}
	sum, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	// The palette has 4 colours: images 4 and 5 repeat 0 and 1 byte for
	// byte and share their hash, so they are stored once.
	if sum.Images != 6 || sum.Computed != 3 || sum.Skipped != 2 || sum.Failed != 1 || sum.Dims != 3 || !(sum.EmbedMS > 0) || !(sum.FeaturesMS > 0) {
		t.Errorf("summary %+v", sum)
	}
	rows, err := st.Features(ctx, sum.ConfigKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3*3 {
		t.Fatalf("%d rows stored, want 9", len(rows))
	}
	// The first image is solid Palette[0]: its embedding is its colour.
	data, _ := os.ReadFile(filepath.Join(set.Dir, "img_00000.jpg"))
	e, err := inference.LoadEmbedder(spec, inference.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	v, err := Vector(e, data)
	if err != nil {
		t.Fatal(err)
	}
	c := imgtest.Palette[0]
	want := []float64{(float64(c.R) - 128) / 128, (float64(c.G) - 128) / 128, (float64(c.B) - 128) / 128}
	for k := range want {
		if math.Abs(v[k]-want[k]) > 0.05 { // JPEG drifts the colour a little
			t.Errorf("embedding %v, want about %v", v, want)
			break
		}
	}
	var stored []float64
	for _, r := range rows {
		if r.SHA256 == sha(data) {
			stored = append(stored, r.Value)
		}
	}
	if !slices.Equal(stored, v) {
		t.Errorf("stored %v, Vector %v", stored, v)
	}
	errs, _ := st.FeatureErrors(ctx, sum.ConfigKey)
	if len(errs) != 1 {
		t.Errorf("feature errors %v", errs)
	}

	// A second run finds everything done.
	again, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if again.Skipped != 6 || again.Computed != 0 {
		t.Errorf("resumed run %+v", again)
	}
	o.Recompute = true
	forced, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if forced.Computed != 3 || forced.Failed != 1 || !(forced.RunMS > 0) || !(forced.PreprocessMS > 0) {
		t.Errorf("recomputed run %+v", forced)
	}
	if rows, _ := st.Features(ctx, sum.ConfigKey); len(rows) != 9 {
		t.Errorf("%d rows after recomputing, want 9", len(rows))
	}
	if got := Names(3); !slices.Equal(got, []string{"emb000", "emb001", "emb002"}) {
		t.Errorf("Names = %v", got)
	}
	if k := ConfigKey("m", "0123456789abcdef0123"); k != "embedding-v1;model=m;files=0123456789abcdef;onnxconv="+onnxconv.Version {
		t.Errorf("ConfigKey = %s", k)
	}
}

func TestRunCancelled(t *testing.T) {
	set, spec, st, cache := setup(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Options{Set: set, Store: st, Spec: spec, Inference: inference.Options{CacheDir: cache}}); err == nil {
		t.Error("cancelled run succeeded")
	}
}

func sha(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}
