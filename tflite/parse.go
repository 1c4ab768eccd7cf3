package tflite

import (
	"fmt"
	"math"
)

// FileIdentifier is the flatbuffer file identifier of TFLite models (bytes
// 4..8 of the file).
const FileIdentifier = "TFL3"

// Field indices of schema.fbs tables (vtable slot = 4 + 2*index). A union
// takes two slots: its type tag, then its value.
const (
	modelVersion       = 0
	modelOperatorCodes = 1
	modelSubgraphs     = 2
	modelDescription   = 3
	modelBuffers       = 4

	opcodeDeprecatedBuiltin = 0 // byte; the only code field before the int32 extension
	opcodeCustom            = 1
	opcodeVersion           = 2
	opcodeBuiltin           = 3 // int32, added when codes passed 127

	subgraphTensors   = 0
	subgraphInputs    = 1
	subgraphOutputs   = 2
	subgraphOperators = 3
	subgraphName      = 4

	bufferData   = 0
	bufferOffset = 1 // ulong, from the file start; used by models over 2 GiB
	bufferSize   = 2

	tensorShape        = 0
	tensorType         = 1
	tensorBuffer       = 2
	tensorName         = 3
	tensorQuantization = 4
	tensorIsVariable   = 5
	tensorSparsity     = 6

	quantMin         = 0
	quantMax         = 1
	quantScale       = 2
	quantZeroPoint   = 3
	quantDetailsType = 4 // union tag; 5 is its value
	quantDimension   = 6

	operatorOpcodeIndex = 0
	operatorInputs      = 1
	operatorOutputs     = 2
	operatorOptionsType = 3 // union tag; 4 is its value
	operatorOptions     = 4
)

// Parse decodes a TFLite flatbuffer. Tensor data aliases data. Every offset is
// checked: a truncated or corrupt file returns an error wrapping ErrCorrupt.
func Parse(data []byte) (*Model, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("tflite: %d bytes is too short for a model: %w", len(data), ErrCorrupt)
	}
	if id := string(data[4:8]); id != FileIdentifier {
		return nil, fmt.Errorf("tflite: file identifier %q, want %q (not a TFLite model): %w", id, FileIdentifier, ErrCorrupt)
	}
	b := buffer(data)
	root, err := b.u32(0)
	if err != nil {
		return nil, fmt.Errorf("tflite: root: %w", err)
	}
	mt, err := b.tableAt(int64(root))
	if err != nil {
		return nil, fmt.Errorf("tflite: model table: %w", err)
	}
	m := &Model{}
	if m.Version, err = mt.u32(modelVersion, 0); err != nil {
		return nil, fmt.Errorf("tflite: model version: %w", err)
	}
	if m.Description, err = mt.str(modelDescription); err != nil {
		return nil, fmt.Errorf("tflite: model description: %w", err)
	}
	buffers, err := parseBuffers(b, mt)
	if err != nil {
		return nil, fmt.Errorf("tflite: %w", err)
	}
	m.NumBuffers = len(buffers)
	codes, err := parseOpcodes(mt)
	if err != nil {
		return nil, fmt.Errorf("tflite: %w", err)
	}
	sv, err := mt.vec(modelSubgraphs, 4)
	if err != nil {
		return nil, fmt.Errorf("tflite: subgraphs: %w", err)
	}
	if sv.n == 0 {
		return nil, fmt.Errorf("tflite: model has no subgraphs: %w", ErrCorrupt)
	}
	m.Subgraphs = make([]Subgraph, sv.n)
	for i := range m.Subgraphs {
		st, err := sv.table(i)
		if err != nil {
			return nil, fmt.Errorf("tflite: subgraph %d: %w", i, err)
		}
		if err := parseSubgraph(st, buffers, codes, &m.Subgraphs[i]); err != nil {
			return nil, fmt.Errorf("tflite: subgraph %d: %w", i, err)
		}
	}
	return m, nil
}

