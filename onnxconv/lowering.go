package onnxconv

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/modelpick/modelpick/tflite"
)

// lowering selects how quantised operators become ONNX nodes.
//
// lowerQLinear (the default) emits the integer operators directly:
// QLinearConv, and com.microsoft QLinearAdd / QLinearAveragePool /
// QLinearGlobalAveragePool. lowerQDQ emits DequantizeLinear -> float op ->
// QuantizeLinear and relies on ONNX Runtime's optimiser to fuse each group
// back into the same integer kernels.
//
// Why QLinear: once fused, both run the ladder at the same speed (ORT 1.30,
// one thread, interleaved best of 9 rounds on the 2-core development
// machine, as BenchmarkLowering does more coarsely: v1 1.0 extractor
// 4.14 vs 4.10 ms, tf2_mobilenet_v2 2.09 vs 2.12 ms, EdgeTPU 2.50 vs 2.55 ms),
// but the QDQ graph is only integer when the optimiser runs: with graph
// optimisations off, or under an execution provider that does not fuse, it
// silently computes in float, slower and with different rounding from
// TFLite. The QLinear graph is the same integer arithmetic under every
// session setting, which a faithful import needs.
type lowering int

const (
	lowerQLinear lowering = iota
	lowerQDQ
)

// options are the converter's internal choices; the zero value is what
// Convert uses. The alternatives exist so tests can measure them.
type options struct {
	lowering lowering
	// keepInt8Activations carries int8 activations as int8. By default they
	// become uint8 with the zero point moved by 128 (identical real values
	// and clamps) because ORT's QLinearConv with int8 activations is an order
	// of magnitude slower on x86 (tf2_mobilenet_v2 48 ms vs 2.2 ms, EdgeTPU
	// 73 ms vs 2.5 ms, one thread).
	keepInt8Activations bool
	// weights selects how weights are stored (weightsSymmetric by default).
	weights weightMode
	// embedding adds the pooled embedding as a second output
	// (ConvertFileWithEmbedding).
	embedding bool
}

// weightMode is how QLinearConv weights are stored.
//
// weightsSymmetric (the default since Version 2) stores int8 weights with
// zero point 0 (see symmetricWeights). ONNX Runtime's QLinearConv takes
// MLAS's symmetric kernels only when every weight zero point is 0 and the
// weights are int8 (TryConvSymPrepack): the indirect convolution, with its
// own depthwise kernel. Any other zero point sends a depthwise conv to the
// generic MlasConvDepthwise and the rest to MlasGemm with zero-point
// corrections. mobilenet_v2_1.0_224_quant's per-tensor uint8 weights (zero
// points 52-201) made it 1.66x slower than its twin
// tf2_mobilenet_v2_1.0_224_ptq, whose weights are symmetric: in ORT's
// profile its depthwise convs took 2.0x, its 1x1 convs 1.55x and its first
// (3-channel) conv 0.88x the twin's time (BenchmarkNodeProfile, one
// thread, this 2-core x86 VM with VNNI). Stored symmetric it runs at the
// twin's speed (1.00x), and the per-tensor uint8 v1 files take 0.69-0.82x
// their former time (BenchmarkLadder).
//
// The other modes keep the file's zero points and only move the type:
// weightsInt8 (the default of Version 1) shifts uint8 codes by 128 to int8,
// weightsKeep keeps the file's type, weightsUint8 stores uint8. Moving
// between uint8 and int8 adds or subtracts 128 from codes and zero points:
// the same real weights, exactly. int8 weights were 1.5-2.5x faster than
// uint8 weights here (v1 1.0 extractor 4.0 vs 6.0 ms, tf2_mobilenet_v2 2.2
// vs 5.5 ms). Caveat: on x86 with AVX2 but no VNNI, MLAS computes U8S8 with
// VPMADDUBSW, whose 16-bit pair sums can saturate; there weightsUint8 is
// the exact choice.
type weightMode int

const (
	weightsSymmetric weightMode = iota
	weightsInt8
	weightsKeep
	weightsUint8
)

