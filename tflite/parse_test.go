package tflite_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/modelpick/modelpick/tflite"
	"github.com/modelpick/modelpick/tflite/tflitetest"
)

// sample is a small model touching every decoded field: per-tensor and
// per-channel quantisation, constant data, every option type.
func sample() *tflite.Model {
	w := make([]byte, 4*3*3*2)
	for i := range w {
		w[i] = byte(i * 7)
	}
	bias := make([]byte, 4*4)
	binary.LittleEndian.PutUint32(bias[4:], uint32(0xfffffff6)) // -10
	shape := make([]byte, 8)
	binary.LittleEndian.PutUint32(shape, 1)
	binary.LittleEndian.PutUint32(shape[4:], 16)
	axes := []byte{1, 0, 0, 0, 2, 0, 0, 0}
	pt := func(s float32, zp int64) *tflite.Quantization {
		return &tflite.Quantization{Scale: []float32{s}, ZeroPoint: []int64{zp}}
	}
	return &tflite.Model{
		Version:     3,
		Description: "unit test",
		Subgraphs: []tflite.Subgraph{{
			Name: "main",
			Tensors: []tflite.Tensor{
				{Name: "in", Shape: []int32{1, 4, 4, 2}, Type: tflite.Int8, Quant: pt(0.5, -3)},
				{Name: "w", Shape: []int32{4, 3, 3, 2}, Type: tflite.Int8, Data: w, Quant: &tflite.Quantization{
					Scale: []float32{0.1, 0.2, 0.3, 0.4}, ZeroPoint: []int64{0, 0, 0, 0}, QuantizedDimension: 0}},
				{Name: "b", Shape: []int32{4}, Type: tflite.Int32, Data: bias, Quant: &tflite.Quantization{
					Scale: []float32{0.05, 0.1, 0.15, 0.2}, ZeroPoint: []int64{0, 0, 0, 0}}},
				{Name: "conv", Shape: []int32{1, 2, 2, 4}, Type: tflite.Int8, Quant: &tflite.Quantization{
					Min: []float32{0}, Max: []float32{6}, Scale: []float32{6.0 / 255}, ZeroPoint: []int64{-128}}},
				{Name: "dw", Shape: []int32{1, 2, 2, 4}, Type: tflite.Int8, Quant: pt(0.03, -128)},
				{Name: "pool", Shape: []int32{1, 1, 1, 4}, Type: tflite.Int8, Quant: pt(0.03, -128)},
				{Name: "shape", Shape: []int32{2}, Type: tflite.Int32, Data: shape},
				{Name: "flat", Shape: []int32{1, 4}, Type: tflite.Int8, Quant: pt(0.03, -128)},
				{Name: "prob", Shape: []int32{1, 4}, Type: tflite.Int8, Quant: pt(1.0/256, -128)},
				{Name: "axes", Shape: []int32{2}, Type: tflite.Int32, Data: axes},
				{Name: "mean", Shape: []int32{1, 4}, Type: tflite.Int8, Quant: pt(0.03, -128)},
				{Name: "sum", Shape: []int32{1, 4}, Type: tflite.Int8, Quant: pt(0.06, -128)},
			},
			Inputs:  []int32{0},
			Outputs: []int32{8, 11},
			Operators: []tflite.Operator{
				{Opcode: tflite.OpConv2D, Version: 3, Inputs: []int32{0, 1, 2}, Outputs: []int32{3},
					Options: &tflite.Conv2DOptions{Padding: tflite.PaddingValid, StrideW: 1, StrideH: 1, Activation: tflite.ActRelu6, DilationW: 1, DilationH: 1}},
				{Opcode: tflite.OpDepthwiseConv2D, Version: 1, Inputs: []int32{3, 1, -1}, Outputs: []int32{4},
					Options: &tflite.DepthwiseConv2DOptions{Padding: tflite.PaddingSame, StrideW: 2, StrideH: 1, DepthMultiplier: 1, Activation: tflite.ActRelu, DilationW: 2, DilationH: 3}},
				{Opcode: tflite.OpAveragePool2D, Version: 1, Inputs: []int32{4}, Outputs: []int32{5},
					Options: &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideW: 2, StrideH: 2, FilterW: 2, FilterH: 2}},
				{Opcode: tflite.OpReshape, Version: 1, Inputs: []int32{5, 6}, Outputs: []int32{7},
					Options: &tflite.ReshapeOptions{NewShape: []int32{1, 4}}},
				{Opcode: tflite.OpSoftmax, Version: 1, Inputs: []int32{7}, Outputs: []int32{8},
					Options: &tflite.SoftmaxOptions{Beta: 1}},
				{Opcode: tflite.OpMean, Version: 2, Inputs: []int32{4, 9}, Outputs: []int32{10},
					Options: &tflite.ReducerOptions{KeepDims: false}},
				{Opcode: tflite.OpAdd, Version: 1, Inputs: []int32{10, 7}, Outputs: []int32{11},
					Options: &tflite.AddOptions{Activation: tflite.ActRelu6}},
				{Opcode: tflite.OpQuantize, Version: 1, Inputs: []int32{11}, Outputs: []int32{11}},
				{Opcode: tflite.OpFullyConnected, Version: 1, Inputs: []int32{7, 1}, Outputs: []int32{10},
					Options: &tflite.FullyConnectedOptions{Activation: tflite.ActRelu, KeepNumDims: true}},
				{Opcode: tflite.OpMul, Version: 1, Inputs: []int32{7, 7}, Outputs: []int32{10},
					Options: &tflite.MulOptions{Activation: tflite.ActNone}},
				{Opcode: tflite.OpConcatenation, Version: 1, Inputs: []int32{7, 7}, Outputs: []int32{10},
					Options: &tflite.ConcatenationOptions{Axis: -1, Activation: tflite.ActNone}},
				{Opcode: tflite.BuiltinOperator(150), Version: 1, Inputs: []int32{7}, Outputs: []int32{10}},
				{Opcode: tflite.OpCustom, CustomCode: "MyOp", Version: 1, Inputs: []int32{7}, Outputs: []int32{10}},
			},
		}},
	}
}

