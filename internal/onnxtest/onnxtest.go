// Package onnxtest builds tiny, real ONNX classifiers for tests, so unit
// tests exercise ONNX Runtime without the shared assets.
package onnxtest

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
)

// Classifier describes a tiny model: a float NHWC image [1,Size,Size,3]
// is averaged per channel, multiplied by Weights (3 x Outputs) and passed
// through Softmax, so each output's score is a known function of the
// image's mean colour. Outputs includes any background class.
type Classifier struct {
	Size    int
	Outputs int
	Weights [][]float32 // [3][Outputs]; nil gives a default pattern
	// Logits leaves out the Softmax: the model outputs raw scores, as
	// a model a committee must refuse does.
	Logits bool
}

// DefaultWeights makes output o respond to channel o%3 with strength
// growing in o, so images of different colours win different classes.
func DefaultWeights(outputs int) [][]float32 {
	w := make([][]float32, 3)
	for c := range w {
		w[c] = make([]float32, outputs)
		for o := 0; o < outputs; o++ {
			if o%3 == c {
				w[c][o] = float32(1 + o)
			}
		}
	}
	return w
}

// Build returns the serialised ONNX model.
func (c Classifier) Build() ([]byte, error) {
	if c.Size < 1 || c.Outputs < 1 {
		return nil, fmt.Errorf("onnxtest: size %d and outputs %d must be positive", c.Size, c.Outputs)
	}
	w := c.Weights
	if w == nil {
		w = DefaultWeights(c.Outputs)
	}
	flat := make([]float32, 0, 3*c.Outputs)
	for _, row := range w {
		flat = append(flat, row...)
	}
	g := &onnx.GraphProto{
		Name:   "tiny",
		Input:  []*onnx.ValueInfoProto{valueInfo("image", onnx.TensorProto_FLOAT, 1, int64(c.Size), int64(c.Size), 3)},
		Output: []*onnx.ValueInfoProto{valueInfo("scores", onnx.TensorProto_FLOAT, 1, int64(c.Outputs))},
		Initializer: []*onnx.TensorProto{
			floatTensor("w", flat, 3, int64(c.Outputs)),
		},
		Node: []*onnx.NodeProto{
			node("ReduceMean", []string{"image"}, []string{"mean"}, ints("axes", 1, 2), intAttr("keepdims", 0)),
			node("MatMul", []string{"mean", "w"}, []string{"logits"}),
			node("Softmax", []string{"logits"}, []string{"scores"}, intAttr("axis", 1)),
		},
	}
	if c.Logits {
		g.Node[1].Output[0] = "scores"
		g.Node = g.Node[:2]
	}
	return model(g, 13)
}

// Identity returns a model passing a float tensor of the given shape
// through unchanged (ReLU of non-negative scores): the second file of a chain.
func Identity(shape ...int64) ([]byte, error) {
	g := &onnx.GraphProto{
		Name:   "identity",
		Input:  []*onnx.ValueInfoProto{valueInfo("x", onnx.TensorProto_FLOAT, shape...)},
		Output: []*onnx.ValueInfoProto{valueInfo("y", onnx.TensorProto_FLOAT, shape...)},
		Node:   []*onnx.NodeProto{node("Relu", []string{"x"}, []string{"y"})},
	}
	return model(g, 13)
}

// Write builds into dir/name and returns the path.
func Write(dir, name string, data []byte) (string, error) {
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, data, 0o644)
}

func model(g *onnx.GraphProto, opset int64) ([]byte, error) {
	m := &onnx.ModelProto{
		IrVersion:    8,
		ProducerName: "modelpick-onnxtest",
		OpsetImport:  []*onnx.OperatorSetIdProto{{Domain: "", Version: opset}},
		Graph:        g,
	}
	return proto.Marshal(m)
}

func valueInfo(name string, t onnx.TensorProto_DataType, dims ...int64) *onnx.ValueInfoProto {
	d := make([]*onnx.TensorShapeProto_Dimension, len(dims))
	for i, v := range dims {
		d[i] = &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: v}}
	}
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
		TensorType: &onnx.TypeProto_Tensor{ElemType: int32(t), Shape: &onnx.TensorShapeProto{Dim: d}}}}}
}

func floatTensor(name string, v []float32, dims ...int64) *onnx.TensorProto {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return &onnx.TensorProto{Name: name, Dims: dims, DataType: int32(onnx.TensorProto_FLOAT), RawData: raw}
}

func node(op string, in, out []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	return &onnx.NodeProto{OpType: op, Input: in, Output: out, Name: op + "_" + out[0], Attribute: attrs}
}

func ints(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

func intAttr(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}