// activationRange is TFLite's CalculateActivationRangeQuantized: the clamp a
// fused activation applies to the quantised output.
func activationRange(act tflite.Activation, q quant) (lo, hi int64, err error) {
	qmin, qmax := qrange(q.ty)
	quantize := func(f float32) int64 {
		// TFLite: zero_point + static_cast<int32>(TfLiteRound(f / scale)),
		// f / scale in float32, rounding half away from zero.
		return q.zp + int64(math.Round(float64(f/q.scale)))
	}
	switch act {
	case tflite.ActNone:
		return qmin, qmax, nil
	case tflite.ActRelu:
		return max(qmin, quantize(0)), qmax, nil
	case tflite.ActRelu6:
		return max(qmin, quantize(0)), min(qmax, quantize(6)), nil
	case tflite.ActReluN1To1:
		return max(qmin, quantize(-1)), min(qmax, quantize(1)), nil
	}
	return 0, 0, fmt.Errorf("fused activation %s: %w", act, ErrUnsupported)
}

// clamp applies a fused activation in the quantised domain, as TFLite does
// after requantising; it adds nothing when the output's range already
// equals the clamp (the usual case: the converter chose the output range to
// be [0, 6] for RELU6).
func (c *converter) clamp(src string, act tflite.Activation, q quant) (string, error) {
	lo, hi, err := activationRange(act, q)
	if err != nil {
		return "", err
	}
	qmin, qmax := qrange(q.ty)
	if lo == qmin && hi == qmax {
		return src, nil
	}
	out := c.fresh("clip")
	c.node("Clip", "", []string{src, c.quantScalar(lo, q.ty), c.quantScalar(hi, q.ty)}, out)
	return out, nil
}

// samePads is TFLite's padding rule for one spatial dimension; it returns the
// padding before and after and the output size.
func samePads(p tflite.Padding, in, k, stride, dil int64) (before, after, out int64, err error) {
	if stride <= 0 || dil <= 0 || k <= 0 {
		return 0, 0, 0, fmt.Errorf("filter %d, stride %d, dilation %d", k, stride, dil)
	}
	ek := (k-1)*dil + 1
	switch p {
	case tflite.PaddingSame:
		out = (in + stride - 1) / stride
		total := max((out-1)*stride+ek-in, 0)
		// TFLite puts the odd pixel after (bottom/right), like ONNX SAME_UPPER.
		return total / 2, total - total/2, out, nil
	case tflite.PaddingValid:
		if in < ek {
			return 0, 0, 0, fmt.Errorf("input %d smaller than filter %d", in, ek)
		}
		return 0, 0, (in-ek)/stride + 1, nil
	}
	return 0, 0, 0, fmt.Errorf("padding %s: %w", p, ErrUnsupported)
}

// window computes ONNX pads and checks the output's spatial size.
func window(p tflite.Padding, in, out [4]int64, kh, kw, sh, sw, dh, dw int64) ([]int64, error) {
	t, b, oh, err := samePads(p, in[1], kh, sh, dh)
	if err != nil {
		return nil, err
	}
	l, r, ow, err := samePads(p, in[2], kw, sw, dw)
	if err != nil {
		return nil, err
	}
	if oh != out[1] || ow != out[2] {
		return nil, fmt.Errorf("output %dx%d, but %s padding of %dx%d gives %dx%d", out[1], out[2], p, in[1], in[2], oh, ow)
	}
	return []int64{t, l, b, r}, nil
}

func (c *converter) inputs(op *tflite.Operator, min, maxN int) error {
	if len(op.Inputs) < min || len(op.Inputs) > maxN || len(op.Outputs) != 1 {
		return fmt.Errorf("%d inputs and %d outputs", len(op.Inputs), len(op.Outputs))
	}
	for _, i := range op.Inputs[:min] {
		if i < 0 {
			return fmt.Errorf("required input missing")
		}
	}
	return nil
}

