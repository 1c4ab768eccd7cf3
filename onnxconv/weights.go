package onnxconv

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/modelpick/modelpick/tflite"
)

// storedWeights are a convolution's weights as the graph stores them: 8-bit
// codes in ONNX layout (output channel first), one scale and zero point for
// the tensor or one per output channel, and the int32 bias (nil when
// absent), whose scale is the input's scale times the channel's weight
// scale.
type storedWeights struct {
	ty     tflite.TensorType
	codes  []byte
	scales []float32
	zps    []int64
	bias   []byte
	// requantised counts the output channels whose codes symmetricWeights
	// had to change (clipped or rounded to a new scale); the others hold
	// the file's values.
	requantised int
}

// shift moves the codes and zero points between uint8 and int8 (by = -128
// or +128): the same real weights, exactly.
func (w storedWeights) shift(to tflite.TensorType, by int64) storedWeights {
	codes := make([]byte, len(w.codes))
	for i, b := range w.codes {
		codes[i] = b ^ 0x80 // q+128 for int8 -> uint8, q-128 the other way
	}
	zps := make([]int64, len(w.zps))
	for i, z := range w.zps {
		zps[i] = z + by
	}
	w.ty, w.codes, w.zps = to, codes, zps
	return w
}

// symmetricWeights returns the weights as int8 with zero point 0 and codes
// in [-127, 127], the form ONNX Runtime's fast QLinearConv kernels take.
// Weights already int8 with zero point 0 are returned unchanged.
//
// Otherwise each output channel holds v = code - zero point. When every v
// of a channel lies in [-127, 127] the channel keeps v and its scale: the
// same real weights and the same integer sums, so the graph computes what
// TFLite computes. A channel with a v outside (few: 63 of 18,057 in
// mobilenet_v2_1.0_224_quant, 0.3-3.1% in the ladder's uint8 files) gets
// the closest symmetric codes (closestSymmetric), and its bias is rescaled
// to round(b*old/new scale) so the bias's scale stays input x weight
// scale. The scales stay per-tensor when no channel changed.
//
// [-127, 127], not [-128, 127]: with -128 two products of -128 x -128 sum
// past int16, which kernels that pair products in 16 bits (ARM NEON
// without dot product) would overflow; TFLite's int8 weights keep the same
// range for that reason.
func symmetricWeights(w storedWeights, outC int64) storedWeights {
	if w.ty == tflite.Int8 && !slices.ContainsFunc(w.zps, func(z int64) bool { return z != 0 }) {
		return w
	}
	code := func(b byte) int64 {
		if w.ty == tflite.Int8 {
			return int64(int8(b))
		}
		return int64(b)
	}
	per := int64(len(w.codes)) / outC
	out := storedWeights{ty: tflite.Int8, codes: make([]byte, len(w.codes)), scales: make([]float32, outC), zps: make([]int64, outC)}
	if w.bias != nil {
		out.bias = slices.Clone(w.bias)
	}
	for o := range outC {
		qi := min(o, int64(len(w.scales))-1) // per-tensor: index 0 for every channel
		s, z := w.scales[qi], w.zps[qi]
		src, dst := w.codes[o*per:(o+1)*per], out.codes[o*per:(o+1)*per]
		m := int64(0)
		for _, b := range src {
			m = max(m, abs64(code(b)-z))
		}
		out.scales[o] = s
		if m <= 127 {
			for i, b := range src {
				dst[i] = byte(int8(code(b) - z))
			}
			continue
		}
		out.requantised++
		k, codes := closestSymmetric(src, code, z, m)
		copy(dst, codes)
		r := 127 / float64(k) // old scale / new scale
		out.scales[o] = float32(float64(s) * float64(k) / 127)
		if out.bias != nil && k != 127 {
			b := float64(int32(binary.LittleEndian.Uint32(out.bias[4*o:])))
			nb := min(max(math.Round(b*r), math.MinInt32), math.MaxInt32)
			binary.LittleEndian.PutUint32(out.bias[4*o:], uint32(int32(nb)))
		}
	}
	if out.requantised == 0 && len(w.scales) == 1 {
		out.scales, out.zps = out.scales[:1], out.zps[:1]
	}
	return out
}

// closestSymmetric picks, for one channel whose values v = code - zp reach
// m > 127 in magnitude, the new step k/127 (in units of the old scale, k in
// [127, m]) whose codes clamp(round(v*127/k), -127, 127) are closest to v
// in squared error, and returns k and the codes. k = m (scale max|w|/127)
// keeps every weight in range on a coarser step; k = 127 keeps the other
// weights exact and clips the outliers; the smallest error wins (it is
// never larger than max|w|/127's). The squared weight error stands for the
// output's error when inputs are uncorrelated; on the ladder each rule is
// chosen for some channels (v2: 14 clipped, 40 at max|w|/127, 9 between).
func closestSymmetric(src []byte, code func(byte) int64, z, m int64) (int64, []byte) {
	bestK, bestErr := int64(0), math.Inf(1)
	for k := int64(127); k <= m; k++ {
		r, e := 127/float64(k), 0.0
		for _, b := range src {
			v := float64(code(b) - z)
			q := min(max(math.Round(v*r), -127), 127)
			d := q/r - v
			e += d * d
		}
		if e < bestErr {
			bestK, bestErr = k, e
		}
	}
	r := 127 / float64(bestK)
	out := make([]byte, len(src))
	for i, b := range src {
		out[i] = byte(int8(min(max(math.Round(float64(code(b)-z)*r), -127), 127)))
	}
	return bestK, out
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
