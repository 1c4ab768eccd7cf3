package onnxconv

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/modelpick/modelpick/tflite"
)

// A straightforward reference interpreter of quantised TFLite operators
// (NHWC, integer codes held as int64), written from TFLite's reference
// kernels rather than from the converter, to check converted graphs against.
// Requantisation uses a float64 multiplier and rounds half away from zero,
// as TFLite's fixed-point MultiplyByQuantizedMultiplier approximates; ONNX
// Runtime uses a float32 multiplier and rounds half to even, so results may
// differ by one quantum.

func roundAway(x float64) int64 { return int64(math.Round(x)) }

func typeRange(t tflite.TensorType) (int64, int64) {
	if t == tflite.Int8 {
		return -128, 127
	}
	return 0, 255
}

func clampTo(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// refActRange is TFLite's CalculateActivationRangeQuantized.
func refActRange(act tflite.Activation, t *tflite.Tensor) (int64, int64) {
	lo, hi := typeRange(t.Type)
	s, zp := t.Quant.Scale[0], t.Quant.ZeroPoint[0]
	q := func(f float32) int64 { return zp + int64(math.Round(float64(f/s))) }
	switch act {
	case tflite.ActRelu:
		return max(lo, q(0)), hi
	case tflite.ActRelu6:
		return max(lo, q(0)), min(hi, q(6))
	case tflite.ActReluN1To1:
		return max(lo, q(-1)), min(hi, q(1))
	}
	return lo, hi
}

func constValues(t *tflite.Tensor) []int64 {
	var out []int64
	switch t.Type {
	case tflite.Uint8:
		for _, b := range t.Data {
			out = append(out, int64(b))
		}
	case tflite.Int8:
		for _, b := range t.Data {
			out = append(out, int64(int8(b)))
		}
	case tflite.Int32:
		for i := 0; i+4 <= len(t.Data); i += 4 {
			out = append(out, int64(int32(binary.LittleEndian.Uint32(t.Data[i:]))))
		}
	}
	return out
}

func refPad(p tflite.Padding, in, k, s, d int) (before, out int) {
	ek := (k-1)*d + 1
	if p == tflite.PaddingValid {
		return 0, (in-ek)/s + 1
	}
	out = (in + s - 1) / s
	total := (out-1)*s + ek - in
	if total < 0 {
		total = 0
	}
	return total / 2, out
}

func shapeInts(t *tflite.Tensor) []int {
	s := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		s[i] = int(d)
	}
	return s
}

// refRun executes the main subgraph on quantised input codes and returns the
// quantised output codes.
func refRun(m *tflite.Model, input []int64) ([]int64, error) {
	sg := &m.Subgraphs[0]
	vals := map[int32][]int64{sg.Inputs[0]: input}
	get := func(i int32) []int64 {
		if v, ok := vals[i]; ok {
			return v
		}
		return constValues(&sg.Tensors[i])
	}
	for k, op := range sg.Operators {
		var out []int64
		var err error
		switch op.Opcode {
		case tflite.OpConv2D, tflite.OpDepthwiseConv2D:
			out = refConv(sg, &op, get)
		case tflite.OpAveragePool2D:
			out = refAvgPool(sg, &op, get)
		case tflite.OpAdd:
			out = refAdd(sg, &op, get)
		case tflite.OpMean:
			out = refMean(sg, &op, get)
		case tflite.OpReshape:
			out = get(op.Inputs[0])
		case tflite.OpSoftmax:
			out = refSoftmax(sg, &op, get)
		case tflite.OpQuantize:
			x, y := &sg.Tensors[op.Inputs[0]], &sg.Tensors[op.Outputs[0]]
			lo, hi := typeRange(y.Type)
			for _, q := range get(op.Inputs[0]) {
				r := float64(x.Quant.Scale[0]) * float64(q-x.Quant.ZeroPoint[0])
				out = append(out, clampTo(roundAway(r/float64(y.Quant.Scale[0]))+y.Quant.ZeroPoint[0], lo, hi))
			}
		default:
			err = fmt.Errorf("reference: op %d %s not implemented", k, op.Opcode)
		}
		if err != nil {
			return nil, err
		}
		vals[op.Outputs[0]] = out
	}
	return vals[sg.Outputs[0]], nil
}