func parseBuffers(b buffer, mt table) ([][]byte, error) {
	bv, err := mt.vec(modelBuffers, 4)
	if err != nil {
		return nil, fmt.Errorf("buffers: %w", err)
	}
	out := make([][]byte, bv.n)
	for i := range out {
		bt, err := bv.table(i)
		if err != nil {
			return nil, fmt.Errorf("buffer %d: %w", i, err)
		}
		dv, err := bt.vec(bufferData, 1)
		if err != nil {
			return nil, fmt.Errorf("buffer %d data: %w", i, err)
		}
		if dv.n > 0 {
			out[i] = dv.bytes()
			continue
		}
		// Offsets 0 and 1 are sentinels for "no external data".
		off, err := bt.u64(bufferOffset, 0)
		if err != nil {
			return nil, fmt.Errorf("buffer %d offset: %w", i, err)
		}
		size, err := bt.u64(bufferSize, 0)
		if err != nil {
			return nil, fmt.Errorf("buffer %d size: %w", i, err)
		}
		if off > 1 && size > 0 {
			if off > math.MaxInt64 || size > math.MaxInt64 {
				return nil, fmt.Errorf("buffer %d: offset %d size %d: %w", i, off, size, ErrCorrupt)
			}
			if err := b.check(int64(off), int64(size)); err != nil {
				return nil, fmt.Errorf("buffer %d external data: %w", i, err)
			}
			out[i] = b[off : off+size : off+size]
		}
	}
	return out, nil
}

type opcode struct {
	builtin BuiltinOperator
	custom  string
	version int32
}

func parseOpcodes(mt table) ([]opcode, error) {
	cv, err := mt.vec(modelOperatorCodes, 4)
	if err != nil {
		return nil, fmt.Errorf("operator codes: %w", err)
	}
	out := make([]opcode, cv.n)
	for i := range out {
		ct, err := cv.table(i)
		if err != nil {
			return nil, fmt.Errorf("operator code %d: %w", i, err)
		}
		dep, err := ct.i8(opcodeDeprecatedBuiltin, 0)
		if err != nil {
			return nil, fmt.Errorf("operator code %d: %w", i, err)
		}
		ext, err := ct.i32(opcodeBuiltin, 0)
		if err != nil {
			return nil, fmt.Errorf("operator code %d: %w", i, err)
		}
		// Old writers fill only the byte field, new ones both (the byte
		// saturating at 127); the larger value is the real code, as in
		// TFLite's schema_utils GetBuiltinCode.
		out[i].builtin = BuiltinOperator(max(int32(dep), ext))
		if out[i].custom, err = ct.str(opcodeCustom); err != nil {
			return nil, fmt.Errorf("operator code %d custom code: %w", i, err)
		}
		if out[i].version, err = ct.i32(opcodeVersion, 1); err != nil {
			return nil, fmt.Errorf("operator code %d version: %w", i, err)
		}
	}
	return out, nil
}

func parseSubgraph(st table, buffers [][]byte, codes []opcode, sg *Subgraph) error {
	var err error
	if sg.Name, err = st.str(subgraphName); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	tv, err := st.vec(subgraphTensors, 4)
	if err != nil {
		return fmt.Errorf("tensors: %w", err)
	}
	sg.Tensors = make([]Tensor, tv.n)
	for i := range sg.Tensors {
		tt, err := tv.table(i)
		if err != nil {
			return fmt.Errorf("tensor %d: %w", i, err)
		}
		if err := parseTensor(tt, buffers, &sg.Tensors[i]); err != nil {
			return fmt.Errorf("tensor %d (%s): %w", i, sg.Tensors[i].Name, err)
		}
	}
	nt := len(sg.Tensors)
	if sg.Inputs, err = st.int32s(subgraphInputs); err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	if sg.Outputs, err = st.int32s(subgraphOutputs); err != nil {
		return fmt.Errorf("outputs: %w", err)
	}
	if err := checkIndices("inputs", sg.Inputs, nt, false); err != nil {
		return err
	}
	if err := checkIndices("outputs", sg.Outputs, nt, false); err != nil {
		return err
	}
	ov, err := st.vec(subgraphOperators, 4)
	if err != nil {
		return fmt.Errorf("operators: %w", err)
	}
	sg.Operators = make([]Operator, ov.n)
	for i := range sg.Operators {
		ot, err := ov.table(i)
		if err != nil {
			return fmt.Errorf("operator %d: %w", i, err)
		}
		if err := parseOperator(ot, codes, nt, &sg.Operators[i]); err != nil {
			return fmt.Errorf("operator %d: %w", i, err)
		}
	}
	return nil
}

func checkIndices(what string, idx []int32, n int, optional bool) error {
	for _, k := range idx {
		if optional && k == -1 {
			continue
		}
		if k < 0 || int(k) >= n {
			return fmt.Errorf("%s: tensor index %d not in [0,%d): %w", what, k, n, ErrCorrupt)
		}
	}
	return nil
}

