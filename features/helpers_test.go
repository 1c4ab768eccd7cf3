package features

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"
)

// Test images are drawn here, so the unit tests need no files.

// solid returns a w x h BGR image of one colour.
func solid(w, h int, b, g, r uint8) gocv.Mat {
	return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(b), float64(g), float64(r), 0), h, w, gocv.MatTypeCV8UC3)
}

// fromFunc builds a w x h BGR image from a per-pixel function.
func fromFunc(t testing.TB, w, h int, px func(x, y int) (b, g, r uint8)) gocv.Mat {
	t.Helper()
	data := make([]byte, 0, w*h*3)
	for y := range h {
		for x := range w {
			b, g, r := px(x, y)
			data = append(data, b, g, r)
		}
	}
	m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC3, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// scene draws a busy synthetic scene (noise, shapes, colours) like a photo.
func scene(t testing.TB, w, h int, seed uint64) gocv.Mat {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	m := fromFunc(t, w, h, func(x, y int) (uint8, uint8, uint8) {
		n := uint8(rng.IntN(24))
		return uint8(x*255/w)/2 + n, uint8(y*255/h)/2 + n, 90 + n
	})
	for i := range 12 {
		c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 0}
		p := image.Pt(rng.IntN(w), rng.IntN(h))
		switch i % 3 {
		case 0:
			gocv.Circle(&m, p, 5+rng.IntN(w/6+1), c, -1)
		case 1:
			gocv.Rectangle(&m, image.Rectangle{Min: p, Max: p.Add(image.Pt(10+rng.IntN(w/4+1), 10+rng.IntN(h/4+1)))}, c, -1)
		default:
			gocv.Line(&m, p, image.Pt(rng.IntN(w), rng.IntN(h)), c, 2)
		}
	}
	return m
}

// extractAll extracts every feature of img and returns them by name.
func extractAll(t testing.TB, img gocv.Mat, opts Options) map[string]float64 {
	t.Helper()
	ex, err := NewExtractor(nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := ex.Extract(img)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64, len(vals))
	for i, n := range ex.Names() {
		out[n] = vals[i]
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// bins returns prefix1..prefix7 of a feature map.
func bins(v map[string]float64, prefix string) []float64 {
	out := make([]float64, histBins)
	for i := range out {
		out[i] = v[prefix+string(rune('1'+i))]
	}
	return out
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}
