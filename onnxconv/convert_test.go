package onnxconv

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/modelpick/modelpick/tflite"
	"github.com/modelpick/modelpick/tflite/tflitetest"
)

const (
	u8 = tflite.Uint8
	i8 = tflite.Int8
)

func conv(p tflite.Padding, sh, sw, dh, dw int32, act tflite.Activation) *tflite.Conv2DOptions {
	return &tflite.Conv2DOptions{Padding: p, StrideH: sh, StrideW: sw, DilationH: dh, DilationW: dw, Activation: act}
}

func dwconv(p tflite.Padding, s, mult int32, act tflite.Activation) *tflite.DepthwiseConv2DOptions {
	return &tflite.DepthwiseConv2DOptions{Padding: p, StrideH: s, StrideW: s, DepthMultiplier: mult, Activation: act, DilationH: 1, DilationW: 1}
}

// TestOps checks each lowered operator, alone, against the reference
// interpreter, under every converter variant, within one quantum.
func TestOps(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *builder)
	}{
		{"conv u8 per-tensor RELU6 implied by output range", func(b *builder) {
			x := b.act("x", u8, 0.05, 120, 1, 9, 7, 3)
			w := b.weights(u8, []float32{0.002}, []int64{130}, 0, 4, 3, 3, 3)
			y := b.act("y", u8, 6.0/255, 0, 1, 5, 7, 4)
			b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 2, 1, 1, 1, tflite.ActRelu6), []int32{x, w, b.bias(4, 2000)}, y)
			b.io(x, y)
		}},
		{"conv u8 RELU6 clamped, VALID, dilation 2", func(b *builder) {
			x := b.act("x", u8, 0.05, 120, 1, 9, 9, 3)
			w := b.weights(u8, []float32{0.005}, []int64{110}, 0, 4, 3, 3, 3)
			y := b.act("y", u8, 0.05, 100, 1, 5, 5, 4)
			b.op(tflite.OpConv2D, conv(tflite.PaddingValid, 1, 1, 2, 2, tflite.ActRelu6), []int32{x, w, b.bias(4, 2000)}, y)
			b.io(x, y)
		}},
		{"conv i8 per-channel RELU, no bias", func(b *builder) {
			x := b.act("x", i8, 0.04, -5, 1, 8, 8, 3)
			w := b.weights(i8, scalesOf(6, 0.004), zeros(6), 0, 6, 3, 3, 3)
			y := b.act("y", i8, 0.03, -20, 1, 4, 4, 6)
			b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 2, 2, 1, 1, tflite.ActRelu), []int32{x, w, -1}, y)
			b.io(x, y)
		}},
		{"conv i8 per-channel 1x1 with bias", func(b *builder) {
			x := b.act("x", i8, 0.04, 7, 1, 5, 5, 16)
			w := b.weights(i8, scalesOf(8, 0.003), zeros(8), 0, 8, 1, 1, 16)
			y := b.act("y", i8, 0.05, -3, 1, 5, 5, 8)
			b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 1, 1, 1, 1, tflite.ActNone), []int32{x, w, b.bias(8, 5000)}, y)
			b.io(x, y)
		}},
		{"depthwise u8 multiplier 2 RELU6 clamped", func(b *builder) {
			x := b.act("x", u8, 0.05, 128, 1, 8, 8, 4)
			w := b.weights(u8, []float32{0.004}, []int64{120}, 0, 1, 3, 3, 8)
			y := b.act("y", u8, 0.04, 20, 1, 4, 4, 8)
			b.op(tflite.OpDepthwiseConv2D, dwconv(tflite.PaddingSame, 2, 2, tflite.ActRelu6), []int32{x, w, b.bias(8, 1000)}, y)
			b.io(x, y)
		}},
		{"depthwise i8 per-channel (quantized_dimension 3)", func(b *builder) {
			x := b.act("x", i8, 0.03, 3, 1, 6, 6, 5)
			w := b.weights(i8, scalesOf(5, 0.005), zeros(5), 3, 1, 3, 3, 5)
			y := b.act("y", i8, 0.02, -10, 1, 6, 6, 5)
			b.op(tflite.OpDepthwiseConv2D, dwconv(tflite.PaddingSame, 1, 1, tflite.ActNone), []int32{x, w, b.bias(5, 1000)}, y)
			b.io(x, y)
		}},
		{"average pool u8 SAME 3x3 stride 2 (padding not counted) RELU6", func(b *builder) {
			x := b.act("x", u8, 0.1, 10, 1, 7, 7, 3)
			y := b.act("y", u8, 0.1, 10, 1, 4, 4, 3)
			b.op(tflite.OpAveragePool2D, &tflite.Pool2DOptions{Padding: tflite.PaddingSame, StrideH: 2, StrideW: 2, FilterH: 3, FilterW: 3, Activation: tflite.ActRelu6}, []int32{x}, y)
			b.io(x, y)
		}},
		{"average pool i8 global VALID", func(b *builder) {
			x := b.act("x", i8, 0.2, -128, 1, 7, 7, 16)
			y := b.act("y", i8, 0.2, -128, 1, 1, 1, 16)
			b.op(tflite.OpAveragePool2D, &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideH: 1, StrideW: 1, FilterH: 7, FilterW: 7}, []int32{x}, y)
			b.io(x, y)
		}},
		{"add u8 constant same shape RELU", func(b *builder) {
			x := b.act("x", u8, 0.05, 128, 1, 4, 4, 3)
			c := b.weights(u8, []float32{0.03}, []int64{100}, 0, 1, 4, 4, 3)
			y := b.act("y", u8, 0.06, 120, 1, 4, 4, 3)
			b.op(tflite.OpAdd, &tflite.AddOptions{Activation: tflite.ActRelu}, []int32{x, c}, y)
			b.io(x, y)
		}},
		{"add u8 broadcast [3]", func(b *builder) {
			x := b.act("x", u8, 0.05, 128, 1, 4, 4, 3)
			c := b.weights(u8, []float32{0.03}, []int64{100}, 0, 3)
			y := b.act("y", u8, 0.06, 120, 1, 4, 4, 3)
			b.op(tflite.OpAdd, &tflite.AddOptions{}, []int32{x, c}, y)
			b.io(x, y)
		}},
		{"add i8 two activations", func(b *builder) {
			x := b.act("x", i8, 0.05, -3, 1, 4, 4, 3)
			w := b.weights(i8, scalesOf(3, 0.01), zeros(3), 0, 3, 1, 1, 3)
			h := b.act("h", i8, 0.05, 2, 1, 4, 4, 3)
			b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 1, 1, 1, 1, tflite.ActNone), []int32{x, w, -1}, h)
			y := b.act("y", i8, 0.08, -7, 1, 4, 4, 3)
			b.op(tflite.OpAdd, &tflite.AddOptions{Activation: tflite.ActRelu6}, []int32{x, h}, y)
			b.io(x, y)
		}},
		{"reshape + softmax u8", func(b *builder) {
			x := b.act("x", u8, 0.1, 100, 1, 1, 1, 10)
			r := b.act("r", u8, 0.1, 100, 1, 10)
			b.op(tflite.OpReshape, &tflite.ReshapeOptions{NewShape: []int32{1, 10}}, []int32{x, b.int32s("shape", 1, 10)}, r)
			y := b.act("y", u8, 1.0/256, 0, 1, 10)
			b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 1}, []int32{r}, y)
			b.io(x, y)
		}},
		{"softmax beta 0.5", func(b *builder) {
			x := b.act("x", u8, 0.2, 128, 1, 12)
			y := b.act("y", u8, 1.0/256, 0, 1, 12)
			b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 0.5}, []int32{x}, y)
			b.io(x, y)
		}},
		{"conv output through NHWC reshape (transpose back)", func(b *builder) {
			x := b.act("x", u8, 0.05, 128, 1, 2, 3, 4)
			w := b.weights(u8, []float32{0.01}, []int64{128}, 0, 5, 1, 1, 4)
			h := b.act("h", u8, 0.05, 128, 1, 2, 3, 5)
			b.op(tflite.OpConv2D, conv(tflite.PaddingValid, 1, 1, 1, 1, tflite.ActNone), []int32{x, w, -1}, h)
			y := b.act("y", u8, 0.05, 128, 1, 30)
			b.op(tflite.OpReshape, nil, []int32{h, b.int32s("shape", 1, 30)}, y)
			b.io(x, y)
		}},
		{"softmax i8 then QUANTIZE to u8 (same scale)", func(b *builder) {
			x := b.act("x", i8, 0.1, 0, 1, 10)
			s := b.act("s", i8, 1.0/256, -128, 1, 10)
			b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 1}, []int32{x}, s)
			y := b.act("y", u8, 1.0/256, 0, 1, 10)
			b.op(tflite.OpQuantize, nil, []int32{s}, y)
			b.io(x, y)
		}},
		{"QUANTIZE u8 to i8 rescaled", func(b *builder) {
			x := b.act("x", u8, 0.05, 128, 1, 4, 4, 3)
			y := b.act("y", i8, 0.07, 10, 1, 4, 4, 3)
			b.op(tflite.OpQuantize, nil, []int32{x}, y)
			b.io(x, y)
		}},
		{"mean i8 over H,W, keep_dims false, requantised", func(b *builder) {
			x := b.act("x", i8, 0.0235, -128, 1, 5, 5, 8)
			y := b.act("y", i8, 0.019, -128, 1, 8)
			b.op(tflite.OpMean, &tflite.ReducerOptions{KeepDims: false}, []int32{x, b.int32s("axes", 1, 2)}, y)
			b.io(x, y)
		}},
		{"mean u8 over H,W, keep_dims true", func(b *builder) {
			x := b.act("x", u8, 0.05, 128, 1, 4, 4, 6)
			y := b.act("y", u8, 0.05, 128, 1, 1, 1, 6)
			b.op(tflite.OpMean, &tflite.ReducerOptions{KeepDims: true}, []int32{x, b.int32s("axes", 2, 1)}, y)
			b.io(x, y)
		}},
		{"mean u8 over channels (generic path)", func(b *builder) {
			x := b.act("x", u8, 0.05, 128, 1, 3, 3, 4)
			y := b.act("y", u8, 0.03, 128, 1, 3, 3, 1)
			b.op(tflite.OpMean, &tflite.ReducerOptions{KeepDims: true}, []int32{x, b.int32s("axes", -1)}, y)
			b.io(x, y)
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(uint64(i + 1))
			tc.build(b)
			checkModel(t, b.model(t), 1)
		})
	}
}

