package onnxconv

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/modelpick/modelpick/tflite"
)

// fresh returns a new unique ONNX value name. Internal names start with "/"
// so they cannot collide with TFLite tensor names used for the graph's input
// and output.
func (c *converter) fresh(prefix string) string {
	c.count++
	return fmt.Sprintf("/%s_%d", prefix, c.count)
}

func (c *converter) node(op, domain string, in []string, out string, attrs ...*onnx.AttributeProto) {
	if domain == msDomain {
		c.ms = true
	}
	c.g.Node = append(c.g.Node, &onnx.NodeProto{
		Name:      fmt.Sprintf("%s_%d", op, len(c.g.Node)),
		OpType:    op,
		Domain:    domain,
		Input:     in,
		Output:    []string{out},
		Attribute: attrs,
	})
}

func attrInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func attrInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

// initializer adds a constant; raw is little-endian, dims empty for a scalar.
func (c *converter) initializer(prefix string, ty onnx.TensorProto_DataType, shape []int64, raw []byte) string {
	name := c.fresh(prefix)
	c.g.Initializer = append(c.g.Initializer, &onnx.TensorProto{
		Name: name, DataType: int32(ty), Dims: shape, RawData: raw,
	})
	return name
}

func (c *converter) scalarF32(v float32) string {
	return c.initializer("scale", onnx.TensorProto_FLOAT, nil, binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
}

func (c *converter) vectorF32(v []float32) string {
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	return c.initializer("scales", onnx.TensorProto_FLOAT, []int64{int64(len(v))}, raw)
}

func (c *converter) int64s(prefix string, v []int64) string {
	raw := make([]byte, 0, 8*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(x))
	}
	return c.initializer(prefix, onnx.TensorProto_INT64, []int64{int64(len(v))}, raw)
}

// zeroPoint adds a scalar zero point of the quantised type ty (ONNX requires
// the zero point's type to be the quantised tensor's type).
func (c *converter) zeroPoint(zp int64, ty tflite.TensorType) string {
	dt, _ := onnxType(ty)
	return c.initializer("zp", dt, nil, quantBytes([]int64{zp}))
}

// quantScalar adds a scalar of quantised type ty (Clip bounds).
func (c *converter) quantScalar(v int64, ty tflite.TensorType) string {
	dt, _ := onnxType(ty)
	return c.initializer("bound", dt, nil, quantBytes([]int64{v}))
}

// quantBytes packs 8-bit values (uint8 or int8, two's complement).
func quantBytes(v []int64) []byte {
	out := make([]byte, len(v))
	for i, x := range v {
		out[i] = byte(x)
	}
	return out
}

func onnxType(t tflite.TensorType) (onnx.TensorProto_DataType, error) {
	switch t {
	case tflite.Uint8:
		return onnx.TensorProto_UINT8, nil
	case tflite.Int8:
		return onnx.TensorProto_INT8, nil
	case tflite.Int32:
		return onnx.TensorProto_INT32, nil
	case tflite.Float32:
		return onnx.TensorProto_FLOAT, nil
	case tflite.Int64:
		return onnx.TensorProto_INT64, nil
	}
	return 0, fmt.Errorf("tensor type %s: %w", t, ErrUnsupported)
}

// qrange is the representable range of an 8-bit quantised type.
func qrange(t tflite.TensorType) (lo, hi int64) {
	if t == tflite.Int8 {
		return -128, 127
	}
	return 0, 255
}

// quant is a per-tensor quantisation.
type quant struct {
	scale float32
	zp    int64
	ty    tflite.TensorType
}

// perTensor returns the per-tensor quantisation of an 8-bit activation.
func perTensor(t *tflite.Tensor) (quant, error) {
	if t.Type != tflite.Uint8 && t.Type != tflite.Int8 {
		return quant{}, fmt.Errorf("tensor %q is %s, want UINT8 or INT8: %w", t.Name, t.Type, ErrUnsupported)
	}
	q := t.Quant
	if q == nil || len(q.Scale) == 0 || q.Custom {
		return quant{}, fmt.Errorf("tensor %q has no affine quantisation: %w", t.Name, ErrUnsupported)
	}
	if len(q.Scale) != 1 {
		return quant{}, fmt.Errorf("tensor %q: per-channel quantisation of an activation: %w", t.Name, ErrUnsupported)
	}
	lo, hi := qrange(t.Type)
	if q.ZeroPoint[0] < lo || q.ZeroPoint[0] > hi {
		return quant{}, fmt.Errorf("tensor %q: zero point %d outside %s range", t.Name, q.ZeroPoint[0], t.Type)
	}
	if !(q.Scale[0] > 0) || math.IsInf(float64(q.Scale[0]), 0) {
		return quant{}, fmt.Errorf("tensor %q: scale %g", t.Name, q.Scale[0])
	}
	return quant{scale: q.Scale[0], zp: q.ZeroPoint[0], ty: t.Type}, nil
}

