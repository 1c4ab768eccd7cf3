package inference

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/internal/onnxtest"
)

// tinySpec writes a tiny ONNX classifier (11 outputs, background at 0) and
// returns a spec YAML for it.
func tinyModel(t *testing.T, dir string, size int) string {
	t.Helper()
	b, err := onnxtest.Classifier{Size: size, Outputs: 11}.Build()
	if err != nil {
		t.Fatal(err)
	}
	p, err := onnxtest.Write(dir, "tiny.onnx", b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const tinyYAML = `models:
  - name: tiny
    files: [tiny.onnx]
    input_size: 8
    crop_fraction: 0.875
    label_offset: 1
    num_classes: 10
`

func TestParseSpecRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	tinyModel(t, dir, 8)
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown field", strings.Replace(tinyYAML, "input_size: 8", "input_size: 8\n    colour: red", 1), "field colour not found"},
		{"wrong type", strings.Replace(tinyYAML, "input_size: 8", "input_size: big", 1), "line 4"},
		{"missing file", strings.Replace(tinyYAML, "tiny.onnx", "nope.onnx", 1), "field files[0]"},
		{"bad layout", strings.Replace(tinyYAML, "input_size: 8", "input_size: 8\n    layout: HWC", 1), "field layout"},
		{"bad crop", strings.Replace(tinyYAML, "crop_fraction: 0.875", "crop_fraction: 1.5", 1), "field crop_fraction"},
		{"bad resize", strings.Replace(tinyYAML, "input_size: 8", "input_size: 8\n    resize: fancy", 1), "field resize"},
		{"zero std", strings.Replace(tinyYAML, "input_size: 8", "input_size: 8\n    std: [1, 0, 1]", 1), "field std[1]"},
		{"no name", strings.Replace(tinyYAML, "name: tiny", "name: \"\"", 1), "field name"},
		{"empty", "", "empty spec"},
		{"no models", "models: []\n", "no models"},
		{"duplicate", tinyYAML + strings.TrimPrefix(tinyYAML, "models:\n"), "duplicate name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(c.yaml), dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	sf, err := ParseSpec([]byte(tinyYAML), dir)
	if err != nil {
		t.Fatalf("valid spec rejected: %v", err)
	}
	s := sf.Models[0]
	if s.Layout != "NHWC" || s.DType != "float32" || s.Resize != "bilinear" || s.Std != [3]float64{1, 1, 1} {
		t.Fatalf("defaults not applied: %+v", s)
	}
}

func TestSpecFilePathExpandsAssets(t *testing.T) {
	t.Setenv("MODELPICK_ASSETS", "/data/assets")
	s := Spec{Files: []string{"${assets}/m.tflite", "rel.onnx"}, dir: "/specs"}
	if got := s.FilePath(0); got != "/data/assets/m.tflite" {
		t.Errorf("FilePath(0) = %s", got)
	}
	if got := s.FilePath(1); got != "/specs/rel.onnx" {
		t.Errorf("FilePath(1) = %s", got)
	}
}

func TestLoadRejectsShapeMismatch(t *testing.T) {
	dir := t.TempDir()
	tinyModel(t, dir, 8)
	for _, c := range []struct{ from, to, want string }{
		{"input_size: 8", "input_size: 16", "fix input_size or layout"},
		{"input_size: 8", "input_size: 8\n    dtype: uint8", "fix dtype"},
		{"num_classes: 10", "num_classes: 1000", "num_classes 1000"},
	} {
		sf, err := ParseSpec([]byte(strings.Replace(tinyYAML, c.from, c.to, 1)), dir)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(sf.Models[0], Options{CacheDir: t.TempDir()})
		if err == nil {
			m.Close()
			t.Fatalf("%s: loaded a mismatched model", c.to)
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "tiny.onnx") {
			t.Errorf("%s: error %q should name the file and say %q", c.to, err, c.want)
		}
	}
}

func TestClassifyTinyModel(t *testing.T) {
	dir := t.TempDir()
	tinyModel(t, dir, 8)
	sf, err := ParseSpec([]byte(tinyYAML), dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(sf.Models[0], Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// With DefaultWeights output o listens to RGB channel o%3 with weight
	// 1+o: red wins output 9 (class 8), green 10 (class 9), blue 8 (class 7).
	for _, c := range []struct {
		col  color.RGBA
		want int
	}{
		{color.RGBA{R: 200, A: 255}, 8},
		{color.RGBA{G: 200, A: 255}, 9},
		{color.RGBA{B: 200, A: 255}, 7},
	} {
		p := filepath.Join(dir, "c.png")
		if err := imgtest.WritePNG(p, imgtest.Solid(20, 20, c.col)); err != nil {
			t.Fatal(err)
		}
		img, err := DecodeImageFile(p)
		if err != nil {
			t.Fatal(err)
		}
		top, err := m.Classify(img, 5)
		img.Close()
		if err != nil {
			t.Fatal(err)
		}
		if top.Index[0] != c.want || len(top.Index) != 5 {
			t.Errorf("colour %v: top %v, want class %d first", c.col, top.Index, c.want)
		}
		for k := 1; k < len(top.Score); k++ {
			if top.Score[k] > top.Score[k-1] {
				t.Errorf("scores not sorted: %v", top.Score)
			}
		}
	}
}

func TestChainedFiles(t *testing.T) {
	dir := t.TempDir()
	tinyModel(t, dir, 8)
	id, err := onnxtest.Identity(1, 11)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnxtest.Write(dir, "head.onnx", id); err != nil {
		t.Fatal(err)
	}
	bad, err := onnxtest.Identity(1, 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnxtest.Write(dir, "bad.onnx", bad); err != nil {
		t.Fatal(err)
	}
	sf, err := ParseSpec([]byte(strings.Replace(tinyYAML, "[tiny.onnx]", "[tiny.onnx, head.onnx]", 1)), dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(sf.Models[0], Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	img, err := DecodeImage(mustPNG(t, dir, color.RGBA{R: 250, A: 255}))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	top, err := m.Classify(img, 1)
	if err != nil {
		t.Fatal(err)
	}
	if top.Index[0] != 8 {
		t.Errorf("chain: top %v, want 8", top.Index)
	}
	if len(strings.Split(m.FilesSHA, ",")) != 2 {
		t.Errorf("FilesSHA %q should list two hashes", m.FilesSHA)
	}

	sf, err = ParseSpec([]byte(strings.Replace(tinyYAML, "[tiny.onnx]", "[tiny.onnx, bad.onnx]", 1)), dir)
	if err != nil {
		t.Fatal(err)
	}
	if m2, err := Load(sf.Models[0], Options{CacheDir: t.TempDir()}); err == nil {
		m2.Close()
		t.Fatal("a chain whose shapes differ loaded")
	} else if !strings.Contains(err.Error(), "does not chain") {
		t.Errorf("error %q should say the files do not chain", err)
	}
}

func mustPNG(t *testing.T, dir string, c color.RGBA) []byte {
	t.Helper()
	p := filepath.Join(dir, "x.png")
	if err := imgtest.WritePNG(p, imgtest.Solid(16, 12, c)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRejectsBadImages(t *testing.T) {
	good := mustPNG(t, t.TempDir(), color.RGBA{G: 9, A: 255})
	for name, data := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("this is not an image"),
		"truncated": good[:len(good)/3],
		"header":    good[:8],
	} {
		m, err := DecodeImage(data)
		m.Close()
		if err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestCentralCrop(t *testing.T) {
	// tf.image.central_crop(227x227, 0.875): start int((227-198.625)/2) = 14.
	if got, want := CentralCrop(227, 227, 0.875), image.Rect(14, 14, 213, 213); got != want {
		t.Errorf("227: got %v want %v", got, want)
	}
	if got := CentralCrop(10, 4, 1); got != image.Rect(0, 0, 10, 4) {
		t.Errorf("fraction 1: %v", got)
	}
	if got := CentralCrop(1, 1, 0.5); got.Dx() != 1 || got.Dy() != 1 {
		t.Errorf("1x1: %v", got)
	}
}

func TestTop(t *testing.T) {
	scores := []float32{0.9, 0.1, 0.3, 0.3, 0.05, 0.25}
	got := Top(scores, 3, 1, 5)
	want := []int{1, 2, 4} // outputs 2 and 3 tie: the lower index wins first
	for i := range want {
		if got.Index[i] != want[i] {
			t.Fatalf("Top = %v, want %v", got.Index, want)
		}
	}
	if got := Top(scores, 10, 1, 5); len(got.Index) != 5 {
		t.Errorf("k > classes: got %d", len(got.Index))
	}
}

func TestTFBilinearResize(t *testing.T) {
	// A 4x2 grey ramp (values 0, 40, 80, 120 across) resized to 2x2 samples
	// source x = 0 and 2 (d*in/out, no half-pixel offset): 0 and 80.
	src := gocv.NewMatWithSize(2, 4, gocv.MatTypeCV8UC3)
	defer src.Close()
	for y := 0; y < 2; y++ {
		for x := 0; x < 4; x++ {
			for c := 0; c < 3; c++ {
				src.SetUCharAt(y, 3*x+c, uint8(40*x))
			}
		}
	}
	p, err := newPreprocessor(Spec{InputSize: 2, CropFraction: 1, Resize: ResizeTFBilinear, Std: [3]float64{1, 1, 1}, Layout: "NHWC", ChannelOrder: "RGB"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	px, err := p.resizedTF(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0, 0, 80, 80, 80, 0, 0, 0, 80, 80, 80}
	for i := range want {
		if px[i] != want[i] {
			t.Fatalf("downscale: got %v, want %v", px, want)
		}
	}
	// Upscaling 4 → 8 wide samples x = d/2: 0, 20, 40, ..., then clamps at 120.
	p.spec.InputSize = 8
	px, err = p.resizedTF(src)
	if err != nil {
		t.Fatal(err)
	}
	row := []float32{0, 20, 40, 60, 80, 100, 120, 120}
	for x, v := range row {
		if px[3*x] != v {
			t.Fatalf("upscale row: got %v at %d, want %v", px[3*x], x, v)
		}
	}
}

func TestHalfPixelBilinear(t *testing.T) {
	// 4 → 2 with half-pixel centres samples x = 0.5 and 2.5: 20 and 100.
	src := gocv.NewMatWithSize(1, 4, gocv.MatTypeCV8UC3)
	defer src.Close()
	for x := 0; x < 4; x++ {
		for c := 0; c < 3; c++ {
			src.SetUCharAt(0, 3*x+c, uint8(40*x))
		}
	}
	lo, hi, w := bilinearTaps(0, 4, 2, true)
	if lo[0] != 0 || hi[0] != 1 || w[0] != 0.5 || lo[1] != 2 || w[1] != 0.5 {
		t.Fatalf("taps %v %v %v", lo, hi, w)
	}
	p, err := newPreprocessor(Spec{InputSize: 2, CropFraction: 1, Resize: ResizeBilinear, Std: [3]float64{1, 1, 1}, Layout: "NHWC", ChannelOrder: "RGB"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	px, err := p.resizedTF(src)
	if err != nil {
		t.Fatal(err)
	}
	if px[0] != 20 || px[3] != 100 {
		t.Fatalf("got %v, want 20 and 100 in the first row", px[:6])
	}
}
