// Package tflitetest writes small TFLite flatbuffers from tflite.Model
// values, so tests of the reader and of converters can make their own models
// without any file on disk. It covers exactly what package tflite reads.
package tflitetest

import (
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/modelpick/modelpick/tflite"
)

// Options tune how Encode writes operator codes, to exercise both the
// pre-2.4 layout (a byte code only) and the extended int32 field.
type Options struct {
	// LegacyOpcodes writes only deprecated_builtin_code (as old converters
	// did); codes above 127 cannot be written this way.
	LegacyOpcodes bool
	// OmitDeprecated writes only the int32 builtin_code (the byte is left at
	// its default 0), as some newer writers do for small codes.
	OmitDeprecated bool
}

// Encode serialises m as a TFLite file. Each tensor with Data gets its own
// buffer (buffer 0 is the empty sentinel), whatever its Buffer field says.
func Encode(m *tflite.Model, opt Options) []byte {
	b := flatbuffers.NewBuilder(1024)

	// Buffers: 0 is the empty sentinel, then one per constant tensor in
	// subgraph order.
	bufferOffsets := []flatbuffers.UOffsetT{emptyBuffer(b)}
	bufferIndex := make([][]uint32, len(m.Subgraphs))
	for si := range m.Subgraphs {
		sg := &m.Subgraphs[si]
		bufferIndex[si] = make([]uint32, len(sg.Tensors))
		for ti := range sg.Tensors {
			if sg.Tensors[ti].Data == nil {
				continue
			}
			data := b.CreateByteVector(sg.Tensors[ti].Data)
			b.StartObject(1)
			b.PrependUOffsetTSlot(0, data, 0)
			bufferIndex[si][ti] = uint32(len(bufferOffsets))
			bufferOffsets = append(bufferOffsets, b.EndObject())
		}
	}

	type code struct {
		op      tflite.BuiltinOperator
		custom  string
		version int32
	}
	var codes []code
	codeIndex := map[code]uint32{}
	opcodeOf := func(op *tflite.Operator) uint32 {
		v := op.Version
		if v == 0 {
			v = 1
		}
		c := code{op.Opcode, op.CustomCode, v}
		if i, ok := codeIndex[c]; ok {
			return i
		}
		codeIndex[c] = uint32(len(codes))
		codes = append(codes, c)
		return codeIndex[c]
	}

	subgraphs := make([]flatbuffers.UOffsetT, len(m.Subgraphs))
	for si := range m.Subgraphs {
		sg := &m.Subgraphs[si]
		tensors := make([]flatbuffers.UOffsetT, len(sg.Tensors))
		for ti := range sg.Tensors {
			tensors[ti] = encodeTensor(b, &sg.Tensors[ti], bufferIndex[si][ti])
		}
		ops := make([]flatbuffers.UOffsetT, len(sg.Operators))
		for oi := range sg.Operators {
			ops[oi] = encodeOperator(b, &sg.Operators[oi], opcodeOf(&sg.Operators[oi]))
		}
		tv := tableVector(b, tensors)
		iv := int32Vector(b, sg.Inputs)
		ov := int32Vector(b, sg.Outputs)
		opv := tableVector(b, ops)
		name := b.CreateString(sg.Name)
		b.StartObject(5)
		b.PrependUOffsetTSlot(0, tv, 0)
		b.PrependUOffsetTSlot(1, iv, 0)
		b.PrependUOffsetTSlot(2, ov, 0)
		b.PrependUOffsetTSlot(3, opv, 0)
		b.PrependUOffsetTSlot(4, name, 0)
		subgraphs[si] = b.EndObject()
	}

	codeTables := make([]flatbuffers.UOffsetT, len(codes))
	for i, c := range codes {
		var custom flatbuffers.UOffsetT
		if c.custom != "" {
			custom = b.CreateString(c.custom)
		}
		b.StartObject(4)
		if !opt.OmitDeprecated || opt.LegacyOpcodes {
			dep := min(int32(c.op), int32(tflite.OpPlaceholderForGreaterOpCodes))
			b.PrependInt8Slot(0, int8(dep), 0)
		}
		if custom != 0 {
			b.PrependUOffsetTSlot(1, custom, 0)
		}
		b.PrependInt32Slot(2, c.version, 1)
		if !opt.LegacyOpcodes {
			b.PrependInt32Slot(3, int32(c.op), 0)
		}
		codeTables[i] = b.EndObject()
	}

	cv := tableVector(b, codeTables)
	sv := tableVector(b, subgraphs)
	bv := tableVector(b, bufferOffsets)
	desc := b.CreateString(m.Description)
	b.StartObject(5)
	b.PrependUint32Slot(0, m.Version, 0)
	b.PrependUOffsetTSlot(1, cv, 0)
	b.PrependUOffsetTSlot(2, sv, 0)
	b.PrependUOffsetTSlot(3, desc, 0)
	b.PrependUOffsetTSlot(4, bv, 0)
	b.FinishWithFileIdentifier(b.EndObject(), []byte(tflite.FileIdentifier))
	return b.FinishedBytes()
}