// act returns the quantisation of an 8-bit activation as the graph carries
// it: int8 activations become uint8 with the zero point moved by 128 (same
// real values, q_u8 = q_s8 + 128) unless options say otherwise.
func (c *converter) act(t *tflite.Tensor) (quant, error) {
	q, err := perTensor(t)
	if err == nil && q.ty == tflite.Int8 && !c.opt.keepInt8Activations {
		q.zp += 128
		q.ty = tflite.Uint8
	}
	return q, err
}

// shape4 returns a rank-4 tensor's NHWC shape.
func shape4(t *tflite.Tensor) ([4]int64, error) {
	if len(t.Shape) != 4 {
		return [4]int64{}, fmt.Errorf("tensor %q has shape %v, want rank 4 (NHWC)", t.Name, t.Shape)
	}
	var s [4]int64
	for i, d := range t.Shape {
		if d <= 0 {
			return s, fmt.Errorf("tensor %q has shape %v: %w", t.Name, t.Shape, ErrUnsupported)
		}
		s[i] = int64(d)
	}
	return s, nil
}

// val returns the value record of a TFLite tensor that an earlier operator
// (or the graph input, or a constant) produced.
func (c *converter) val(idx int32) (*value, error) {
	if idx < 0 || int(idx) >= len(c.sg.Tensors) {
		return nil, fmt.Errorf("tensor index %d out of range", idx)
	}
	if v, ok := c.vals[idx]; ok {
		return v, nil
	}
	t := &c.sg.Tensors[idx]
	if t.Data == nil {
		return nil, fmt.Errorf("tensor %d %q is used before any operator produces it", idx, t.Name)
	}
	// A constant used as an activation (e.g. an ADD operand): an initializer
	// in TFLite's layout.
	ty, data := t.Type, t.Data
	if ty == tflite.Int8 && !c.opt.keepInt8Activations {
		ty, data = tflite.Uint8, make([]byte, len(t.Data))
		for i, b := range t.Data {
			data[i] = b ^ 0x80
		}
	}
	dt, err := onnxType(ty)
	if err != nil {
		return nil, err
	}
	v := &value{native: c.initializer("const", dt, dims(t.Shape), data)}
	c.vals[idx] = v
	return v, nil
}

// native returns the tensor in TFLite's own layout (NHWC for rank 4).
func (c *converter) native(idx int32) (string, error) {
	v, err := c.val(idx)
	if err != nil {
		return "", err
	}
	if v.native != "" {
		return v.native, nil
	}
	s, err := shape4(&c.sg.Tensors[idx])
	if err != nil {
		return "", err
	}
	v.native = c.relayout(v.nchw, s[:], []int64{0, 2, 3, 1}, s[1]*s[2] == 1 || s[3] == 1)
	return v.native, nil
}

// nchw returns a rank-4 tensor in NCHW layout.
func (c *converter) nchw(idx int32) (string, error) {
	v, err := c.val(idx)
	if err != nil {
		return "", err
	}
	if v.nchw != "" {
		return v.nchw, nil
	}
	s, err := shape4(&c.sg.Tensors[idx])
	if err != nil {
		return "", err
	}
	to := []int64{s[0], s[3], s[1], s[2]}
	v.nchw = c.relayout(v.native, to, []int64{0, 3, 1, 2}, s[1]*s[2] == 1 || s[3] == 1)
	return v.nchw, nil
}

// relayout transposes src by perm into shape to; when only unit dimensions
// move (e.g. [1,1,1,C] <-> [1,C,1,1]) the bytes are already in order and a
// Reshape (a free view in ONNX Runtime) does instead.
func (c *converter) relayout(src string, to, perm []int64, trivial bool) string {
	out := c.fresh("relayout")
	if trivial {
		c.node("Reshape", "", []string{src, c.int64s("shape", to)}, out)
	} else {
		c.node("Transpose", "", []string{src}, out, attrInts("perm", perm...))
	}
	return out
}

// setNative and setNCHW record the ONNX value produced for a TFLite tensor.
func (c *converter) setNative(idx int32, name string) { c.vals[idx] = &value{native: name} }
func (c *converter) setNCHW(idx int32, name string)   { c.vals[idx] = &value{nchw: name} }

// dequant adds DequantizeLinear of src (per-tensor q) and returns the float
// value's name.
func (c *converter) dequant(src string, q quant) string {
	out := c.fresh("dq")
	c.node("DequantizeLinear", "", []string{src, c.scalarF32(q.scale), c.zeroPoint(q.zp, q.ty)}, out)
	return out
}

// requant adds QuantizeLinear of the float value src into q.
func (c *converter) requant(src string, q quant) string {
	out := c.fresh("q")
	c.node("QuantizeLinear", "", []string{src, c.scalarF32(q.scale), c.zeroPoint(q.zp, q.ty)}, out)
	return out
}