// TestChains runs small MobileNet-shaped graphs end to end; rounding
// differences of one quantum can grow through layers, hence the tolerance.
func TestChains(t *testing.T) {
	t.Run("uint8 v1/v2 style", func(t *testing.T) {
		b := newBuilder(100)
		x := b.act("input", u8, 1.0/128, 128, 1, 16, 16, 3)
		c1 := b.act("c1", u8, 6.0/255, 0, 1, 8, 8, 8)
		b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 2, 2, 1, 1, tflite.ActRelu6), []int32{x, b.weights(u8, []float32{0.02}, []int64{128}, 0, 8, 3, 3, 3), b.bias(8, 500)}, c1)
		d1 := b.act("d1", u8, 6.0/255, 0, 1, 8, 8, 8)
		b.op(tflite.OpDepthwiseConv2D, dwconv(tflite.PaddingSame, 1, 1, tflite.ActRelu6), []int32{c1, b.weights(u8, []float32{0.01}, []int64{128}, 0, 1, 3, 3, 8), b.bias(8, 500)}, d1)
		p1 := b.act("p1", u8, 0.1, 128, 1, 8, 8, 8)
		b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 1, 1, 1, 1, tflite.ActNone), []int32{d1, b.weights(u8, []float32{0.01}, []int64{128}, 0, 8, 1, 1, 8), b.bias(8, 500)}, p1)
		a1 := b.act("a1", u8, 0.12, 128, 1, 8, 8, 8)
		b.op(tflite.OpAdd, &tflite.AddOptions{}, []int32{p1, c1}, a1)
		g := b.act("pool", u8, 0.12, 128, 1, 1, 1, 8)
		b.op(tflite.OpAveragePool2D, &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideH: 2, StrideW: 2, FilterH: 8, FilterW: 8}, []int32{a1}, g)
		l := b.act("logits", u8, 0.05, 128, 1, 1, 1, 10)
		b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 1, 1, 1, 1, tflite.ActNone), []int32{g, b.weights(u8, []float32{0.02}, []int64{128}, 0, 10, 1, 1, 8), b.bias(10, 500)}, l)
		r := b.act("flat", u8, 0.05, 128, 1, 10)
		b.op(tflite.OpReshape, nil, []int32{l, b.int32s("shape", 1, 10)}, r)
		y := b.act("prob", u8, 1.0/256, 0, 1, 10)
		b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 1}, []int32{r}, y)
		b.io(x, y)
		checkModel(t, b.model(t), 3)
	})
	t.Run("int8 inside, uint8 edges (tf2/EdgeTPU style)", func(t *testing.T) {
		b := newBuilder(200)
		x := b.act("images", u8, 0.0115707, 123, 1, 12, 12, 3)
		xi := b.act("images_int8", i8, 0.0115707, -5, 1, 12, 12, 3)
		b.op(tflite.OpQuantize, nil, []int32{x}, xi)
		c1 := b.act("c1", i8, 0.05, -128, 1, 6, 6, 16)
		b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 2, 2, 1, 1, tflite.ActRelu), []int32{xi, b.weights(i8, scalesOf(16, 0.01), zeros(16), 0, 16, 3, 3, 3), b.bias(16, 800)}, c1)
		d1 := b.act("d1", i8, 0.05, -128, 1, 6, 6, 16)
		b.op(tflite.OpDepthwiseConv2D, dwconv(tflite.PaddingSame, 1, 1, tflite.ActRelu6), []int32{c1, b.weights(i8, scalesOf(16, 0.01), zeros(16), 3, 1, 3, 3, 16), b.bias(16, 800)}, d1)
		m := b.act("mean", i8, 0.03, -128, 1, 1, 1, 16)
		b.op(tflite.OpMean, &tflite.ReducerOptions{KeepDims: true}, []int32{d1, b.int32s("axes", 1, 2)}, m)
		l := b.act("logits", i8, 0.06, -10, 1, 1, 1, 10)
		b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 1, 1, 1, 1, tflite.ActNone), []int32{m, b.weights(i8, scalesOf(10, 0.02), zeros(10), 0, 10, 1, 1, 16), b.bias(10, 800)}, l)
		r := b.act("flat", i8, 0.06, -10, 1, 10)
		b.op(tflite.OpReshape, &tflite.ReshapeOptions{NewShape: []int32{1, 10}}, []int32{l, b.int32s("shape", 1, 10)}, r)
		s := b.act("soft", i8, 1.0/256, -128, 1, 10)
		b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 1}, []int32{r}, s)
		y := b.act("Softmax", u8, 1.0/256, 0, 1, 10)
		b.op(tflite.OpQuantize, nil, []int32{s}, y)
		b.io(x, y)
		checkModel(t, b.model(t), 3)
	})
}