func refConv(sg *tflite.Subgraph, op *tflite.Operator, get func(int32) []int64) []int64 {
	xt, wt, yt := &sg.Tensors[op.Inputs[0]], &sg.Tensors[op.Inputs[1]], &sg.Tensors[op.Outputs[0]]
	x, w := get(op.Inputs[0]), get(op.Inputs[1])
	var bias []int64
	if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
		bias = get(op.Inputs[2])
	}
	xs, ws := shapeInts(xt), shapeInts(wt)
	n, ih, iw, ic := xs[0], xs[1], xs[2], xs[3]
	var p tflite.Padding
	var sh, sw, dh, dw int
	var act tflite.Activation
	dep := op.Opcode == tflite.OpDepthwiseConv2D
	var kh, kw, oc int
	if dep {
		o := op.Options.(*tflite.DepthwiseConv2DOptions)
		p, sh, sw, dh, dw, act = o.Padding, int(o.StrideH), int(o.StrideW), int(o.DilationH), int(o.DilationW), o.Activation
		kh, kw, oc = ws[1], ws[2], ws[3]
	} else {
		o := op.Options.(*tflite.Conv2DOptions)
		p, sh, sw, dh, dw, act = o.Padding, int(o.StrideH), int(o.StrideW), int(o.DilationH), int(o.DilationW), o.Activation
		oc, kh, kw = ws[0], ws[1], ws[2]
	}
	pt, oh := refPad(p, ih, kh, sh, dh)
	pl, ow := refPad(p, iw, kw, sw, dw)
	xzp := xt.Quant.ZeroPoint[0]
	ylo, yhi := refActRange(act, yt)
	out := make([]int64, n*oh*ow*oc)
	for b := range n {
		for oy := range oh {
			for ox := range ow {
				for o := range oc {
					ch := min(o, len(wt.Quant.Scale)-1)
					wzp := wt.Quant.ZeroPoint[ch]
					var acc int64
					if bias != nil {
						acc = bias[o]
					}
					for ky := range kh {
						iy := oy*sh - pt + ky*dh
						if iy < 0 || iy >= ih {
							continue
						}
						for kx := range kw {
							ix := ox*sw - pl + kx*dw
							if ix < 0 || ix >= iw {
								continue
							}
							if dep {
								c := o / (oc / ic)
								acc += (x[((b*ih+iy)*iw+ix)*ic+c] - xzp) * (w[(ky*kw+kx)*oc+o] - wzp)
							} else {
								for c := range ic {
									acc += (x[((b*ih+iy)*iw+ix)*ic+c] - xzp) * (w[((o*kh+ky)*kw+kx)*ic+c] - wzp)
								}
							}
						}
					}
					mult := float64(xt.Quant.Scale[0]) * float64(wt.Quant.Scale[ch]) / float64(yt.Quant.Scale[0])
					y := roundAway(float64(acc)*mult) + yt.Quant.ZeroPoint[0]
					out[((b*oh+oy)*ow+ox)*oc+o] = clampTo(y, ylo, yhi)
				}
			}
		}
	}
	return out
}

func refAvgPool(sg *tflite.Subgraph, op *tflite.Operator, get func(int32) []int64) []int64 {
	xt, yt := &sg.Tensors[op.Inputs[0]], &sg.Tensors[op.Outputs[0]]
	o := op.Options.(*tflite.Pool2DOptions)
	x := get(op.Inputs[0])
	xs := shapeInts(xt)
	n, ih, iw, c := xs[0], xs[1], xs[2], xs[3]
	pt, oh := refPad(o.Padding, ih, int(o.FilterH), int(o.StrideH), 1)
	pl, ow := refPad(o.Padding, iw, int(o.FilterW), int(o.StrideW), 1)
	ylo, yhi := refActRange(o.Activation, yt)
	mult := float64(xt.Quant.Scale[0]) / float64(yt.Quant.Scale[0])
	out := make([]int64, n*oh*ow*c)
	for b := range n {
		for oy := range oh {
			for ox := range ow {
				for ch := range c {
					var sum, count int64
					for ky := range int(o.FilterH) {
						iy := oy*int(o.StrideH) - pt + ky
						for kx := range int(o.FilterW) {
							ix := ox*int(o.StrideW) - pl + kx
							if iy < 0 || iy >= ih || ix < 0 || ix >= iw {
								continue // padding does not count
							}
							sum += x[((b*ih+iy)*iw+ix)*c+ch]
							count++
						}
					}
					mean := float64(sum)/float64(count) - float64(xt.Quant.ZeroPoint[0])
					y := roundAway(mean*mult) + yt.Quant.ZeroPoint[0]
					out[((b*oh+oy)*ow+ox)*c+ch] = clampTo(y, ylo, yhi)
				}
			}
		}
	}
	return out
}

