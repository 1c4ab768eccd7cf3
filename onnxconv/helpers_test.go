package onnxconv

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/proto"

	"github.com/modelpick/modelpick/internal/ortenv"
	"github.com/modelpick/modelpick/tflite"
	"github.com/modelpick/modelpick/tflite/tflitetest"
)

// builder assembles a one-subgraph TFLite model for tests.
type builder struct {
	m   tflite.Model
	rng *rand.Rand
}

func newBuilder(seed uint64) *builder {
	return &builder{m: tflite.Model{Version: 3, Subgraphs: []tflite.Subgraph{{Name: "test"}}}, rng: rand.New(rand.NewPCG(seed, 7))}
}

func (b *builder) sg() *tflite.Subgraph { return &b.m.Subgraphs[0] }

func (b *builder) add(t tflite.Tensor) int32 {
	b.sg().Tensors = append(b.sg().Tensors, t)
	return int32(len(b.sg().Tensors) - 1)
}

// act adds a per-tensor quantised activation.
func (b *builder) act(name string, ty tflite.TensorType, scale float32, zp int64, shape ...int32) int32 {
	return b.add(tflite.Tensor{Name: name, Shape: shape, Type: ty,
		Quant: &tflite.Quantization{Scale: []float32{scale}, ZeroPoint: []int64{zp}}})
}

// weights adds random constant 8-bit weights; scales has one entry
// (per-tensor) or one per channel along dim; zps likewise.
func (b *builder) weights(ty tflite.TensorType, scales []float32, zps []int64, dim int32, shape ...int32) int32 {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(b.rng.IntN(256))
	}
	return b.add(tflite.Tensor{Name: "w", Shape: shape, Type: ty, Data: data,
		Quant: &tflite.Quantization{Scale: scales, ZeroPoint: zps, QuantizedDimension: dim}})
}

// bias adds random int32 values in [-span, span].
func (b *builder) bias(n int, span int) int32 {
	data := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(int32(b.rng.IntN(2*span+1)-span)))
	}
	return b.add(tflite.Tensor{Name: "b", Shape: []int32{int32(n)}, Type: tflite.Int32, Data: data})
}

func (b *builder) int32s(name string, v ...int32) int32 {
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(x))
	}
	return b.add(tflite.Tensor{Name: name, Shape: []int32{int32(len(v))}, Type: tflite.Int32, Data: data})
}

func (b *builder) op(code tflite.BuiltinOperator, opts tflite.Options, in []int32, out int32) {
	b.sg().Operators = append(b.sg().Operators, tflite.Operator{Opcode: code, Version: 1, Inputs: in, Outputs: []int32{out}, Options: opts})
}

func (b *builder) io(in, out int32) {
	b.sg().Inputs, b.sg().Outputs = []int32{in}, []int32{out}
}

// model encodes and re-parses, so every test goes through the flatbuffer.
func (b *builder) model(t *testing.T) *tflite.Model {
	t.Helper()
	m, err := tflite.Parse(tflitetest.Encode(&b.m, tflitetest.Options{}))
	if err != nil {
		t.Fatalf("parse test model: %v", err)
	}
	return m
}

func scalesOf(n int, base float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = base * (1 + 0.37*float32(i%5))
	}
	return s
}

func zeros(n int) []int64 { return make([]int64, n) }

// runONNX runs a converted model once on a float input.
func runONNX(t *testing.T, mp *onnx.ModelProto, info Info, input []float32, level ort.GraphOptimizationLevel) []float32 {
	t.Helper()
	if err := ortenv.Init(""); err != nil {
		t.Fatalf("ONNX Runtime: %v", err)
	}
	data, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
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
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	if err := opts.SetGraphOptimizationLevel(level); err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewAdvancedSessionWithONNXData(data, []string{info.InputName}, []string{info.OutputName},
		[]ort.Value{in}, []ort.Value{out}, opts)
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	defer s.Destroy()
	if err := s.Run(); err != nil {
		t.Fatalf("run: %v", err)
	}
	return append([]float32(nil), out.GetData()...)
}

// variants are the converter settings every op test runs under.
func testVariants() []struct {
	name string
	opt  options
} {
	return []struct {
		name string
		opt  options
	}{
		{"default", options{}},
		{"qdq", options{lowering: lowerQDQ}},
		{"int8acts", options{keepInt8Activations: true}},
		{"weightsInt8", options{weights: weightsInt8}},
		{"weightsKeep", options{weights: weightsKeep}},
		{"weightsUint8", options{weights: weightsUint8}},
	}
}