func TestActivationRange(t *testing.T) {
	for _, tc := range []struct {
		act    tflite.Activation
		q      quant
		lo, hi int64
	}{
		{tflite.ActNone, quant{0.1, 3, u8}, 0, 255},
		{tflite.ActRelu6, quant{6.0 / 255, 0, u8}, 0, 255}, // the range is the clamp: no Clip
		{tflite.ActRelu6, quant{0.05, 100, u8}, 100, 220},
		{tflite.ActRelu6, quant{0.0235, -128, i8}, -128, 127},
		{tflite.ActRelu, quant{0.03, -20, i8}, -20, 127},
		{tflite.ActReluN1To1, quant{0.01, 128, u8}, 28, 228},
	} {
		lo, hi, err := activationRange(tc.act, tc.q)
		if err != nil || lo != tc.lo || hi != tc.hi {
			t.Errorf("%s %+v: [%d,%d] %v, want [%d,%d]", tc.act, tc.q, lo, hi, err, tc.lo, tc.hi)
		}
	}
	if _, _, err := activationRange(tflite.ActTanh, quant{0.1, 0, u8}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("TANH: %v, want ErrUnsupported", err)
	}
}

// TestClipOnlyWhenNeeded checks the graph: no Clip when the output range is
// already the RELU6 range, one Clip when it is wider.
func TestClipOnlyWhenNeeded(t *testing.T) {
	for _, tc := range []struct {
		scale float32
		zp    int64
		clips int
	}{{6.0 / 255, 0, 0}, {0.05, 100, 1}} {
		b := newBuilder(3)
		x := b.act("x", u8, 0.05, 120, 1, 3, 3, 2)
		y := b.act("y", u8, tc.scale, tc.zp, 1, 3, 3, 2)
		b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 1, 1, 1, 1, tflite.ActRelu6), []int32{x, b.weights(u8, []float32{0.01}, []int64{128}, 0, 2, 1, 1, 2), -1}, y)
		b.io(x, y)
		mp, _, err := Convert(b.model(t), "clip.tflite")
		if err != nil {
			t.Fatal(err)
		}
		if n := countOps(mp, "Clip"); n != tc.clips {
			t.Errorf("output scale %g zp %d: %d Clip nodes, want %d", tc.scale, tc.zp, n, tc.clips)
		}
	}
}

