package onnxconv

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/modelpick/modelpick/tflite"
)

func int32Bytes(v ...int32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
	}
	return out
}

func int32At(b []byte, i int) int32 { return int32(binary.LittleEndian.Uint32(b[4*i:])) }

// codeValue is a stored code's integer value for type ty.
func codeValue(ty tflite.TensorType, b byte) int64 {
	if ty == tflite.Int8 {
		return int64(int8(b))
	}
	return int64(b)
}

// TestSymmetricWeightsExact: per-tensor uint8 weights whose codes minus zero
// point fit [-127, 127] keep their values, their scale (per-tensor) and
// their bias, so the integer arithmetic is TFLite's.
func TestSymmetricWeightsExact(t *testing.T) {
	const zp = 100
	rng := rand.New(rand.NewPCG(1, 2))
	codes := make([]byte, 4*9)
	for i := range codes {
		codes[i] = byte(rng.IntN(zp + 128)) // v in [-100, 127]
	}
	bias := int32Bytes(5, -7, 1<<20, 0)
	in := storedWeights{ty: tflite.Uint8, codes: codes, scales: []float32{0.02}, zps: []int64{zp}, bias: bias}
	out := symmetricWeights(in, 4)
	if out.ty != tflite.Int8 || out.requantised != 0 {
		t.Fatalf("type %s, %d requantised; want INT8, 0", out.ty, out.requantised)
	}
	if !slices.Equal(out.scales, []float32{0.02}) || !slices.Equal(out.zps, []int64{0}) {
		t.Errorf("scales %v zero points %v, want [0.02] [0]", out.scales, out.zps)
	}
	for i, b := range out.codes {
		if got, want := int64(int8(b)), int64(codes[i])-zp; got != want {
			t.Fatalf("code %d: %d, want %d", i, got, want)
		}
	}
	if !slices.Equal(out.bias, bias) {
		t.Errorf("bias changed: %v", out.bias)
	}
}

// TestSymmetricWeightsUnchanged: int8 weights with zero point 0 (the tf2 and
// EdgeTPU files) are stored as they are.
func TestSymmetricWeightsUnchanged(t *testing.T) {
	in := storedWeights{ty: tflite.Int8, codes: []byte{0x80, 0x7f, 3, 0xfd}, scales: []float32{0.1, 0.2}, zps: []int64{0, 0}, bias: int32Bytes(1, 2)}
	out := symmetricWeights(in, 2)
	if !slices.Equal(out.codes, in.codes) || !slices.Equal(out.scales, in.scales) || !slices.Equal(out.bias, in.bias) || out.requantised != 0 {
		t.Errorf("symmetric int8 weights changed: %+v", out)
	}
}

// TestSymmetricWeightsOutOfRange: a channel with values beyond ±127 gets
// codes in [-127, 127] on its own scale, no further from the file's real
// weights (squared error) than requantising to max|w|/127 would be, and a
// bias rescaled to within half a unit of the new scale; the other channels
// stay exact.
func TestSymmetricWeightsOutOfRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name string
		ty   tflite.TensorType
		zps  []int64
		per  int
	}{
		{"uint8 per-tensor, depthwise-sized", tflite.Uint8, []int64{60}, 9},
		{"uint8 per-tensor, pointwise-sized", tflite.Uint8, []int64{200}, 512},
		{"int8 per-tensor, zero point -40", tflite.Int8, []int64{-40}, 27},
		{"uint8 per-channel", tflite.Uint8, []int64{128, 30, 128}, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const outC = 3
			zp := func(o int) int64 { return tc.zps[min(o, len(tc.zps)-1)] }
			lo, hi := qrange(tc.ty)
			codes := make([]byte, outC*tc.per)
			for o := range outC {
				for k := range tc.per {
					// Channel 1 spans the whole type (out of range for any zero
					// point far from the middle); channels 0 and 2 fit.
					v := zp(o) - 127 + int64(rng.IntN(255))
					if o == 1 {
						v = lo + int64(rng.IntN(int(hi-lo+1)))
					}
					v = min(max(v, lo), hi)
					codes[o*tc.per+k] = byte(v)
				}
			}
			// One outlier at the type's edge guarantees channel 1 is out of range.
			if zp(1)-lo > hi-zp(1) {
				codes[tc.per] = byte(lo)
			} else {
				codes[tc.per] = byte(hi)
			}
			scales := make([]float32, len(tc.zps))
			for i := range scales {
				scales[i] = 0.01 * float32(i+1)
			}
			bias := int32Bytes(1000, -123457, 77)
			in := storedWeights{ty: tc.ty, codes: codes, scales: scales, zps: tc.zps, bias: bias}
			out := symmetricWeights(in, outC)
			if out.requantised != 1 || out.ty != tflite.Int8 || len(out.scales) != outC || !slices.Equal(out.zps, make([]int64, outC)) {
				t.Fatalf("requantised %d, type %s, scales %v, zero points %v; want 1, INT8, %d scales, zeros", out.requantised, out.ty, out.scales, out.zps, outC)
			}
			for o := range outC {
				s := float64(scales[min(o, len(scales)-1)])
				ns := float64(out.scales[o])
				var errNew, errPlain float64
				m := int64(0)
				for k := range tc.per {
					m = max(m, abs64(codeValue(tc.ty, codes[o*tc.per+k])-zp(o)))
				}
				plain := s * float64(m) / 127 // requantising to max|w|/127
				for k := range tc.per {
					q := int64(int8(out.codes[o*tc.per+k]))
					if q < -127 || q > 127 {
						t.Fatalf("channel %d: code %d outside [-127, 127]", o, q)
					}
					w := s * float64(codeValue(tc.ty, codes[o*tc.per+k])-zp(o))
					errNew += (float64(q)*ns - w) * (float64(q)*ns - w)
					d := math.Round(w/plain)*plain - w
					errPlain += d * d
				}
				b, nb := float64(int32At(bias, o)), float64(int32At(out.bias, o))
				if math.Abs(nb*ns-b*s) > ns/2+1e-9*math.Abs(b*s) {
					t.Errorf("channel %d: bias %v at scale %g became %v at scale %g", o, b, s, nb, ns)
				}
				if o != 1 {
					if errNew != 0 || ns != s || nb != b {
						t.Errorf("channel %d fits int8 but changed (error %g, scale %g -> %g, bias %v -> %v)", o, errNew, s, ns, b, nb)
					}
					continue
				}
				// The new scale is stored as float32: allow its rounding.
				if errNew > errPlain*(1+1e-5) {
					t.Errorf("channel %d: squared error %g, more than max|w|/127's %g", o, errNew, errPlain)
				}
				if ns < s*(1-1e-6) || ns > plain*(1+1e-6) {
					t.Errorf("channel %d: new scale %g outside [old %g, max|w|/127 %g]", o, ns, s, plain)
				}
			}
		})
	}
}