func parseTensor(tt table, buffers [][]byte, t *Tensor) error {
	var err error
	if t.Name, err = tt.str(tensorName); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if t.Shape, err = tt.int32s(tensorShape); err != nil {
		return fmt.Errorf("shape: %w", err)
	}
	ty, err := tt.i8(tensorType, 0)
	if err != nil {
		return fmt.Errorf("type: %w", err)
	}
	t.Type = TensorType(ty)
	if t.Buffer, err = tt.u32(tensorBuffer, 0); err != nil {
		return fmt.Errorf("buffer: %w", err)
	}
	if int64(t.Buffer) >= int64(len(buffers)) && t.Buffer != 0 {
		return fmt.Errorf("buffer index %d not in [0,%d): %w", t.Buffer, len(buffers), ErrCorrupt)
	}
	if t.Buffer != 0 {
		t.Data = buffers[t.Buffer]
	}
	if t.IsVariable, err = tt.boolean(tensorIsVariable); err != nil {
		return fmt.Errorf("is_variable: %w", err)
	}
	if _, sparse, err := tt.ref(tensorSparsity); err != nil {
		return fmt.Errorf("sparsity: %w", err)
	} else if sparse {
		t.Sparse = true
	}
	if t.Data != nil && !t.Sparse {
		if es, n := t.Type.Size(), t.NumElements(); es > 0 && n >= 0 && int64(len(t.Data)) != n*int64(es) {
			return fmt.Errorf("constant data has %d bytes, shape %v of %s needs %d: %w", len(t.Data), t.Shape, t.Type, n*int64(es), ErrCorrupt)
		}
	}
	qt, ok, err := tt.sub(tensorQuantization)
	if err != nil {
		return fmt.Errorf("quantization: %w", err)
	}
	if ok {
		if t.Quant, err = parseQuant(qt, t.Shape); err != nil {
			return fmt.Errorf("quantization: %w", err)
		}
	}
	return nil
}

func parseQuant(qt table, shape []int32) (*Quantization, error) {
	q := &Quantization{}
	var err error
	if q.Min, err = qt.float32s(quantMin); err != nil {
		return nil, fmt.Errorf("min: %w", err)
	}
	if q.Max, err = qt.float32s(quantMax); err != nil {
		return nil, fmt.Errorf("max: %w", err)
	}
	if q.Scale, err = qt.float32s(quantScale); err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	if q.ZeroPoint, err = qt.int64s(quantZeroPoint); err != nil {
		return nil, fmt.Errorf("zero_point: %w", err)
	}
	if q.QuantizedDimension, err = qt.i32(quantDimension, 0); err != nil {
		return nil, fmt.Errorf("quantized_dimension: %w", err)
	}
	details, err := qt.u8(quantDetailsType, 0)
	if err != nil {
		return nil, fmt.Errorf("details: %w", err)
	}
	q.Custom = details != 0
	if len(q.Scale) == 0 {
		// TFLite treats a tensor without scales as not quantised.
		if q.Custom || len(q.Min) > 0 {
			return q, nil
		}
		return nil, nil
	}
	if len(q.ZeroPoint) == 0 {
		q.ZeroPoint = make([]int64, len(q.Scale))
	}
	if len(q.ZeroPoint) != len(q.Scale) {
		return nil, fmt.Errorf("%d scales but %d zero points: %w", len(q.Scale), len(q.ZeroPoint), ErrCorrupt)
	}
	if len(q.Scale) > 1 {
		d := q.QuantizedDimension
		if d < 0 || int(d) >= len(shape) || int(shape[d]) != len(q.Scale) {
			return nil, fmt.Errorf("%d scales along dimension %d of shape %v: %w", len(q.Scale), d, shape, ErrCorrupt)
		}
	}
	return q, nil
}