func countOps(mp *onnx.ModelProto, op string) int {
	n := 0
	for _, nd := range mp.Graph.Node {
		if nd.OpType == op {
			n++
		}
	}
	return n
}

func TestUnsupported(t *testing.T) {
	build := func(code tflite.BuiltinOperator, custom string) *tflite.Model {
		b := newBuilder(4)
		x := b.act("x", u8, 0.1, 0, 1, 4, 4, 2)
		y := b.act("y", u8, 0.1, 0, 1, 2, 2, 2)
		b.op(code, &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideH: 2, StrideW: 2, FilterH: 2, FilterW: 2}, []int32{x}, y)
		b.sg().Operators[0].CustomCode = custom
		b.io(x, y)
		return b.model(t)
	}
	_, _, err := Convert(build(tflite.OpMaxPool2D, ""), "maxpool.tflite")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "MAX_POOL_2D") || !strings.Contains(err.Error(), "maxpool.tflite") {
		t.Errorf("MAX_POOL_2D: %v; want ErrUnsupported naming the op and the file", err)
	}
	_, _, err = Convert(build(tflite.OpCustom, "TFLite_Detection_PostProcess"), "detect.tflite")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "TFLite_Detection_PostProcess") {
		t.Errorf("custom op: %v", err)
	}

	// Per-channel weights on the wrong dimension.
	b := newBuilder(5)
	x := b.act("x", i8, 0.1, 0, 1, 3, 3, 4)
	w := b.weights(i8, scalesOf(4, 0.01), zeros(4), 3, 1, 3, 3, 4)
	y := b.act("y", i8, 0.1, 0, 1, 3, 3, 4)
	b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 1, 1, 1, 1, tflite.ActNone), []int32{x, w, -1}, y)
	b.io(x, y)
	if _, _, err := Convert(b.model(t), "bad.tflite"); err == nil {
		t.Error("conv with mismatched weights converted")
	}

	// Two outputs.
	b = newBuilder(6)
	x = b.act("x", u8, 0.1, 0, 1, 4)
	b.sg().Inputs, b.sg().Outputs = []int32{x}, []int32{x, x}
	if _, _, err := Convert(b.model(t), "two.tflite"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("two outputs: %v", err)
	}

	// A float (unquantised) model.
	b = newBuilder(7)
	x = b.add(tflite.Tensor{Name: "x", Shape: []int32{1, 4}, Type: tflite.Float32})
	y = b.add(tflite.Tensor{Name: "y", Shape: []int32{1, 4}, Type: tflite.Float32})
	b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 1}, []int32{x}, y)
	b.io(x, y)
	if _, _, err := Convert(b.model(t), "float.tflite"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("float model: %v", err)
	}
}

