package inference

import (
	"encoding/binary"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/tflite"
	"github.com/modelpick/modelpick/tflite/tflitetest"
)

// tinyTFLite writes a quantised TFLite classifier: an 8x8 RGB input (real
// values (p-128)/128), a global average pool (the embedding: the mean
// colour), a 1x1 conv to 11 logits (background at 0) and a softmax.
func tinyTFLite(t *testing.T, dir string) string {
	t.Helper()
	q := func(scale float32, zp int64) *tflite.Quantization {
		return &tflite.Quantization{Scale: []float32{scale}, ZeroPoint: []int64{zp}}
	}
	w := make([]byte, 11*3) // [out][1][1][in], codes around the zero point 128
	for o := range 11 {
		for c := range 3 {
			w[o*3+c] = byte(128 + (o%3-c)*20 + o)
		}
	}
	bias := make([]byte, 4*11)
	for o := range 11 {
		binary.LittleEndian.PutUint32(bias[4*o:], uint32(int32(o*10)))
	}
	shape := make([]byte, 8)
	binary.LittleEndian.PutUint32(shape, 1)
	binary.LittleEndian.PutUint32(shape[4:], 11)
	sg := tflite.Subgraph{
		Name: "tiny",
		Tensors: []tflite.Tensor{
			{Name: "input", Shape: []int32{1, 8, 8, 3}, Type: tflite.Uint8, Quant: q(1.0/128, 128)},
			{Name: "pool", Shape: []int32{1, 1, 1, 3}, Type: tflite.Uint8, Quant: q(1.0/128, 128)},
			{Name: "w", Shape: []int32{11, 1, 1, 3}, Type: tflite.Uint8, Data: w, Quant: q(0.02, 128)},
			{Name: "b", Shape: []int32{11}, Type: tflite.Int32, Data: bias, Quant: q(0.02/128, 0)},
			{Name: "logits", Shape: []int32{1, 1, 1, 11}, Type: tflite.Uint8, Quant: q(0.05, 128)},
			{Name: "shape", Shape: []int32{2}, Type: tflite.Int32, Data: shape},
			{Name: "flat", Shape: []int32{1, 11}, Type: tflite.Uint8, Quant: q(0.05, 128)},
			{Name: "prob", Shape: []int32{1, 11}, Type: tflite.Uint8, Quant: q(1.0/256, 0)},
		},
		Inputs:  []int32{0},
		Outputs: []int32{7},
		Operators: []tflite.Operator{
			{Opcode: tflite.OpAveragePool2D, Version: 1, Inputs: []int32{0}, Outputs: []int32{1},
				Options: &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideH: 1, StrideW: 1, FilterH: 8, FilterW: 8}},
			{Opcode: tflite.OpConv2D, Version: 1, Inputs: []int32{1, 2, 3}, Outputs: []int32{4},
				Options: &tflite.Conv2DOptions{Padding: tflite.PaddingSame, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}},
			{Opcode: tflite.OpReshape, Version: 1, Inputs: []int32{4, 5}, Outputs: []int32{6}},
			{Opcode: tflite.OpSoftmax, Version: 1, Inputs: []int32{6}, Outputs: []int32{7}, Options: &tflite.SoftmaxOptions{Beta: 1}},
		},
	}
	m := tflite.Model{Version: 3, Subgraphs: []tflite.Subgraph{sg}}
	p := filepath.Join(dir, "tiny.tflite")
	if err := os.WriteFile(p, tflitetest.Encode(&m, tflitetest.Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const tinyTFLiteYAML = `models:
  - name: tiny
    files: [tiny.tflite]
    input_size: 8
    mean: [128, 128, 128]
    std: [128, 128, 128]
    crop_fraction: 1
    label_offset: 1
    num_classes: 10
`

func TestEmbedder(t *testing.T) {
	dir := t.TempDir()
	tinyTFLite(t, dir)
	sf, err := ParseSpec([]byte(tinyTFLiteYAML), dir)
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
