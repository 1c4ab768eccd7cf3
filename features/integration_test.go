package features

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
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

// pinnedValues is testdata/values.json: a digest, per feature, of the
// values on the first images of each shared set.
type pinnedValues struct {
	Note    string            `json:"note"`
	Version string            `json:"features_version"`
	OpenCV  string            `json:"opencv"`
	Images  map[string]int    `json:"images"`
	SHA256  map[string]string `json:"sha256_of_float64_bits"`
}

// TestValuesPinned recomputes every feature from the JPEG bytes of the
// first 100 images of both shared sets and compares, feature by feature,
// a digest of the exact float64 values with the one recorded under the
// current Version. A faster implementation must leave every bit as it
// was; a change of definition must bump Version (stored values are keyed
// by it) and rewrite the file: go test ./features -run TestValuesPinned -update.
func TestValuesPinned(t *testing.T) {
	const perSet = 100
	sets := []string{"imagenet-val-dev", "imagenet-sample"}
	got := pinnedValues{
		Note:    "written by go test ./features -run TestValuesPinned -update; see TestValuesPinned",
		Version: Version, OpenCV: OpenCVVersion(), Images: map[string]int{}, SHA256: map[string]string{},
	}
	ex, err := NewExtractor(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := ex.Names()
	hs := make([]hash.Hash, len(names))
	for i := range hs {
		hs[i] = sha256.New()
	}
	for _, set := range sets {
		dir := filepath.Join(settings.Assets(), "images", set)
		files, _ := filepath.Glob(filepath.Join(dir, "*.JPEG"))
		if len(files) < perSet {
			t.Fatalf("need %d images in %s (set %s to the assets folder): found %d", perSet, dir, settings.EnvAssets, len(files))
		}
		sort.Strings(files)
		for _, f := range files[:perSet] {
			vals, err := ex.ExtractFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				hs[i].Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)))
			}
		}
		got.Images[set] = perSet
	}
	for i, n := range names {
		got.SHA256[n] = hex.EncodeToString(hs[i].Sum(nil))
	}
	const path = "testdata/values.json"
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./features -run TestValuesPinned -update records it)", err)
	}
	var want pinnedValues
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if want.Version != Version || want.OpenCV != got.OpenCV {
		t.Fatalf("%s was recorded for %s with OpenCV %s; this is %s with OpenCV %s: record it again with -update if the change is intended",
			path, want.Version, want.OpenCV, Version, got.OpenCV)
	}
	for _, n := range names {
		if got.SHA256[n] != want.SHA256[n] {
			t.Errorf("%s: values on the real images changed under the same %s: keep the definition bit for bit, or bump features.Version and run -update", n, Version)
		}
	}
}