// conv lowers CONV_2D and DEPTHWISE_CONV_2D.
func (c *converter) conv(op *tflite.Operator) error {
	if err := c.inputs(op, 2, 3); err != nil {
		return err
	}
	xt, wt, yt := &c.sg.Tensors[op.Inputs[0]], &c.sg.Tensors[op.Inputs[1]], &c.sg.Tensors[op.Outputs[0]]
	xq, err := c.act(xt)
	if err != nil {
		return err
	}
	yq, err := c.act(yt)
	if err != nil {
		return err
	}
	xs, err := shape4(xt)
	if err != nil {
		return err
	}
	ys, err := shape4(yt)
	if err != nil {
		return err
	}
	ws, err := shape4(wt)
	if err != nil {
		return err
	}
	var (
		padding              tflite.Padding
		sh, sw, dh, dw       int64
		act                  tflite.Activation
		group, outC, kh, kw  int64
		wONNX                []byte
		depthwise            = op.Opcode == tflite.OpDepthwiseConv2D
		wantQuantDim, cPerIn int64
	)
	switch o := op.Options.(type) {
	case *tflite.Conv2DOptions:
		if depthwise {
			return fmt.Errorf("options %T", o)
		}
		padding, sh, sw, dh, dw, act = o.Padding, int64(o.StrideH), int64(o.StrideW), int64(o.DilationH), int64(o.DilationW), o.Activation
	case *tflite.DepthwiseConv2DOptions:
		if !depthwise {
			return fmt.Errorf("options %T", o)
		}
		padding, sh, sw, dh, dw, act = o.Padding, int64(o.StrideH), int64(o.StrideW), int64(o.DilationH), int64(o.DilationW), o.Activation
	default:
		return fmt.Errorf("missing options (%T)", op.Options)
	}
	if wt.Data == nil {
		return fmt.Errorf("weights %q are not constant: %w", wt.Name, ErrUnsupported)
	}
	if wt.Type != tflite.Uint8 && wt.Type != tflite.Int8 {
		return fmt.Errorf("weights %q are %s: %w", wt.Name, wt.Type, ErrUnsupported)
	}
	if depthwise {
		// TFLite [1, KH, KW, C*M] -> ONNX [C*M, 1, KH, KW], group = C.
		kh, kw, outC = ws[1], ws[2], ws[3]
		if ws[0] != 1 || outC%xs[3] != 0 {
			return fmt.Errorf("depthwise weights %v for %d input channels", ws, xs[3])
		}
		group, cPerIn, wantQuantDim = xs[3], 1, 3
		wONNX = make([]byte, len(wt.Data))
		for h := range kh {
			for w := range kw {
				for o := range outC {
					wONNX[(o*kh+h)*kw+w] = wt.Data[(h*kw+w)*outC+o]
				}
			}
		}
	} else {
		// TFLite OHWI -> ONNX OIHW.
		outC, kh, kw, cPerIn = ws[0], ws[1], ws[2], ws[3]
		if cPerIn != xs[3] {
			return fmt.Errorf("weights %v for %d input channels", ws, xs[3])
		}
		group, wantQuantDim = 1, 0
		wONNX = make([]byte, len(wt.Data))
		for o := range outC {
			for h := range kh {
				for w := range kw {
					for i := range cPerIn {
						wONNX[((o*cPerIn+i)*kh+h)*kw+w] = wt.Data[((o*kh+h)*kw+w)*cPerIn+i]
					}
				}
			}
		}
	}
	if ys[3] != outC || ys[0] != xs[0] {
		return fmt.Errorf("output %v from input %v and weights %v", ys, xs, ws)
	}
	pads, err := window(padding, xs, ys, kh, kw, sh, sw, dh, dw)
	if err != nil {
		return err
	}
	c.macs += ys[0] * ys[1] * ys[2] * outC * kh * kw * cPerIn

	// Weight quantisation: per-tensor, or per output channel along the
	// TFLite dimension that becomes ONNX axis 0.
	wq := wt.Quant
	if wq == nil || len(wq.Scale) == 0 || wq.Custom {
		return fmt.Errorf("weights %q are not quantised: %w", wt.Name, ErrUnsupported)
	}
	perChannel := len(wq.Scale) > 1
	if perChannel && (int64(wq.QuantizedDimension) != wantQuantDim || int64(len(wq.Scale)) != outC) {
		return fmt.Errorf("weights %q: %d scales on dimension %d, want %d on dimension %d: %w",
			wt.Name, len(wq.Scale), wq.QuantizedDimension, outC, wantQuantDim, ErrUnsupported)
	}
	wlo, whi := qrange(wt.Type)
	for _, z := range wq.ZeroPoint {
		if z < wlo || z > whi {
			return fmt.Errorf("weights %q: zero point %d outside %s", wt.Name, z, wt.Type)
		}
	}
	var bias []byte
	if len(op.Inputs) == 3 && op.Inputs[2] >= 0 {
		bt := &c.sg.Tensors[op.Inputs[2]]
		if bt.Data == nil || bt.Type != tflite.Int32 || bt.NumElements() != outC {
			return fmt.Errorf("bias %q: want %d constant INT32 values, have %s %v: %w", bt.Name, outC, bt.Type, bt.Shape, ErrUnsupported)
		}
		if bt.Quant != nil && slices.ContainsFunc(bt.Quant.ZeroPoint, func(z int64) bool { return z != 0 }) {
			return fmt.Errorf("bias %q has a non-zero zero point: %w", bt.Name, ErrUnsupported)
		}
		bias = bt.Data
	}
	sw8 := storedWeights{ty: wt.Type, codes: wONNX, scales: wq.Scale, zps: wq.ZeroPoint, bias: bias}
	mode := c.opt.weights
	switch {
	case mode == weightsSymmetric:
		sw8 = symmetricWeights(sw8, outC)
		c.weightChannels += int(outC)
		c.requantised += sw8.requantised
	case wt.Type == tflite.Int8 && mode == weightsUint8:
		sw8 = sw8.shift(tflite.Uint8, 128)
	case wt.Type == tflite.Uint8 && mode == weightsInt8:
		sw8 = sw8.shift(tflite.Int8, -128)
	}
	wdt, _ := onnxType(sw8.ty)
	wName := c.initializer("w", wdt, []int64{outC, cPerIn, kh, kw}, sw8.codes)
	var wScale, wZP string
	perChannel = len(sw8.scales) > 1
	if perChannel {
		wScale = c.vectorF32(sw8.scales)
		wZP = c.initializer("wzp", wdt, []int64{outC}, quantBytes(sw8.zps))
	} else {
		wScale = c.scalarF32(sw8.scales[0])
		wZP = c.zeroPoint(sw8.zps[0], sw8.ty)
	}

	// Bias: int32 with scale input_scale * weight_scale[c] and zero point 0,
	// which is exactly what QLinearConv expects, so the bytes copy over
	// (rescaled only where symmetricWeights changed a channel's scale).
	bName := ""
	if sw8.bias != nil {
		bName = c.initializer("b", onnx.TensorProto_INT32, []int64{outC}, sw8.bias)
	}

	x, err := c.nchw(op.Inputs[0])
	if err != nil {
		return err
	}
	attrs := []*onnx.AttributeProto{
		attrInts("kernel_shape", kh, kw),
		attrInts("strides", sh, sw),
		attrInts("dilations", dh, dw),
		attrInts("pads", pads...),
		attrInt("group", group),
	}
	y := c.fresh("conv")
	switch c.opt.lowering {
	case lowerQDQ:
		xf := c.dequant(x, xq)
		wf := c.fresh("dqw")
		if perChannel {
			c.node("DequantizeLinear", "", []string{wName, wScale, wZP}, wf, attrInt("axis", 0))
		} else {
			c.node("DequantizeLinear", "", []string{wName, wScale, wZP}, wf)
		}
		in := []string{xf, wf}
		if bName != "" {
			bs := make([]float32, outC)
			for i := range bs {
				bs[i] = xq.scale * sw8.scales[min(i, len(sw8.scales)-1)]
			}
			bf := c.fresh("dqb")
			c.node("DequantizeLinear", "", []string{bName, c.vectorF32(bs), c.initializer("bzp", onnx.TensorProto_INT32, []int64{outC}, make([]byte, 4*outC))}, bf, attrInt("axis", 0))
			in = append(in, bf)
		}
		yf := c.fresh("convf")
		c.node("Conv", "", in, yf, attrs...)
		y = c.requant(yf, yq)
	default:
		in := []string{x, c.scalarF32(xq.scale), c.zeroPoint(xq.zp, xq.ty), wName, wScale, wZP, c.scalarF32(yq.scale), c.zeroPoint(yq.zp, yq.ty)}
		if bName != "" {
			in = append(in, bName)
		}
		c.node("QLinearConv", "", in, y, attrs...)
	}
	if y, err = c.clamp(y, act, yq); err != nil {
		return err
	}
	c.setNCHW(op.Outputs[0], y)
	return nil
}

