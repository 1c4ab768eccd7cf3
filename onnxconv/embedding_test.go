package onnxconv

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/modelpick/modelpick/internal/ortenv"
	"github.com/modelpick/modelpick/tflite"
	"github.com/modelpick/modelpick/tflite/tflitetest"
)

// pooledClassifier builds a small v1-style classifier (conv, global
// average pool, 1x1 conv, reshape, softmax). With head false it stops at
// the pool, whose output is then the model's output; the same seed gives
// the same weights for the shared prefix.
func pooledClassifier(head bool, ty tflite.TensorType, zp int64) (*builder, int32) {
	b := newBuilder(300)
	x := b.act("input", u8, 1.0/128, 128, 1, 8, 8, 3)
	c1 := b.act("c1", ty, 6.0/255, zp, 1, 4, 4, 6)
	b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 2, 2, 1, 1, tflite.ActRelu6), []int32{x, b.weights(u8, []float32{0.02}, []int64{128}, 0, 6, 3, 3, 3), b.bias(6, 500)}, c1)
	g := b.act("pool", ty, 6.0/255, zp, 1, 1, 1, 6)
	b.op(tflite.OpAveragePool2D, &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideH: 1, StrideW: 1, FilterH: 4, FilterW: 4}, []int32{c1}, g)
	if !head {
		b.io(x, g)
		return b, g
	}
	l := b.act("logits", ty, 0.05, zp, 1, 1, 1, 5)
	b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 1, 1, 1, 1, tflite.ActNone), []int32{g, b.weights(u8, []float32{0.02}, []int64{128}, 0, 5, 1, 1, 6), b.bias(5, 500)}, l)
	r := b.act("flat", ty, 0.05, zp, 1, 5)
	b.op(tflite.OpReshape, nil, []int32{l, b.int32s("shape", 1, 5)}, r)
	y := b.act("prob", u8, 1.0/256, 0, 1, 5)
	b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 1}, []int32{r}, y)
	b.io(x, y)
	return b, g
}

// runTwo runs a converted model with two outputs on one float input.
func runTwo(t *testing.T, data []byte, info Info, input []float32) (scores, emb []float32) {
	t.Helper()
	if err := ortenv.Init(""); err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
	in, err := ort.NewTensor(ort.NewShape(info.InputShape...), input)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(info.OutputShape...))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	e, err := ort.NewEmptyTensor[float32](ort.NewShape(info.EmbeddingShape...))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	s, err := ort.NewAdvancedSessionWithONNXData(data, []string{info.InputName}, []string{info.OutputName, info.EmbeddingName},
		[]ort.Value{in}, []ort.Value{out, e}, nil)
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	defer s.Destroy()
	if err := s.Run(); err != nil {
		t.Fatalf("run: %v", err)
	}
	return append([]float32(nil), out.GetData()...), append([]float32(nil), e.GetData()...)
}

// TestEmbeddingOutput: the second output is exactly the pooled tensor,
// dequantised (checked against the reference interpreter run on the model
// cut at the pool), and the class scores are those of the plain import.
func TestEmbeddingOutput(t *testing.T) {
	for _, tc := range []struct {
		name string
		ty   tflite.TensorType
		zp   int64
	}{{"uint8", u8, 0}, {"int8 carried as uint8", i8, -128}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			full, _ := pooledClassifier(true, tc.ty, tc.zp)
			path := filepath.Join(dir, "m.tflite")
			if err := os.WriteFile(path, tflitetest.Encode(&full.m, tflitetest.Options{}), 0o644); err != nil {
				t.Fatal(err)
			}
			withEmb, info, err := ConvertFileWithEmbedding(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.EmbeddingName != "embedding" || len(info.EmbeddingShape) != 2 || info.EmbeddingShape[1] != 6 {
				t.Fatalf("Info embedding %q %v", info.EmbeddingName, info.EmbeddingShape)
			}
			plain, plainInfo, err := ConvertFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if plainInfo.EmbeddingName != "" {
				t.Errorf("plain import has an embedding output %q", plainInfo.EmbeddingName)
			}

			cut, pool := pooledClassifier(false, tc.ty, tc.zp)
			cutModel := cut.model(t)
			pt := &cutModel.Subgraphs[0].Tensors[pool]
			rng := rand.New(rand.NewPCG(5, 5))
			for range 3 {
				codes := make([]int64, 8*8*3)
				input := make([]float32, len(codes))
				for i := range codes {
					codes[i] = rng.Int64N(256)
					input[i] = float32(codes[i]-128) / 128
				}
				scores, emb := runTwo(t, withEmb, info, input)
				want, err := refRun(cutModel, codes)
				if err != nil {
					t.Fatal(err)
				}
				nonzero := 0
				for _, v := range emb {
					if v != 0 {
						nonzero++
					}
				}
				if nonzero < 2 {
					t.Errorf("embedding %v is nearly all zero: the test model is degenerate", emb)
				}
				for i, q := range want {
					w := pt.Quant.Scale[0] * float32(q-pt.Quant.ZeroPoint[0])
					if math.Abs(float64(emb[i]-w)) > float64(pt.Quant.Scale[0])*1.01 { // one quantum: ORT vs reference rounding
						t.Errorf("embedding[%d] = %v, reference %v", i, emb[i], w)
					}
				}
				plainScores := runONNXBytes(t, plain, plainInfo, input)
				for i := range scores {
					if scores[i] != plainScores[i] {
						t.Fatalf("scores[%d] = %v with the embedding output, %v without", i, scores[i], plainScores[i])
					}
				}
			}
		})
	}

	// A model without a global pool cannot give an embedding.
	b := newBuilder(8)
	x := b.act("input", u8, 1.0/128, 128, 1, 4, 4, 3)
	g := b.act("pool", u8, 1.0/128, 128, 1, 2, 2, 3)
	b.op(tflite.OpAveragePool2D, &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideH: 2, StrideW: 2, FilterH: 2, FilterW: 2}, []int32{x}, g)
	b.io(x, g)
	path := filepath.Join(t.TempDir(), "nopool.tflite")
	if err := os.WriteFile(path, tflitetest.Encode(&b.m, tflitetest.Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ConvertFileWithEmbedding(path); !errors.Is(err, ErrUnsupported) {
		t.Errorf("no global pool: %v, want ErrUnsupported", err)
	}
}

// runONNXBytes runs a serialised one-output model.
func runONNXBytes(t *testing.T, data []byte, info Info, input []float32) []float32 {
	t.Helper()
	in, err := ort.NewTensor(ort.NewShape(info.InputShape...), input)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(info.OutputShape...))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	s, err := ort.NewAdvancedSessionWithONNXData(data, []string{info.InputName}, []string{info.OutputName},
		[]ort.Value{in}, []ort.Value{out}, nil)
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	defer s.Destroy()
	if err := s.Run(); err != nil {
		t.Fatalf("run: %v", err)
	}
	return append([]float32(nil), out.GetData()...)
}