func parseOperator(ot table, codes []opcode, nt int, op *Operator) error {
	idx, err := ot.u32(operatorOpcodeIndex, 0)
	if err != nil {
		return fmt.Errorf("opcode_index: %w", err)
	}
	if int64(idx) >= int64(len(codes)) {
		return fmt.Errorf("opcode_index %d not in [0,%d): %w", idx, len(codes), ErrCorrupt)
	}
	c := codes[idx]
	op.Opcode, op.CustomCode, op.Version = c.builtin, c.custom, c.version
	if op.Inputs, err = ot.int32s(operatorInputs); err != nil {
		return fmt.Errorf("%s inputs: %w", op.Opcode, err)
	}
	if op.Outputs, err = ot.int32s(operatorOutputs); err != nil {
		return fmt.Errorf("%s outputs: %w", op.Opcode, err)
	}
	if err := checkIndices(op.Opcode.String()+" inputs", op.Inputs, nt, true); err != nil {
		return err
	}
	if err := checkIndices(op.Opcode.String()+" outputs", op.Outputs, nt, false); err != nil {
		return err
	}
	if op.OptionsType, err = ot.u8(operatorOptionsType, 0); err != nil {
		return fmt.Errorf("%s options type: %w", op.Opcode, err)
	}
	if op.OptionsType == OptionsNone {
		return nil
	}
	ut, ok, err := ot.sub(operatorOptions)
	if err != nil {
		return fmt.Errorf("%s options: %w", op.Opcode, err)
	}
	if !ok {
		return nil
	}
	if op.Options, err = parseOptions(op.OptionsType, ut); err != nil {
		return fmt.Errorf("%s options: %w", op.Opcode, err)
	}
	return nil
}

// parseOptions decodes the option tables the converters use; others stay nil.
func parseOptions(kind uint8, t table) (Options, error) {
	var errs [8]error
	switch kind {
	case OptionsConv2D:
		o := &Conv2DOptions{}
		var p, a int8
		p, errs[0] = t.i8(0, 0)
		o.StrideW, errs[1] = t.i32(1, 0)
		o.StrideH, errs[2] = t.i32(2, 0)
		a, errs[3] = t.i8(3, 0)
		o.DilationW, errs[4] = t.i32(4, 1)
		o.DilationH, errs[5] = t.i32(5, 1)
		o.Padding, o.Activation = Padding(p), Activation(a)
		return o, firstErr(errs[:])
	case OptionsDepthwiseConv:
		o := &DepthwiseConv2DOptions{}
		var p, a int8
		p, errs[0] = t.i8(0, 0)
		o.StrideW, errs[1] = t.i32(1, 0)
		o.StrideH, errs[2] = t.i32(2, 0)
		o.DepthMultiplier, errs[3] = t.i32(3, 0)
		a, errs[4] = t.i8(4, 0)
		o.DilationW, errs[5] = t.i32(5, 1)
		o.DilationH, errs[6] = t.i32(6, 1)
		o.Padding, o.Activation = Padding(p), Activation(a)
		return o, firstErr(errs[:])
	case OptionsPool2D:
		o := &Pool2DOptions{}
		var p, a int8
		p, errs[0] = t.i8(0, 0)
		o.StrideW, errs[1] = t.i32(1, 0)
		o.StrideH, errs[2] = t.i32(2, 0)
		o.FilterW, errs[3] = t.i32(3, 0)
		o.FilterH, errs[4] = t.i32(4, 0)
		a, errs[5] = t.i8(5, 0)
		o.Padding, o.Activation = Padding(p), Activation(a)
		return o, firstErr(errs[:])
	case OptionsFullyConnected:
		o := &FullyConnectedOptions{}
		var a int8
		a, errs[0] = t.i8(0, 0)
		o.KeepNumDims, errs[1] = t.boolean(2)
		o.Activation = Activation(a)
		return o, firstErr(errs[:])
	case OptionsSoftmax:
		o := &SoftmaxOptions{}
		o.Beta, errs[0] = t.f32(0, 0)
		return o, firstErr(errs[:])
	case OptionsConcatenation:
		o := &ConcatenationOptions{}
		var a int8
		o.Axis, errs[0] = t.i32(0, 0)
		a, errs[1] = t.i8(1, 0)
		o.Activation = Activation(a)
		return o, firstErr(errs[:])
	case OptionsAdd:
		a, err := t.i8(0, 0)
		return &AddOptions{Activation: Activation(a)}, err
	case OptionsMul:
		a, err := t.i8(0, 0)
		return &MulOptions{Activation: Activation(a)}, err
	case OptionsReshape:
		s, err := t.int32s(0)
		return &ReshapeOptions{NewShape: s}, err
	case OptionsReducer:
		k, err := t.boolean(0)
		return &ReducerOptions{KeepDims: k}, err
	}
	return nil, nil
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