func emptyBuffer(b *flatbuffers.Builder) flatbuffers.UOffsetT {
	b.StartObject(1)
	return b.EndObject()
}

func encodeTensor(b *flatbuffers.Builder, t *tflite.Tensor, buffer uint32) flatbuffers.UOffsetT {
	name := b.CreateString(t.Name)
	shape := int32Vector(b, t.Shape)
	var quant flatbuffers.UOffsetT
	if q := t.Quant; q != nil {
		minV := float32Vector(b, q.Min)
		maxV := float32Vector(b, q.Max)
		scale := float32Vector(b, q.Scale)
		zp := int64Vector(b, q.ZeroPoint)
		b.StartObject(7)
		if minV != 0 {
			b.PrependUOffsetTSlot(0, minV, 0)
		}
		if maxV != 0 {
			b.PrependUOffsetTSlot(1, maxV, 0)
		}
		if scale != 0 {
			b.PrependUOffsetTSlot(2, scale, 0)
		}
		if zp != 0 {
			b.PrependUOffsetTSlot(3, zp, 0)
		}
		b.PrependInt32Slot(6, q.QuantizedDimension, 0)
		quant = b.EndObject()
	}
	b.StartObject(6)
	b.PrependUOffsetTSlot(0, shape, 0)
	b.PrependInt8Slot(1, int8(t.Type), 0)
	b.PrependUint32Slot(2, buffer, 0)
	b.PrependUOffsetTSlot(3, name, 0)
	if quant != 0 {
		b.PrependUOffsetTSlot(4, quant, 0)
	}
	b.PrependBoolSlot(5, t.IsVariable, false)
	return b.EndObject()
}

func encodeOperator(b *flatbuffers.Builder, op *tflite.Operator, opcode uint32) flatbuffers.UOffsetT {
	in := int32Vector(b, op.Inputs)
	out := int32Vector(b, op.Outputs)
	opts := encodeOptions(b, op.Options)
	b.StartObject(5)
	b.PrependUint32Slot(0, opcode, 0)
	b.PrependUOffsetTSlot(1, in, 0)
	b.PrependUOffsetTSlot(2, out, 0)
	if opts != 0 {
		b.PrependUint8Slot(3, tflite.OptionsTypeOf(op.Options), 0)
		b.PrependUOffsetTSlot(4, opts, 0)
	}
	return b.EndObject()
}