// avgPool lowers AVERAGE_POOL_2D. TFLite divides by the number of input
// pixels under the window (padding excluded): count_include_pad = 0.
func (c *converter) avgPool(op *tflite.Operator) error {
	if err := c.inputs(op, 1, 1); err != nil {
		return err
	}
	o, ok := op.Options.(*tflite.Pool2DOptions)
	if !ok {
		return fmt.Errorf("missing options (%T)", op.Options)
	}
	xt, yt := &c.sg.Tensors[op.Inputs[0]], &c.sg.Tensors[op.Outputs[0]]
	xq, err := c.act(xt)
	if err != nil {
		return err
	}
	yq, err := c.act(yt)
	if err != nil {
		return err
	}
	xs, err := shape4(xt)
	if err != nil {
		return err
	}
	ys, err := shape4(yt)
	if err != nil {
		return err
	}
	if ys[3] != xs[3] || ys[0] != xs[0] {
		return fmt.Errorf("output %v from input %v", ys, xs)
	}
	kh, kw := int64(o.FilterH), int64(o.FilterW)
	pads, err := window(o.Padding, xs, ys, kh, kw, int64(o.StrideH), int64(o.StrideW), 1, 1)
	if err != nil {
		return err
	}
	x, err := c.nchw(op.Inputs[0])
	if err != nil {
		return err
	}
	attrs := []*onnx.AttributeProto{
		attrInts("kernel_shape", kh, kw),
		attrInts("strides", int64(o.StrideH), int64(o.StrideW)),
		attrInts("pads", pads...),
		attrInt("count_include_pad", 0),
	}
	var y string
	if c.opt.lowering == lowerQDQ {
		yf := c.fresh("poolf")
		c.node("AveragePool", "", []string{c.dequant(x, xq)}, yf, attrs...)
		y = c.requant(yf, yq)
	} else {
		y = c.fresh("pool")
		c.node("QLinearAveragePool", msDomain, []string{x, c.scalarF32(xq.scale), c.zeroPoint(xq.zp, xq.ty),
			c.scalarF32(yq.scale), c.zeroPoint(yq.zp, yq.ty)}, y, append(attrs, attrInt("channels_last", 0))...)
	}
	if y, err = c.clamp(y, o.Activation, yq); err != nil {
		return err
	}
	c.setNCHW(op.Outputs[0], y)
	return nil
}