// broadcastIndex maps a flat index of shape out to the flat index of shape in
// under numpy broadcasting (in right-aligned, size-1 dims repeat).
func broadcastIndex(i int, out, in []int) int {
	idx, stride := 0, 1
	for d := len(out) - 1; d >= 0; d-- {
		coord := i % out[d]
		i /= out[d]
		k := d - (len(out) - len(in))
		if k < 0 {
			continue
		}
		if in[k] != 1 {
			idx += coord * stride
		}
		stride *= in[k]
	}
	return idx
}

func refAdd(sg *tflite.Subgraph, op *tflite.Operator, get func(int32) []int64) []int64 {
	at, bt, yt := &sg.Tensors[op.Inputs[0]], &sg.Tensors[op.Inputs[1]], &sg.Tensors[op.Outputs[0]]
	a, b := get(op.Inputs[0]), get(op.Inputs[1])
	act := tflite.ActNone
	if o, ok := op.Options.(*tflite.AddOptions); ok {
		act = o.Activation
	}
	ylo, yhi := refActRange(act, yt)
	ys := shapeInts(yt)
	n := 1
	for _, d := range ys {
		n *= d
	}
	out := make([]int64, n)
	for i := range out {
		ra := float64(at.Quant.Scale[0]) * float64(a[broadcastIndex(i, ys, shapeInts(at))]-at.Quant.ZeroPoint[0])
		rb := float64(bt.Quant.Scale[0]) * float64(b[broadcastIndex(i, ys, shapeInts(bt))]-bt.Quant.ZeroPoint[0])
		out[i] = clampTo(roundAway((ra+rb)/float64(yt.Quant.Scale[0]))+yt.Quant.ZeroPoint[0], ylo, yhi)
	}
	return out
}

func refMean(sg *tflite.Subgraph, op *tflite.Operator, get func(int32) []int64) []int64 {
	xt, yt := &sg.Tensors[op.Inputs[0]], &sg.Tensors[op.Outputs[0]]
	x := get(op.Inputs[0])
	xs := shapeInts(xt)
	reduce := make([]bool, len(xs))
	for _, a := range get(op.Inputs[1]) {
		if a < 0 {
			a += int64(len(xs))
		}
		reduce[a] = true
	}
	kept := make([]int, len(xs))
	total, count := 1, 1
	for d, s := range xs {
		kept[d] = s
		if reduce[d] {
			kept[d] = 1
			count *= s
		}
		total *= s
	}
	outN := total / count
	sums := make([]int64, outN)
	for i := range total {
		sums[broadcastIndex(i, xs, kept)] += x[i]
	}
	lo, hi := typeRange(yt.Type)
	out := make([]int64, outN)
	for i, s := range sums {
		r := float64(xt.Quant.Scale[0]) * (float64(s)/float64(count) - float64(xt.Quant.ZeroPoint[0]))
		out[i] = clampTo(roundAway(r/float64(yt.Quant.Scale[0]))+yt.Quant.ZeroPoint[0], lo, hi)
	}
	return out
}

func refSoftmax(sg *tflite.Subgraph, op *tflite.Operator, get func(int32) []int64) []int64 {
	xt, yt := &sg.Tensors[op.Inputs[0]], &sg.Tensors[op.Outputs[0]]
	x := get(op.Inputs[0])
	beta := 1.0
	if o, ok := op.Options.(*tflite.SoftmaxOptions); ok {
		beta = float64(o.Beta)
	}
	c := int(xt.Shape[len(xt.Shape)-1])
	lo, hi := typeRange(yt.Type)
	out := make([]int64, len(x))
	for r := 0; r < len(x); r += c {
		row := x[r : r+c]
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		var sum float64
		e := make([]float64, c)
		for i, v := range row {
			e[i] = math.Exp(beta * float64(xt.Quant.Scale[0]) * float64(v-mx))
			sum += e[i]
		}
		for i := range row {
			out[r+i] = clampTo(roundAway(e[i]/sum/float64(yt.Quant.Scale[0]))+yt.Quant.ZeroPoint[0], lo, hi)
		}
	}
	return out
}