func TestConvertFile(t *testing.T) {
	b := newBuilder(8)
	x := b.act("input", u8, 1.0/128, 128, 1, 4, 4, 3)
	g := b.act("pool", u8, 1.0/128, 128, 1, 1, 1, 3)
	b.op(tflite.OpAveragePool2D, &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideH: 1, StrideW: 1, FilterH: 4, FilterW: 4}, []int32{x}, g)
	b.io(x, g)
	data := tflitetest.Encode(&b.m, tflitetest.Options{})
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.tflite")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, info, err := ConvertFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if info.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("Info.SHA256 = %s", info.SHA256)
	}
	if info.Name != "tiny.tflite" || info.InputName != "input" || info.OutputName != "pool" ||
		info.InputScale != 1.0/128 || info.InputZeroPoint != 128 || info.InputType != "UINT8" ||
		len(info.InputShape) != 4 || info.OutputShape[3] != 3 || info.Nodes == 0 ||
		len(info.Ops) != 1 || info.Ops[0] != "AVERAGE_POOL_2D" || info.OpCounts["AVERAGE_POOL_2D"] != 1 {
		t.Errorf("Info = %+v", info)
	}
	var mp onnx.ModelProto
	if err := proto.Unmarshal(out, &mp); err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{}
	for _, p := range mp.MetadataProps {
		meta[p.Key] = p.Value
	}
	if meta[MetaSourceSHA256] != info.SHA256 || meta[MetaConverterVersion] != Version || meta[MetaSource] != "tiny.tflite" {
		t.Errorf("metadata = %v", meta)
	}
	if mp.IrVersion == 0 || len(mp.OpsetImport) == 0 || mp.OpsetImport[0].Version < 13 {
		t.Errorf("ir_version %d, opsets %v", mp.IrVersion, mp.OpsetImport)
	}
	// Deterministic: the same file converts to the same bytes (cache keys).
	again, _, err := ConvertFile(path)
	if err != nil || string(again) != string(out) {
		t.Errorf("second conversion differs (err %v)", err)
	}

	if _, _, err := ConvertFile(filepath.Join(dir, "missing.tflite")); err == nil || !strings.Contains(err.Error(), "missing.tflite") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.tflite")
	if err := os.WriteFile(bad, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ConvertFile(bad); !errors.Is(err, tflite.ErrCorrupt) || !strings.Contains(err.Error(), "bad.tflite") {
		t.Errorf("truncated file: %v", err)
	}
}