// encodeOptions writes every field explicitly (Prepend + Slot, defaults
// included) except dilations, which it omits when 1, so both present and
// absent fields are exercised.
func encodeOptions(b *flatbuffers.Builder, o tflite.Options) flatbuffers.UOffsetT {
	switch o := o.(type) {
	case *tflite.Conv2DOptions:
		b.StartObject(6)
		b.PrependInt8(int8(o.Padding))
		b.Slot(0)
		b.PrependInt32(o.StrideW)
		b.Slot(1)
		b.PrependInt32(o.StrideH)
		b.Slot(2)
		b.PrependInt8(int8(o.Activation))
		b.Slot(3)
		b.PrependInt32Slot(4, o.DilationW, 1)
		b.PrependInt32Slot(5, o.DilationH, 1)
		return b.EndObject()
	case *tflite.DepthwiseConv2DOptions:
		b.StartObject(7)
		b.PrependInt8(int8(o.Padding))
		b.Slot(0)
		b.PrependInt32(o.StrideW)
		b.Slot(1)
		b.PrependInt32(o.StrideH)
		b.Slot(2)
		b.PrependInt32(o.DepthMultiplier)
		b.Slot(3)
		b.PrependInt8(int8(o.Activation))
		b.Slot(4)
		b.PrependInt32Slot(5, o.DilationW, 1)
		b.PrependInt32Slot(6, o.DilationH, 1)
		return b.EndObject()
	case *tflite.Pool2DOptions:
		b.StartObject(6)
		b.PrependInt8(int8(o.Padding))
		b.Slot(0)
		b.PrependInt32(o.StrideW)
		b.Slot(1)
		b.PrependInt32(o.StrideH)
		b.Slot(2)
		b.PrependInt32(o.FilterW)
		b.Slot(3)
		b.PrependInt32(o.FilterH)
		b.Slot(4)
		b.PrependInt8(int8(o.Activation))
		b.Slot(5)
		return b.EndObject()
	case *tflite.FullyConnectedOptions:
		b.StartObject(3)
		b.PrependInt8(int8(o.Activation))
		b.Slot(0)
		b.PrependBoolSlot(2, o.KeepNumDims, false)
		return b.EndObject()
	case *tflite.SoftmaxOptions:
		b.StartObject(1)
		b.PrependFloat32(o.Beta)
		b.Slot(0)
		return b.EndObject()
	case *tflite.ConcatenationOptions:
		b.StartObject(2)
		b.PrependInt32(o.Axis)
		b.Slot(0)
		b.PrependInt8(int8(o.Activation))
		b.Slot(1)
		return b.EndObject()
	case *tflite.AddOptions:
		b.StartObject(1)
		b.PrependInt8(int8(o.Activation))
		b.Slot(0)
		return b.EndObject()
	case *tflite.MulOptions:
		b.StartObject(1)
		b.PrependInt8(int8(o.Activation))
		b.Slot(0)
		return b.EndObject()
	case *tflite.ReshapeOptions:
		v := int32Vector(b, o.NewShape)
		b.StartObject(1)
		if v != 0 {
			b.PrependUOffsetTSlot(0, v, 0)
		}
		return b.EndObject()
	case *tflite.ReducerOptions:
		b.StartObject(1)
		b.PrependBoolSlot(0, o.KeepDims, false)
		return b.EndObject()
	}
	return 0
}

func tableVector(b *flatbuffers.Builder, offs []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b.StartVector(4, len(offs), 4)
	for i := len(offs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offs[i])
	}
	return b.EndVector(len(offs))
}

func int32Vector(b *flatbuffers.Builder, v []int32) flatbuffers.UOffsetT {
	if v == nil {
		return 0
	}
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(v[i])
	}
	return b.EndVector(len(v))
}

func float32Vector(b *flatbuffers.Builder, v []float32) flatbuffers.UOffsetT {
	if v == nil {
		return 0
	}
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependFloat32(v[i])
	}
	return b.EndVector(len(v))
}

func int64Vector(b *flatbuffers.Builder, v []int64) flatbuffers.UOffsetT {
	if v == nil {
		return 0
	}
	b.StartVector(8, len(v), 8)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt64(v[i])
	}
	return b.EndVector(len(v))
}