// normalise fills in what Parse derives (buffer indices, option tags) so a
// parsed model can be compared with the one that was encoded.
func normalise(m *tflite.Model) {
	m.NumBuffers = 0
	for si := range m.Subgraphs {
		sg := &m.Subgraphs[si]
		for ti := range sg.Tensors {
			sg.Tensors[ti].Buffer = 0
		}
		for oi := range sg.Operators {
			op := &sg.Operators[oi]
			op.OptionsType = tflite.OptionsTypeOf(op.Options)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, opt := range []tflitetest.Options{{}, {OmitDeprecated: true}} {
		want := sample()
		data := tflitetest.Encode(want, opt)
		got, err := tflite.Parse(data)
		if err != nil {
			t.Fatalf("%+v: Parse: %v", opt, err)
		}
		if got.NumBuffers != 5 {
			t.Errorf("NumBuffers = %d, want 5 (sentinel + 4 constants)", got.NumBuffers)
		}
		if got.Subgraphs[0].Tensors[1].Buffer == 0 {
			t.Error("constant tensor has buffer 0")
		}
		normalise(got)
		normalise(want)
		if !reflect.DeepEqual(got, want) {
			for i := range want.Subgraphs[0].Operators {
				if g, w := got.Subgraphs[0].Operators[i], want.Subgraphs[0].Operators[i]; !reflect.DeepEqual(g, w) {
					t.Errorf("operator %d: got %+v (%+v), want %+v (%+v)", i, g, g.Options, w, w.Options)
				}
			}
			for i := range want.Subgraphs[0].Tensors {
				if g, w := got.Subgraphs[0].Tensors[i], want.Subgraphs[0].Tensors[i]; !reflect.DeepEqual(g, w) {
					t.Errorf("tensor %d: got %+v, want %+v", i, g, w)
				}
			}
			t.Fatalf("%+v: round trip differs", opt)
		}
	}
}

func TestLegacyOpcodes(t *testing.T) {
	m := sample()
	ops := m.Subgraphs[0].Operators
	m.Subgraphs[0].Operators = ops[:8] // drop the >127 code, which needs the int32 field
	got, err := tflite.Parse(tflitetest.Encode(m, tflitetest.Options{LegacyOpcodes: true}))
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range got.Subgraphs[0].Operators {
		if op.Opcode != ops[i].Opcode {
			t.Errorf("op %d: %s, want %s", i, op.Opcode, ops[i].Opcode)
		}
	}
}

func TestExtendedOpcode(t *testing.T) {
	got, err := tflite.Parse(tflitetest.Encode(sample(), tflitetest.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	op := got.Subgraphs[0].Operators[11]
	if op.Opcode != 150 || op.Opcode.String() != "GELU" {
		t.Errorf("code 150 read as %d %s", op.Opcode, op.Opcode)
	}
	if s := tflite.BuiltinOperator(999).String(); s != "BUILTIN_999" {
		t.Errorf("unknown code prints %q", s)
	}
	for op, name := range map[tflite.BuiltinOperator]string{
		tflite.OpAdd: "ADD", tflite.OpConv2D: "CONV_2D", tflite.OpDepthwiseConv2D: "DEPTHWISE_CONV_2D",
		tflite.OpMean: "MEAN", tflite.OpQuantize: "QUANTIZE", tflite.OpSoftmax: "SOFTMAX",
		tflite.OpPlaceholderForGreaterOpCodes: "PLACEHOLDER_FOR_GREATER_OP_CODES", 161: "RIGHT_SHIFT",
	} {
		if op.String() != name {
			t.Errorf("%d prints %q, want %q", int32(op), op.String(), name)
		}
	}
}

// TestOptionDefaults writes option tables with absent fields: dilations must
// default to 1, everything else to 0, as schema.fbs says.
func TestOptionDefaults(t *testing.T) {
	b := flatbuffers.NewBuilder(256)
	empty := func() flatbuffers.UOffsetT { b.StartObject(0); return b.EndObject() }
	for _, tc := range []struct {
		op   tflite.BuiltinOperator
		tag  uint8
		want tflite.Options
	}{
		{tflite.OpConv2D, tflite.OptionsConv2D, &tflite.Conv2DOptions{DilationW: 1, DilationH: 1}},
		{tflite.OpDepthwiseConv2D, tflite.OptionsDepthwiseConv, &tflite.DepthwiseConv2DOptions{DilationW: 1, DilationH: 1}},
		{tflite.OpAveragePool2D, tflite.OptionsPool2D, &tflite.Pool2DOptions{}},
		{tflite.OpSoftmax, tflite.OptionsSoftmax, &tflite.SoftmaxOptions{}},
		{tflite.OpReshape, tflite.OptionsReshape, &tflite.ReshapeOptions{}},
		{tflite.OpMean, tflite.OptionsReducer, &tflite.ReducerOptions{}},
	} {
		b.Reset()
		data := rawModel(b, int8(tc.op), tc.tag, empty())
		got, err := tflite.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
		op := got.Subgraphs[0].Operators[0]
		if !reflect.DeepEqual(op.Options, tc.want) || op.Version != 1 {
			t.Errorf("%s: options %+v version %d, want %+v version 1", tc.op, op.Options, op.Version, tc.want)
		}
	}
}

// rawModel builds a one-operator model by hand around an options table.
func rawModel(b *flatbuffers.Builder, code int8, tag uint8, opts flatbuffers.UOffsetT) []byte {
	vec := func(v ...int32) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependInt32(v[i])
		}
		return b.EndVector(len(v))
	}
	tabs := func(v ...flatbuffers.UOffsetT) flatbuffers.UOffsetT {
		b.StartVector(4, len(v), 4)
		for i := len(v) - 1; i >= 0; i-- {
			b.PrependUOffsetT(v[i])
		}
		return b.EndVector(len(v))
	}
	io := vec(0)
	b.StartObject(5)
	b.PrependUOffsetTSlot(1, io, 0)
	b.PrependUOffsetTSlot(2, io, 0)
	b.PrependUint8Slot(3, tag, 0)
	b.PrependUOffsetTSlot(4, opts, 0)
	op := b.EndObject()
	b.StartObject(1)
	tensor := b.EndObject()
	tv, ov := tabs(tensor), tabs(op)
	b.StartObject(4)
	b.PrependUOffsetTSlot(0, tv, 0)
	b.PrependUOffsetTSlot(1, io, 0)
	b.PrependUOffsetTSlot(2, io, 0)
	b.PrependUOffsetTSlot(3, ov, 0)
	sg := b.EndObject()
	b.StartObject(1)
	b.PrependInt8Slot(0, code, 0)
	oc := b.EndObject()
	ocv, sgv := tabs(oc), tabs(sg)
	b.StartObject(5)
	b.PrependUOffsetTSlot(1, ocv, 0)
	b.PrependUOffsetTSlot(2, sgv, 0)
	b.FinishWithFileIdentifier(b.EndObject(), []byte("TFL3"))
	return b.FinishedBytes()
}

func TestRejectsNonTFLite(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":      nil,
		"short":      []byte("TFL3"),
		"identifier": append([]byte{8, 0, 0, 0}, []byte("ONNX....")...),
		"json":       []byte(`{"model": "not a flatbuffer"}`),
	} {
		_, err := tflite.Parse(data)
		if err == nil || !errors.Is(err, tflite.ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
	_, err := tflite.Parse(append([]byte{8, 0, 0, 0}, []byte("ONNX....")...))
	if !strings.Contains(err.Error(), "not a TFLite model") {
		t.Errorf("identifier error does not say so: %v", err)
	}
}

// TestTruncated cuts the file at every length: each must fail cleanly.
func TestTruncated(t *testing.T) {
	data := tflitetest.Encode(sample(), tflitetest.Options{})
	for n := range len(data) {
		m, err := parseNoPanic(t, data[:n:n])
		if err == nil {
			t.Errorf("truncated to %d of %d bytes: parsed (%d subgraphs)", n, len(data), len(m.Subgraphs))
		} else if !errors.Is(err, tflite.ErrCorrupt) {
			t.Errorf("truncated to %d: error %v does not wrap ErrCorrupt", n, err)
		}
	}
}

// TestCorrupt flips random bytes and random 32-bit words: Parse may succeed
// or fail, but never panic.
func TestCorrupt(t *testing.T) {
	orig := tflitetest.Encode(sample(), tflitetest.Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	failures := 0
	for i := range 5000 {
		data := bytes.Clone(orig)
		for range 1 + i%4 {
			p := rng.IntN(len(data))
			if i%2 == 0 {
				data[p] ^= byte(1 + rng.IntN(255))
			} else if p+4 <= len(data) {
				binary.LittleEndian.PutUint32(data[p:], rng.Uint32())
			}
		}
		if _, err := parseNoPanic(t, data); err != nil {
			failures++
		}
	}
	if failures == 0 {
		t.Error("no corruption was detected")
	}
}

func TestBadIndices(t *testing.T) {
	for name, edit := range map[string]func(m *tflite.Model){
		"operator input":  func(m *tflite.Model) { m.Subgraphs[0].Operators[0].Inputs[0] = 99 },
		"operator output": func(m *tflite.Model) { m.Subgraphs[0].Operators[0].Outputs[0] = -1 },
		"graph input":     func(m *tflite.Model) { m.Subgraphs[0].Inputs[0] = 12 },
		"data size":       func(m *tflite.Model) { m.Subgraphs[0].Tensors[1].Shape = []int32{4, 3, 3, 3} },
		"scales":          func(m *tflite.Model) { m.Subgraphs[0].Tensors[1].Quant.QuantizedDimension = 3 },
		"zero points":     func(m *tflite.Model) { m.Subgraphs[0].Tensors[0].Quant.ZeroPoint = []int64{1, 2} },
	} {
		m := sample()
		edit(m)
		_, err := tflite.Parse(tflitetest.Encode(m, tflitetest.Options{}))
		if !errors.Is(err, tflite.ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
}

func parseNoPanic(t *testing.T, data []byte) (m *tflite.Model, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Parse panicked on %d bytes: %v", len(data), r)
		}
	}()
	return tflite.Parse(data)
}

func FuzzParse(f *testing.F) {
	f.Add(tflitetest.Encode(sample(), tflitetest.Options{}))
	f.Add([]byte("\x08\x00\x00\x00TFL3\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := tflite.Parse(data)
		if err == nil && len(m.Subgraphs) == 0 {
			t.Error("parsed a model without subgraphs")
		}
	})
}
