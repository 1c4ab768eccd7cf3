package tflitetest

import (
	"encoding/binary"

	"github.com/modelpick/modelpick/tflite"
)

// PooledClassifier returns a quantised TFLite classifier of the ladder's
// shape, small enough for unit tests: an 8x8 RGB uint8 input (real values
// (p-128)/128), a global AVERAGE_POOL_2D (so the pooled embedding of a
// solid image is its own colour), a 1x1 conv to 11 logits (background at
// 0), a reshape and a softmax.
func PooledClassifier() *tflite.Model {
	q := func(scale float32, zp int64) *tflite.Quantization {
		return &tflite.Quantization{Scale: []float32{scale}, ZeroPoint: []int64{zp}}
	}
	w := make([]byte, 11*3) // [out][1][1][in], codes around the zero point 128
	for o := range 11 {
		for c := range 3 {
			w[o*3+c] = byte(128 + (o%3-c)*20 + o)
		}
	}
	bias := make([]byte, 4*11)
	for o := range 11 {
		binary.LittleEndian.PutUint32(bias[4*o:], uint32(int32(o*10)))
	}
	shape := make([]byte, 8)
	binary.LittleEndian.PutUint32(shape, 1)
	binary.LittleEndian.PutUint32(shape[4:], 11)
	sg := tflite.Subgraph{
		Name: "pooled",
		Tensors: []tflite.Tensor{
			{Name: "input", Shape: []int32{1, 8, 8, 3}, Type: tflite.Uint8, Quant: q(1.0/128, 128)},
			{Name: "pool", Shape: []int32{1, 1, 1, 3}, Type: tflite.Uint8, Quant: q(1.0/128, 128)},
			{Name: "w", Shape: []int32{11, 1, 1, 3}, Type: tflite.Uint8, Data: w, Quant: q(0.02, 128)},
			{Name: "b", Shape: []int32{11}, Type: tflite.Int32, Data: bias, Quant: q(0.02/128, 0)},
			{Name: "logits", Shape: []int32{1, 1, 1, 11}, Type: tflite.Uint8, Quant: q(0.05, 128)},
			{Name: "shape", Shape: []int32{2}, Type: tflite.Int32, Data: shape},
			{Name: "flat", Shape: []int32{1, 11}, Type: tflite.Uint8, Quant: q(0.05, 128)},
			{Name: "prob", Shape: []int32{1, 11}, Type: tflite.Uint8, Quant: q(1.0/256, 0)},
		},
		Inputs:  []int32{0},
		Outputs: []int32{7},
		Operators: []tflite.Operator{
			{Opcode: tflite.OpAveragePool2D, Version: 1, Inputs: []int32{0}, Outputs: []int32{1},
				Options: &tflite.Pool2DOptions{Padding: tflite.PaddingValid, StrideH: 1, StrideW: 1, FilterH: 8, FilterW: 8}},
			{Opcode: tflite.OpConv2D, Version: 1, Inputs: []int32{1, 2, 3}, Outputs: []int32{4},
				Options: &tflite.Conv2DOptions{Padding: tflite.PaddingSame, StrideH: 1, StrideW: 1, DilationH: 1, DilationW: 1}},
			{Opcode: tflite.OpReshape, Version: 1, Inputs: []int32{4, 5}, Outputs: []int32{6}},
			{Opcode: tflite.OpSoftmax, Version: 1, Inputs: []int32{6}, Outputs: []int32{7}, Options: &tflite.SoftmaxOptions{Beta: 1}},
		},
	}
	return &tflite.Model{Version: 3, Subgraphs: []tflite.Subgraph{sg}}
}

// PooledClassifierYAML is a model spec for PooledClassifier saved as
// pooled.tflite beside it.
const PooledClassifierYAML = `models:
  - name: pooled
    files: [pooled.tflite]
    input_size: 8
    mean: [128, 128, 128]
    std: [128, 128, 128]
    crop_fraction: 1
    label_offset: 1
    num_classes: 10
`