// TestCorruptModelsDoNotPanic mutates a small valid model at random: whatever
// Parse accepts, Convert must reject or convert, never panic.
func TestCorruptModelsDoNotPanic(t *testing.T) {
	b := newBuilder(9)
	x := b.act("input", i8, 0.02, -5, 1, 6, 6, 3)
	c1 := b.act("c1", i8, 0.05, -128, 1, 3, 3, 4)
	b.op(tflite.OpConv2D, conv(tflite.PaddingSame, 2, 2, 1, 1, tflite.ActRelu6), []int32{x, b.weights(i8, scalesOf(4, 0.01), zeros(4), 0, 4, 3, 3, 3), b.bias(4, 100)}, c1)
	d1 := b.act("d1", i8, 0.05, -128, 1, 3, 3, 4)
	b.op(tflite.OpDepthwiseConv2D, dwconv(tflite.PaddingSame, 1, 1, tflite.ActRelu6), []int32{c1, b.weights(i8, scalesOf(4, 0.01), zeros(4), 3, 1, 3, 3, 4), b.bias(4, 100)}, d1)
	a1 := b.act("a1", i8, 0.06, -128, 1, 3, 3, 4)
	b.op(tflite.OpAdd, &tflite.AddOptions{}, []int32{c1, d1}, a1)
	m1 := b.act("m1", i8, 0.06, -128, 1, 4)
	b.op(tflite.OpMean, &tflite.ReducerOptions{}, []int32{a1, b.int32s("axes", 1, 2)}, m1)
	y := b.act("y", i8, 1.0/256, -128, 1, 4)
	b.op(tflite.OpSoftmax, &tflite.SoftmaxOptions{Beta: 1}, []int32{m1}, y)
	b.io(x, y)
	orig := tflitetest.Encode(&b.m, tflitetest.Options{})
	rng := rand.New(rand.NewPCG(3, 4))
	parsed := 0
	for i := range 3000 {
		data := slices.Clone(orig)
		for range 1 + i%3 {
			data[rng.IntN(len(data))] = byte(rng.IntN(256))
		}
		m, err := tflite.Parse(data)
		if err != nil {
			continue
		}
		parsed++
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("mutation %d: Convert panicked: %v", i, r)
				}
			}()
			_, _, _ = Convert(m, "mutant.tflite")
		}()
	}
	t.Logf("%d of 3000 mutants parsed", parsed)
	if parsed == 0 {
		t.Error("no mutant parsed; the test exercised nothing")
	}
}