// checkModel converts m under every variant, runs it in ONNX Runtime (graph
// optimisations on and off) on random input codes and compares the output
// codes with the reference interpreter within tol quanta.
func checkModel(t *testing.T, m *tflite.Model, tol int64) {
	t.Helper()
	sg := &m.Subgraphs[0]
	it, ot := &sg.Tensors[sg.Inputs[0]], &sg.Tensors[sg.Outputs[0]]
	rng := rand.New(rand.NewPCG(42, uint64(len(sg.Tensors))))
	lo, hi := typeRange(it.Type)
	n := int(it.NumElements())
	codes := make([]int64, n)
	input := make([]float32, n)
	for i := range codes {
		codes[i] = lo + rng.Int64N(hi-lo+1)
		input[i] = it.Quant.Scale[0] * float32(codes[i]-it.Quant.ZeroPoint[0])
	}
	want, err := refRun(m, codes)
	if err != nil {
		t.Fatal(err)
	}
	// Symmetric weights change the few channels that do not fit int8
	// (symmetricWeights, tested on its own): the reference for that mode
	// runs the model with the weights it stores.
	wantSym, err := refRun(symmetricReference(t, m), codes)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range testVariants() {
		want := want
		if v.opt.weights == weightsSymmetric {
			want = wantSym
		}
		mp, info, err := convert(m, "test.tflite", v.opt)
		if err != nil {
			t.Fatalf("%s: convert: %v", v.name, err)
		}
		for _, level := range []ort.GraphOptimizationLevel{ort.GraphOptimizationLevelEnableAll, ort.GraphOptimizationLevelDisableAll} {
			got := runONNX(t, mp, info, input, level)
			if len(got) != len(want) {
				t.Fatalf("%s: %d outputs, want %d", v.name, len(got), len(want))
			}
			bad, worst := 0, int64(0)
			for i, g := range got {
				q := int64(math.Round(float64(g/ot.Quant.Scale[0]))) + ot.Quant.ZeroPoint[0]
				if d := abs(q - want[i]); d > tol {
					bad++
					worst = max(worst, d)
					if bad <= 3 {
						t.Errorf("%s/%s: output %d = code %d, reference %d", v.name, level, i, q, want[i])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s/%s: %d of %d outputs differ by more than %d (worst %d)", v.name, level, bad, len(got), tol, worst)
			}
		}
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// symmetricReference returns a copy of m whose convolution weights and
// biases are those symmetricWeights stores (int8, zero point 0, per output
// channel), in TFLite's layout, for the reference interpreter.
func symmetricReference(t *testing.T, m *tflite.Model) *tflite.Model {
	t.Helper()
	out := *m
	out.Subgraphs = slices.Clone(m.Subgraphs)
	sg := &out.Subgraphs[0]
	sg.Tensors = slices.Clone(sg.Tensors)
	for _, op := range sg.Operators {
		if op.Opcode != tflite.OpConv2D && op.Opcode != tflite.OpDepthwiseConv2D {
			continue
		}
		wt := &sg.Tensors[op.Inputs[1]]
		// index(o, k) is the byte of output channel o's k-th value.
		outC, dim := int(wt.Shape[0]), int32(0)
		index := func(o, k int) int { return o*len(wt.Data)/outC + k }
		if op.Opcode == tflite.OpDepthwiseConv2D {
			outC, dim = int(wt.Shape[3]), 3
			index = func(o, k int) int { return k*outC + o }
		}
		per := len(wt.Data) / outC
		codes := make([]byte, len(wt.Data))
		for o := range outC {
			for k := range per {
				codes[o*per+k] = wt.Data[index(o, k)]
			}
		}
		in := storedWeights{ty: wt.Type, codes: codes, scales: wt.Quant.Scale, zps: wt.Quant.ZeroPoint}
		hasBias := len(op.Inputs) == 3 && op.Inputs[2] >= 0
		if hasBias {
			in.bias = sg.Tensors[op.Inputs[2]].Data
		}
		sw := symmetricWeights(in, int64(outC))
		nw := *wt
		nw.Type, nw.Data = tflite.Int8, make([]byte, len(wt.Data))
		for o := range outC {
			for k := range per {
				nw.Data[index(o, k)] = sw.codes[o*per+k]
			}
		}
		nw.Quant = &tflite.Quantization{Scale: sw.scales, ZeroPoint: sw.zps, QuantizedDimension: dim}
		*wt = nw
		if hasBias {
			sg.Tensors[op.Inputs[2]].Data = sw.bias
		}
	}
	return &out
}