// mean lowers MEAN: over H and W of a rank-4 tensor it is a global average
// pool; any other axes go through a float ReduceMean.
func (c *converter) mean(op *tflite.Operator) error {
	if err := c.inputs(op, 2, 2); err != nil {
		return err
	}
	xt, at, yt := &c.sg.Tensors[op.Inputs[0]], &c.sg.Tensors[op.Inputs[1]], &c.sg.Tensors[op.Outputs[0]]
	xq, err := c.act(xt)
	if err != nil {
		return err
	}
	yq, err := c.act(yt)
	if err != nil {
		return err
	}
	if at.Data == nil || at.Type != tflite.Int32 {
		return fmt.Errorf("axes %q must be constant INT32: %w", at.Name, ErrUnsupported)
	}
	rank := int64(len(xt.Shape))
	var axes []int64
	for i := 0; i+4 <= len(at.Data); i += 4 {
		a := int64(int32(binary.LittleEndian.Uint32(at.Data[i:])))
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return fmt.Errorf("axis %d out of range for rank %d", a, rank)
		}
		if !slices.Contains(axes, a) {
			axes = append(axes, a)
		}
	}
	slices.Sort(axes)
	keep := false
	if o, ok := op.Options.(*tflite.ReducerOptions); ok {
		keep = o.KeepDims
	}
	if rank == 4 && slices.Equal(axes, []int64{1, 2}) {
		x, err := c.nchw(op.Inputs[0])
		if err != nil {
			return err
		}
		var y string
		if c.opt.lowering == lowerQDQ {
			yf := c.fresh("meanf")
			c.node("GlobalAveragePool", "", []string{c.dequant(x, xq)}, yf)
			y = c.requant(yf, yq)
		} else {
			y = c.fresh("mean")
			c.node("QLinearGlobalAveragePool", msDomain, []string{x, c.scalarF32(xq.scale), c.zeroPoint(xq.zp, xq.ty),
				c.scalarF32(yq.scale), c.zeroPoint(yq.zp, yq.ty)}, y, attrInt("channels_last", 0))
		}
		if keep {
			c.setNCHW(op.Outputs[0], y)
			return nil
		}
		// [N,C,1,1] has the bytes of [N,C].
		out := c.fresh("squeeze")
		c.node("Reshape", "", []string{y, c.int64s("shape", dims(yt.Shape))}, out)
		c.setNative(op.Outputs[0], out)
		return nil
	}
	x, err := c.native(op.Inputs[0])
	if err != nil {
		return err
	}
	keepI := int64(0)
	if keep {
		keepI = 1
	}
	yf := c.fresh("meanf")
	c.node("ReduceMean", "", []string{c.dequant(x, xq)}, yf, attrInts("axes", axes...), attrInt("keepdims", keepI))
	c.setNative(op.Outputs[0], c.requant(yf, yq))
	return nil
}

