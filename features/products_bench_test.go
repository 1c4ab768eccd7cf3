package features

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/internal/cvthreads"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/measure"
)

// BenchmarkProducts prints what each step of the canonical feature path
// costs on the first 100 images of each shared set, side by side in one
// run: the decode (at the features' reduction, Reduction), the shrink to
// the working image, and each intermediate product, timed as an
// extractor of the one feature that needs it (so each includes the ~4 µs
// grey conversion it shares), then all 29 features on the working image
// and from the JPEG bytes, the latter also at smaller working sides (other
// definitions: their price, for comparison). Every iteration times each step once on one
// image in a freshly shuffled (seeded) order; a time is the fastest of an
// image's repetitions, averaged over the images. OpenCV runs on the
// calling thread, as in the classifier.
//
//	go test -run '^$' -bench Products -benchtime 1000x ./features
//
// It needs the shared assets and fails, rather than skips, without them.
func BenchmarkProducts(b *testing.B) {
	cvthreads.Set(1)
	for _, set := range []string{"imagenet-val-dev", "imagenet-sample"} {
		b.Run(set, func(b *testing.B) { benchProducts(b, set) })
	}
}

func benchProducts(b *testing.B, set string) {
	const n = 100
	dir := filepath.Join(settings.Assets(), "images", set)
	files, _ := filepath.Glob(filepath.Join(dir, "*.JPEG"))
	if len(files) < n {
		b.Fatalf("need %d images in %s (set %s): found %d", n, dir, settings.EnvAssets, len(files))
	}
	sort.Strings(files)
	raw := make([][]byte, n)
	decoded := make([]gocv.Mat, n)
	works := make([]gocv.Mat, n)
	for i, f := range files[:n] {
		var err error
		if raw[i], err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
		if decoded[i], err = DecodeMax(raw[i], DefaultMaxSide); err != nil {
			b.Fatal(err)
		}
		if works[i], err = workingImage(decoded[i], DefaultMaxSide); err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		for i := range works {
			decoded[i].Close()
			works[i].Close()
		}
	}()
	// Each step is named by what it computes; add appends one.
	var names []string
	var ops []func(i int) error
	add := func(name string, op func(i int) error) { names, ops = append(names, name), append(ops, op) }
	add("decode at the features' reduction", func(i int) error { m, err := DecodeMax(raw[i], DefaultMaxSide); m.Close(); return err })
	add("shrink to the working image", func(i int) error { m, err := workingImage(decoded[i], DefaultMaxSide); m.Close(); return err })
	for _, p := range []struct{ product, feature string }{
		{"grey + luma histogram", "avg_brightness"}, {"HSP brightness", "avg_perceived_brightness"},
		{"grey + FAST count", "n_keypoints"}, {"grey + blur + Canny + segment lengths", "edge_length1"},
		{"grey + blur + Canny + gradient angles", "edge_angle1"}, {"grey + Otsu main object", "area_by_perim"},
		{"HSV + hue histogram", "hue1"},
	} {
		ex, err := NewExtractor([]string{p.feature}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		add(p.product+" ("+p.feature+")", func(i int) error { _, err := ex.extractWorking(works[i]); return err })
	}
	all, err := NewExtractor(nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	add("all 29 features on the working image", func(i int) error { _, err := all.extractWorking(works[i]); return err })
	add("all 29 features from the JPEG bytes", func(i int) error { _, err := all.ExtractBytes(raw[i]); return err })
	// What a smaller working image would save (another definition: the
	// values change with MaxSide, so this is a price, not an option).
	for _, side := range []int{96, 64, 48} {
		ex, err := NewExtractor(nil, Options{MaxSide: side})
		if err != nil {
			b.Fatal(err)
		}
		add(fmt.Sprintf("all 29 features from the JPEG bytes at MaxSide %d", side),
			func(i int) error { _, err := ex.ExtractBytes(raw[i]); return err })
	}

	best, iters, err := measure.FastestPerItem(b.Loop, n, 3, names, ops, rand.New(rand.NewPCG(12, 2)))
	if err != nil {
		b.Fatalf("%s: %v (a short run wants -benchtime %dx or more)", set, err, 3*n)
	}
	var lines []string
	for k, name := range names {
		lines = append(lines, fmt.Sprintf("| %s | %.0f |", name, 1000*measure.MeanMS(best[k])))
	}
	// Printed, not logged: the benchmark log keeps only its first lines.
	fmt.Printf("%s, %d images, %d iterations; OpenCV serial\n\n| step | µs per image |\n|---|---:|\n%s\n\n", set, n, iters, strings.Join(lines, "\n"))
}
