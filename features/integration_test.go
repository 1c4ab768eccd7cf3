package features

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/modelpick/modelpick/internal/settings"
)

// This test reads the shared assets (see settings.Assets) and fails, rather
// than skips, when they are missing: a silently skipped check on the real
// data is worse than a loud one.

// TestRealImages extracts every feature from 50 ImageNet validation images
// and checks each value is finite and in its range.
func TestRealImages(t *testing.T) {
	dir := filepath.Join(settings.Assets(), "images", "imagenet-val-dev")
	files, err := filepath.Glob(filepath.Join(dir, "*.JPEG"))
	if err != nil || len(files) < 50 {
		t.Fatalf("need 50 images in %s (set %s to the assets folder): found %d, %v", dir, settings.EnvAssets, len(files), err)
	}
	sort.Strings(files)
	files = files[:50]

	ex, err := NewExtractor(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := ex.Names()
	var total time.Duration
	sums := make([]float64, len(names))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		vals, err := ex.ExtractBytes(data)
		total += time.Since(start)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for i, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Errorf("%s: %s = %v", filepath.Base(f), names[i], v)
			}
			sums[i] += v
		}
		checkRanges(t, filepath.Base(f), names, vals)
	}
	t.Logf("mean extraction time (decode + 29 features): %.2f ms/image over %d images", float64(total)/float64(time.Millisecond)/float64(len(files)), len(files))
	for i, n := range names {
		t.Logf("  mean %-26s %.4g", n, sums[i]/float64(len(files)))
	}
}

// checkRanges checks the bounds the definitions promise.
func checkRanges(t *testing.T, file string, names []string, vals []float64) {
	t.Helper()
	v := make(map[string]float64, len(names))
	for i, n := range names {
		v[n] = vals[i]
	}
	for _, n := range []string{"avg_brightness", "brightness_rms", "avg_perceived_brightness", "perceived_brightness_rms"} {
		if v[n] > 1 {
			t.Errorf("%s: %s = %v > 1", file, n, v[n])
		}
	}
	if v["contrast"] > 0.5 || v["area_by_perim"] > 0.25+1e-9 {
		t.Errorf("%s: contrast %v, area_by_perim %v out of range", file, v["contrast"], v["area_by_perim"])
	}
	if s := sum(bins(v, "edge_length")); s != 0 && math.Abs(s-1) > 1e-9 {
		t.Errorf("%s: edge_length bins sum to %v", file, s)
	}
	if s := sum(bins(v, "edge_angle")); s != 0 && math.Abs(s-1) > 1e-9 {
		t.Errorf("%s: edge_angle bins sum to %v", file, s)
	}
	if s := sum(bins(v, "hue")); s > 1+1e-9 {
		t.Errorf("%s: hue bins sum to %v", file, s)
	}
}