// add lowers ADD (QLinearAdd rescales both inputs to the output's scale).
func (c *converter) add(op *tflite.Operator) error {
	if err := c.inputs(op, 2, 2); err != nil {
		return err
	}
	at, bt, yt := &c.sg.Tensors[op.Inputs[0]], &c.sg.Tensors[op.Inputs[1]], &c.sg.Tensors[op.Outputs[0]]
	aq, err := c.act(at)
	if err != nil {
		return err
	}
	bq, err := c.act(bt)
	if err != nil {
		return err
	}
	yq, err := c.act(yt)
	if err != nil {
		return err
	}
	if aq.ty != yq.ty || bq.ty != yq.ty {
		return fmt.Errorf("mixed types %s + %s -> %s: %w", aq.ty, bq.ty, yq.ty, ErrUnsupported)
	}
	act := tflite.ActNone
	if o, ok := op.Options.(*tflite.AddOptions); ok {
		act = o.Activation
	}
	// Same-shape rank-4 operands stay NCHW; anything that broadcasts is
	// added in TFLite's layout so its broadcasting rules hold.
	same4 := len(at.Shape) == 4 && slices.Equal(at.Shape, bt.Shape) && slices.Equal(at.Shape, yt.Shape)
	layout := c.native
	if same4 {
		layout = c.nchw
	}
	a, err := layout(op.Inputs[0])
	if err != nil {
		return err
	}
	b, err := layout(op.Inputs[1])
	if err != nil {
		return err
	}
	var y string
	if c.opt.lowering == lowerQDQ {
		yf := c.fresh("addf")
		c.node("Add", "", []string{c.dequant(a, aq), c.dequant(b, bq)}, yf)
		y = c.requant(yf, yq)
	} else {
		y = c.fresh("add")
		c.node("QLinearAdd", msDomain, []string{
			a, c.scalarF32(aq.scale), c.zeroPoint(aq.zp, aq.ty),
			b, c.scalarF32(bq.scale), c.zeroPoint(bq.zp, bq.ty),
			c.scalarF32(yq.scale), c.zeroPoint(yq.zp, yq.ty)}, y)
	}
	if y, err = c.clamp(y, act, yq); err != nil {
		return err
	}
	if same4 {
		c.setNCHW(op.Outputs[0], y)
	} else {
		c.setNative(op.Outputs[0], y)
	}
	return nil
}

