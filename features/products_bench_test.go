package features

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/internal/cvthreads"
	"github.com/modelpick/modelpick/internal/settings"
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
	type step struct {
		name string
		run  func(i int) error
	}
	steps := []step{
		{"decode at the features' reduction", func(i int) error { m, err := DecodeMax(raw[i], DefaultMaxSide); m.Close(); return err }},
		{"shrink to the working image", func(i int) error { m, err := workingImage(decoded[i], DefaultMaxSide); m.Close(); return err }},
	}
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
		steps = append(steps, step{p.product + " (" + p.feature + ")", func(i int) error { _, err := ex.extractWorking(works[i]); return err }})
	}
	all, err := NewExtractor(nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	steps = append(steps,
		step{"all 29 features on the working image", func(i int) error { _, err := all.extractWorking(works[i]); return err }},
		step{"all 29 features from the JPEG bytes", func(i int) error { _, err := all.ExtractBytes(raw[i]); return err }})
	// What a smaller working image would save (another definition: the
	// values change with MaxSide, so this is a price, not an option).
	for _, side := range []int{96, 64, 48} {
		ex, err := NewExtractor(nil, Options{MaxSide: side})
		if err != nil {
			b.Fatal(err)
		}
		steps = append(steps, step{fmt.Sprintf("all 29 features from the JPEG bytes at MaxSide %d", side),
			func(i int) error { _, err := ex.ExtractBytes(raw[i]); return err }})
	}

	best := make([][]time.Duration, len(steps))
	for k := range best {
		best[k] = make([]time.Duration, n)
	}
	order := rand.New(rand.NewPCG(12, 2))
	iters := 0
	for b.Loop() {
		i := iters % n
		for _, k := range order.Perm(len(steps)) {
			t0 := time.Now()
			if err := steps[k].run(i); err != nil {
				b.Fatalf("%s on %s: %v", steps[k].name, files[i], err)
			}
			if d := time.Since(t0); best[k][i] == 0 || d < best[k][i] {
				best[k][i] = d
			}
		}
		iters++
	}
	if iters < 3*n {
		b.Fatalf("%d iterations: use -benchtime %dx or more, for three repetitions of each of the %d images", iters, 3*n, n)
	}
	var lines []string
	for k, s := range steps {
		var sum time.Duration
		for _, d := range best[k] {
			sum += d
		}
		us := float64(sum) / float64(time.Microsecond) / n
		lines = append(lines, fmt.Sprintf("| %s | %.0f |", s.name, us))
	}
	// Printed, not logged: the benchmark log keeps only its first lines.
	fmt.Printf("%s, %d images, %d iterations; OpenCV serial\n\n| step | µs per image |\n|---|---:|\n%s\n\n", set, n, iters, strings.Join(lines, "\n"))
}
