package features

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/internal/cvthreads"
	"github.com/modelpick/modelpick/internal/settings"
)

// paperSubset is the seven features the paper's selection keeps (its
// Table 4), a typical premodel's input.
var paperSubset = []string{"n_keypoints", "avg_perceived_brightness", "hue1", "contrast", "area_by_perim", "edge_length1", "aspect_ratio"}

// BenchmarkExtract times the full 29 features and the paper's 7 on a
// synthetic 227x227 scene and, when the shared assets are present, on the
// real ImageNet images (already decoded, and from JPEG bytes). OpenCV runs
// on the calling thread, as in the classifier.
func BenchmarkExtract(b *testing.B) {
	cvthreads.Set(1)
	img := scene(b, 227, 227, 42)
	defer img.Close()
	sets := map[string][]string{"full": nil, "subset7": paperSubset}
	for _, name := range []string{"full", "subset7"} {
		ex, err := NewExtractor(sets[name], Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/synthetic227", func(b *testing.B) {
			for b.Loop() {
				if _, err := ex.Extract(img); err != nil {
					b.Fatal(err)
				}
			}
			reportMs(b, b.N)
		})
	}

	files, _ := filepath.Glob(filepath.Join(settings.Assets(), "images", "imagenet-val-dev", "*.JPEG"))
	if len(files) == 0 {
		b.Log("no shared ImageNet images; real-image benchmarks not run")
		return
	}
	if len(files) > 100 {
		files = files[:100]
	}
	raw := make([][]byte, len(files))
	mats := make([]gocv.Mat, len(files))
	for i, f := range files {
		var err error
		if raw[i], err = os.ReadFile(f); err != nil {
			b.Fatal(err)
		}
		if mats[i], err = Decode(raw[i]); err != nil {
			b.Fatal(err)
		}
	}
	defer func() {
		for _, m := range mats {
			m.Close()
		}
	}()
	for _, name := range []string{"full", "subset7"} {
		ex, _ := NewExtractor(sets[name], Options{})
		b.Run(name+"/imagenet", func(b *testing.B) {
			n := 0
			for b.Loop() {
				if _, err := ex.Extract(mats[n%len(mats)]); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportMs(b, n)
		})
		b.Run(name+"/imagenet-from-jpeg", func(b *testing.B) {
			n := 0
			for b.Loop() {
				if _, err := ex.ExtractBytes(raw[n%len(raw)]); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportMs(b, n)
		})
	}
}

func reportMs(b *testing.B, images int) {
	if images > 0 {
		b.ReportMetric(float64(b.Elapsed())/float64(time.Millisecond)/float64(images), "ms/image")
	}
}
