package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/store"
)

// badFiles are the awkward inputs every run must survive, and whether each
// must end as a recorded feature error (true) or give features (false).
var badFiles = map[string]bool{
	"bad_corrupt.jpg":   true,  // random bytes
	"bad_truncated.jpg": true,  // a JPEG cut in half
	"bad_empty.jpg":     true,  // zero bytes
	"bad_1x1.png":       false, // defined features (no edges, no object)
	"bad_alpha.png":     false, // alpha dropped
	"bad_gray.png":      false, // expanded to BGR
	"bad_cmyk.jpg":      false, // converted by libjpeg
}

// writeSet writes n synthetic photos (random rectangles on a gradient, so
// every image has different features) plus the bad files, with labels.
func writeSet(t *testing.T, n int) *datasets.Set {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	var labels strings.Builder
	for i := range n {
		w, h := 40+rng.IntN(120), 40+rng.IntN(120)
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(rng.IntN(40)), 255})
			}
		}
		for range 1 + rng.IntN(5) {
			c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
			x0, y0 := rng.IntN(w), rng.IntN(h)
			r := image.Rect(x0, y0, x0+5+rng.IntN(w/2), y0+5+rng.IntN(h/2))
			draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
		}
		name := fmt.Sprintf("img_%03d.jpg", i)
		if err := imgtest.WriteJPEG(filepath.Join(dir, name), img); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&labels, "%s %d\n", name, i%5)
	}
	good := filepath.Join(dir, "img_000.jpg")
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 500)
	for i := range noise {
		noise[i] = byte(rng.IntN(256))
	}
	alpha := image.NewNRGBA(image.Rect(0, 0, 30, 20))
	draw.Draw(alpha, alpha.Bounds(), &image.Uniform{color.NRGBA{200, 30, 30, 90}}, image.Point{}, draw.Src)
	gray := image.NewGray(image.Rect(0, 0, 25, 25))
	draw.Draw(gray, image.Rect(5, 5, 20, 20), &image.Uniform{color.Gray{200}}, image.Point{}, draw.Src)
	cmyk, err := os.ReadFile(filepath.Join("testdata", "cmyk.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(string) error{
		"bad_corrupt.jpg":   func(p string) error { return os.WriteFile(p, noise, 0o644) },
		"bad_truncated.jpg": func(p string) error { return os.WriteFile(p, whole[:len(whole)/2], 0o644) },
		"bad_empty.jpg":     func(p string) error { return os.WriteFile(p, nil, 0o644) },
		"bad_1x1.png":       func(p string) error { return imgtest.WritePNG(p, imgtest.Solid(1, 1, color.RGBA{9, 9, 9, 255})) },
		"bad_alpha.png":     func(p string) error { return imgtest.WritePNG(p, alpha) },
		"bad_gray.png":      func(p string) error { return imgtest.WritePNG(p, gray) },
		"bad_cmyk.jpg":      func(p string) error { return os.WriteFile(p, cmyk, 0o644) },
	} {
		if err := write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&labels, "%s 0\n", name)
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.txt"), []byte(labels.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := datasets.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func openStore(t *testing.T, name string) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// countFailures is the number of bad files that must fail.
func countFailures() int {
	f := 0
	for _, isErr := range badFiles {
		if isErr {
			f++
		}
	}
	return f
}

func TestRunStoresFeaturesAndErrors(t *testing.T) {
	ctx := context.Background()
	set := writeSet(t, 12)
	st := openStore(t, "f.db")
	var prog bytes.Buffer
	sum, err := Run(ctx, Options{Set: set, Store: st, Workers: 2, BatchSize: 5, Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	nBad := countFailures()
	n := len(set.Items)
	if sum.Images != n || sum.Failed != nBad || sum.Computed != n-nBad || sum.Skipped != 0 || sum.Unreadable != 0 {
		t.Fatalf("summary %+v, want %d images, %d failed", sum, n, nBad)
	}
	if !strings.Contains(prog.String(), fmt.Sprintf("features %s: %d/%d (100.0%%)", set.Name, n, n)) ||
		!strings.Contains(prog.String(), "done in") {
		t.Errorf("progress line %q", prog.String())
	}
	ex, _ := features.NewExtractor(nil, features.Options{})
	key := ex.ConfigKey()
	rows, err := st.Features(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != (n-nBad)*len(features.Names()) {
		t.Fatalf("%d feature rows, want %d", len(rows), (n-nBad)*len(features.Names()))
	}
	errs, err := st.FeatureErrors(ctx, key)
	if err != nil || len(errs) != nBad {
		t.Fatalf("feature errors %v, %v", errs, err)
	}
	failed := map[string]bool{}
	for _, f := range sum.Failures {
		failed[f.File] = true
		if f.Error == "" {
			t.Errorf("%s failed with an empty message", f.File)
		}
	}
	for name, isErr := range badFiles {
		if failed[name] != isErr {
			t.Errorf("%s: failed=%v, want %v", name, failed[name], isErr)
		}
	}
	// The stored values are exactly what the extractor gives the file.
	data, _ := os.ReadFile(filepath.Join(set.Dir, "img_003.jpg"))
	want, err := ex.ExtractBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	got := byName(rows, sha(data))
	for i, name := range ex.Names() {
		if got[name] != want[i] {
			t.Errorf("%s: stored %v, extractor %v", name, got[name], want[i])
		}
	}
	runs, _ := st.Runs(ctx)
	if len(runs) != 1 || runs[0].Command != "features" || runs[0].Finished.IsZero() ||
		!strings.Contains(runs[0].ManifestJSON, key) {
		t.Errorf("runs %+v", runs)
	}
}

// TestCancelThenResumeEqualsUninterrupted cancels a run part-way, resumes
// it, and compares the store with that of an uninterrupted run.
func TestCancelThenResumeEqualsUninterrupted(t *testing.T) {
	ctx := context.Background()
	set := writeSet(t, 30)
	full := openStore(t, "full.db")
	if _, err := Run(ctx, Options{Set: set, Store: full, Workers: 1}); err != nil {
		t.Fatal(err)
	}

	resumed := openStore(t, "resumed.db")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o := Options{Set: set, Store: resumed, Workers: 3, BatchSize: 4}
	o.afterResult = func(n int) {
		if n == 9 {
			cancel()
		}
	}
	first, err := Run(cctx, o)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "rerun to resume") {
		t.Fatalf("cancelled run: err %v", err)
	}
	done := first.Computed + first.Failed
	if done < 9 || done >= len(set.Items) {
		t.Fatalf("cancelled run did %d of %d images", done, len(set.Items))
	}
	o.afterResult = nil
	second, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if second.Skipped != done || second.Computed+second.Failed != len(set.Items)-done {
		t.Fatalf("resume: %+v after %d stored", second, done)
	}
	if d, err := store.Diff(ctx, full, resumed); err != nil || len(d) != 0 {
		t.Fatalf("resumed store differs from the uninterrupted one: %v %v", d, err)
	}
	third, err := Run(ctx, o)
	if err != nil || third.Skipped != len(set.Items) || third.Computed+third.Failed != 0 {
		t.Fatalf("a finished run resumed: %+v %v", third, err)
	}
}

// TestSubset computes two features only, then all of them.
func TestSubset(t *testing.T) {
	ctx := context.Background()
	set := writeSet(t, 8)
	st := openStore(t, "s.db")
	only := []string{"hue3", "contrast"}
	sum, err := Run(ctx, Options{Set: set, Store: st, Names: only})
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := features.NewExtractor(only, features.Options{})
	rows, _ := st.Features(ctx, ex.ConfigKey())
	names := map[string]int{}
	for _, r := range rows {
		names[r.Name]++
	}
	if len(names) != 2 || names["hue3"] != sum.Computed || names["contrast"] != sum.Computed {
		t.Fatalf("subset run stored %v for %d images", names, sum.Computed)
	}
	if !slices.Equal(sum.Names, only) {
		t.Errorf("summary names %v", sum.Names)
	}
	// Same subset again: nothing to do. The full set: the good images lack
	// 27 features, so they are computed; the failed ones are not retried.
	again, _ := Run(ctx, Options{Set: set, Store: st, Names: []string{"contrast", "hue3"}})
	if again.Skipped != len(set.Items) {
		t.Errorf("subset rerun %+v", again)
	}
	all, err := Run(ctx, Options{Set: set, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if all.Computed != sum.Computed || all.Skipped != sum.Failed {
		t.Errorf("full run after subset: %+v (subset %+v)", all, sum)
	}
	rows, _ = st.Features(ctx, ex.ConfigKey())
	if len(rows) != sum.Computed*len(features.Names()) {
		t.Errorf("%d rows after the full run", len(rows))
	}
}

func TestWorkerCountDoesNotChangeValues(t *testing.T) {
	ctx := context.Background()
	set := writeSet(t, 10)
	a, b := openStore(t, "a.db"), openStore(t, "b.db")
	if _, err := Run(ctx, Options{Set: set, Store: a, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, Options{Set: set, Store: b, Workers: 4, BatchSize: 1, Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if sum, err := Run(ctx, Options{Set: set, Store: b, Workers: 4, BatchSize: 1}); err != nil || sum.Skipped != 5 {
		t.Fatalf("limit then all: %+v %v", sum, err)
	}
	if d, err := store.Diff(ctx, a, b); err != nil || len(d) != 0 {
		t.Fatalf("stores differ: %v %v", d, err)
	}
}

func TestBadOptionsRejectedBeforeWork(t *testing.T) {
	ctx := context.Background()
	set := writeSet(t, 2)
	st := openStore(t, "x.db")
	if _, err := Run(ctx, Options{Set: set, Store: st, Names: []string{"contrast", "n_pixels"}}); err == nil ||
		!strings.Contains(err.Error(), "n_pixels") {
		t.Fatalf("unknown feature: %v", err)
	}
	if _, err := Run(ctx, Options{Set: set, Store: st, Features: features.Options{MaxSide: -1}}); err == nil {
		t.Fatal("negative MaxSide accepted")
	}
	if _, err := Run(ctx, Options{Store: st}); err == nil {
		t.Fatal("no data set accepted")
	}
	if runs, _ := st.Runs(ctx); len(runs) != 0 {
		t.Fatalf("a rejected run was recorded: %+v", runs)
	}
}

func TestUnreadableFileIsReportedNotRecorded(t *testing.T) {
	ctx := context.Background()
	set := writeSet(t, 3)
	if err := os.Remove(filepath.Join(set.Dir, "img_001.jpg")); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, "u.db")
	sum, err := Run(ctx, Options{Set: set, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	missing := slices.IndexFunc(sum.Failures, func(f ImageFailure) bool { return f.File == "img_001.jpg" })
	if sum.Unreadable != 1 || missing < 0 || !strings.Contains(sum.Failures[missing].Error, "no such file") {
		t.Fatalf("summary %+v", sum)
	}
	if errs, _ := st.FeatureErrors(ctx, ""); len(errs) != countFailures() {
		t.Fatalf("errors %v", errs)
	}
}