// reshape lowers RESHAPE and SQUEEZE: the target is the output tensor's
// static shape, applied to the bytes in TFLite's layout.
func (c *converter) reshape(op *tflite.Operator) error {
	if len(op.Inputs) < 1 || len(op.Outputs) != 1 || op.Inputs[0] < 0 {
		return fmt.Errorf("%d inputs and %d outputs", len(op.Inputs), len(op.Outputs))
	}
	xt, yt := &c.sg.Tensors[op.Inputs[0]], &c.sg.Tensors[op.Outputs[0]]
	if n, m := xt.NumElements(), yt.NumElements(); n < 0 || n != m {
		return fmt.Errorf("reshape %v to %v: %w", xt.Shape, yt.Shape, ErrUnsupported)
	}
	if xt.Type != yt.Type {
		return fmt.Errorf("reshape changes type %s to %s", xt.Type, yt.Type)
	}
	x, err := c.native(op.Inputs[0])
	if err != nil {
		return err
	}
	out := c.fresh("reshape")
	c.node("Reshape", "", []string{x, c.int64s("shape", dims(yt.Shape))}, out)
	c.setNative(op.Outputs[0], out)
	return nil
}

// softmax lowers SOFTMAX over the last axis in float (TFLite's integer
// softmax approximates exactly that), then quantises to the output's
// parameters (1/256 for the ladder's uint8 outputs).
func (c *converter) softmax(op *tflite.Operator) error {
	if err := c.inputs(op, 1, 1); err != nil {
		return err
	}
	xt, yt := &c.sg.Tensors[op.Inputs[0]], &c.sg.Tensors[op.Outputs[0]]
	xq, err := c.act(xt)
	if err != nil {
		return err
	}
	yq, err := c.act(yt)
	if err != nil {
		return err
	}
	beta := float32(1)
	if o, ok := op.Options.(*tflite.SoftmaxOptions); ok {
		beta = o.Beta
	}
	x, err := c.native(op.Inputs[0])
	if err != nil {
		return err
	}
	xf := c.dequant(x, xq)
	if beta != 1 {
		scaled := c.fresh("beta")
		c.node("Mul", "", []string{xf, c.scalarF32(beta)}, scaled)
		xf = scaled
	}
	yf := c.fresh("softmax")
	c.node("Softmax", "", []string{xf}, yf, attrInt("axis", int64(len(xt.Shape)-1)))
	c.setNative(op.Outputs[0], c.requant(yf, yq))
	return nil
}

// quantize lowers QUANTIZE: float to quantised, or a requantisation between
// quantised types (uint8 <-> int8 at the edges of int8 models).
func (c *converter) quantize(op *tflite.Operator) error {
	if err := c.inputs(op, 1, 1); err != nil {
		return err
	}
	xt, yt := &c.sg.Tensors[op.Inputs[0]], &c.sg.Tensors[op.Outputs[0]]
	yq, err := c.act(yt)
	if err != nil {
		return err
	}
	v, err := c.val(op.Inputs[0])
	if err != nil {
		return err
	}
	// Elementwise: keep whichever layout the input already has.
	src, isNCHW := v.native, false
	if src == "" {
		src, isNCHW = v.nchw, true
	}
	var y string
	if xt.Type != tflite.Float32 {
		xq, err := c.act(xt)
		if err != nil {
			return err
		}
		if xq == yq {
			// uint8 -> int8 with the same scale is a no-op once int8
			// activations are carried as uint8 (see options).
			y = src
		} else {
			y = c.requant(c.dequant(src, xq), yq)
		}
	} else {
		y = c.requant(src, yq)
	}
	if isNCHW {
		c.setNCHW(op.Outputs[0], y)
	} else {
		c.setNative(op.Outputs[0], y)
	}
	return nil
}

// dequantize lowers DEQUANTIZE (only useful as the last operator: later
// operators need quantised inputs).
func (c *converter) dequantize(op *tflite.Operator) error {
	if err := c.inputs(op, 1, 1); err != nil {
		return err
	}
	xq, err := c.act(&c.sg.Tensors[op.Inputs[0]])
	if err != nil {
		return err
	}
	if t := c.sg.Tensors[op.Outputs[0]].Type; t != tflite.Float32 {
		return fmt.Errorf("output type %s: %w", t, ErrUnsupported)
	}
	x, err := c.native(op.Inputs[0])
	if err != nil {
		return err
	}
	c.setNative(op.Outputs[0], c.dequant(x, xq))
	return nil
}
