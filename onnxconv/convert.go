package onnxconv

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/modelpick/modelpick/tflite"
)

// Version identifies the graphs this package produces. It is written into
// every converted model's metadata and belongs in the cache key of converted
// files: bump it whenever the output for the same input changes.
// 2: weights stored symmetric (int8, zero point 0; see weightMode).
const Version = "2"

// Metadata keys written into ModelProto.metadata_props.
const (
	MetaConverter        = "modelpick.converter"         // "modelpick/onnxconv"
	MetaConverterVersion = "modelpick.converter_version" // Version
	MetaSource           = "modelpick.source"            // the name given to Convert
	MetaSourceSHA256     = "modelpick.source_sha256"     // hex sha256 of the TFLite file (ConvertFile)
)

const (
	// IR 8 pairs with opset 13-15; ORT 1.30 loads it. Opset 13 is the first
	// with per-axis QuantizeLinear/DequantizeLinear.
	irVersion    = 8
	opsetONNX    = 13
	msDomain     = "com.microsoft"
	opsetMS      = 1
	producerName = "modelpick/onnxconv"
)

// ErrUnsupported is wrapped by errors about TFLite content the converter
// cannot express (an operator, a tensor type, a quantisation scheme).
var ErrUnsupported = errors.New("unsupported")

// Info describes a converted model's interface, for callers that feed it.
type Info struct {
	// Name is the name given to Convert (the file's base name for
	// ConvertFile).
	Name string
	// InputName is the ONNX input: float32, NHWC, InputShape, real values.
	InputName  string
	InputShape []int64
	// InputScale, InputZeroPoint and InputType are the TFLite input tensor's
	// quantisation, which the graph applies first:
	// q = clamp(round(x/InputScale) + InputZeroPoint).
	InputScale     float32
	InputZeroPoint int64
	InputType      string
	// OutputName is the ONNX output: float32, OutputShape, the dequantised
	// TFLite output.
	OutputName  string
	OutputShape []int64
	// OutputScale and OutputZeroPoint are the TFLite output's quantisation
	// (the output takes values OutputScale*(q-OutputZeroPoint)).
	OutputScale     float32
	OutputZeroPoint int64
	// Ops lists the distinct TFLite builtin operators of the model (sorted);
	// OpCounts counts each.
	Ops      []string
	OpCounts map[string]int
	// EmbeddingName and EmbeddingShape name the second output of a model
	// converted by ConvertFileWithEmbedding: the dequantised output of the
	// last global pooling operator (float32, [1, channels]). Empty otherwise.
	EmbeddingName  string
	EmbeddingShape []int64
	// Nodes is the number of ONNX nodes produced.
	Nodes int
	// MACs counts the multiply-accumulates of one inference in the
	// convolutions (output pixels x output channels x kernel taps x input
	// channels per group), which hold all but a fraction of a percent of a
	// MobileNet's arithmetic.
	MACs int64
	// WeightChannels counts the convolutions' output channels and
	// RequantisedChannels those whose weight codes were changed to make them
	// symmetric int8 (see symmetricWeights); the rest are exact.
	WeightChannels, RequantisedChannels int
	// SHA256 is the hex digest of the source file (ConvertFile only).
	SHA256 string
}

// Convert turns the main subgraph of a quantised TFLite model into an ONNX
// model; name labels the graph and errors.
func Convert(m *tflite.Model, name string) (*onnx.ModelProto, Info, error) {
	return convert(m, name, options{})
}

// ConvertFile reads, parses and converts a .tflite file and returns the
// serialised ONNX model; its metadata records the file's sha256.
func ConvertFile(path string) ([]byte, Info, error) {
	return convertFile(path, options{})
}

// ConvertFileWithEmbedding is ConvertFile with a second graph output, the
// image embedding: the output of the model's last global pooling operator
// (AVERAGE_POOL_2D or MEAN over the whole feature map), dequantised and
// flattened to [1, channels] (see Info.EmbeddingName). A premodel built on
// a frozen ladder backbone reads it; the class scores still come out, so
// one run yields both the embedding and the model's own answer.
func ConvertFileWithEmbedding(path string) ([]byte, Info, error) {
	return convertFile(path, options{embedding: true})
}

func convertFile(path string, opt options) ([]byte, Info, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Info{}, fmt.Errorf("convert %s: %w", path, err)
	}
	m, err := tflite.Parse(data)
	if err != nil {
		return nil, Info{}, fmt.Errorf("convert %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	mp, info, err := convert(m, filepath.Base(path), opt)
	if err != nil {
		// Convert names the base name; say where the file is.
		return nil, Info{}, fmt.Errorf("%w (file %s)", err, path)
	}
	info.SHA256 = hex.EncodeToString(sum[:])
	mp.MetadataProps = append(mp.MetadataProps, &onnx.StringStringEntryProto{Key: MetaSourceSHA256, Value: info.SHA256})
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(mp)
	if err != nil {
		return nil, Info{}, fmt.Errorf("convert %s: marshal: %w", path, err)
	}
	return out, info, nil
}

// value is an ONNX tensor holding a TFLite tensor, in TFLite's own layout
// (native) and/or, for rank-4 activations, NCHW. Either may be empty until
// an operator asks for it.
type value struct {
	native, nchw string
}

type converter struct {
	name  string
	sg    *tflite.Subgraph
	opt   options
	g     *onnx.GraphProto
	vals  map[int32]*value
	count int
	ms    bool // a com.microsoft operator was used
	// weightChannels and requantised feed Info's counts.
	weightChannels, requantised int
	macs                        int64
}

func convert(m *tflite.Model, name string, opt options) (*onnx.ModelProto, Info, error) {
	info := Info{Name: name, OpCounts: map[string]int{}}
	if m == nil || len(m.Subgraphs) == 0 {
		return nil, info, fmt.Errorf("convert %s: model has no subgraph", name)
	}
	sg := &m.Subgraphs[0]
	c := &converter{name: name, sg: sg, opt: opt, g: &onnx.GraphProto{Name: name}, vals: map[int32]*value{}}
	if len(sg.Inputs) != 1 || len(sg.Outputs) != 1 {
		return nil, info, fmt.Errorf("convert %s: %d inputs and %d outputs, want 1 and 1: %w", name, len(sg.Inputs), len(sg.Outputs), ErrUnsupported)
	}
	for _, op := range sg.Operators {
		info.OpCounts[op.Opcode.String()]++
	}
	for k := range info.OpCounts {
		info.Ops = append(info.Ops, k)
	}
	slices.Sort(info.Ops)

	if err := c.input(sg.Inputs[0], &info); err != nil {
		return nil, info, fmt.Errorf("convert %s: input: %w", name, err)
	}
	for i := range sg.Operators {
		op := &sg.Operators[i]
		if err := c.operator(op); err != nil {
			return nil, info, fmt.Errorf("convert %s: op %d %s: %w", name, i, op.Opcode, err)
		}
	}
	if err := c.output(sg.Outputs[0], &info); err != nil {
		return nil, info, fmt.Errorf("convert %s: output: %w", name, err)
	}
	if opt.embedding {
		if err := c.embedding(&info); err != nil {
			return nil, info, fmt.Errorf("convert %s: embedding: %w", name, err)
		}
	}
	info.Nodes = len(c.g.Node)
	info.WeightChannels, info.RequantisedChannels = c.weightChannels, c.requantised
	info.MACs = c.macs

	c.g.DocString = fmt.Sprintf("%s converted from TFLite by %s %s", name, producerName, Version)
	mp := &onnx.ModelProto{
		IrVersion:       irVersion,
		ProducerName:    producerName,
		ProducerVersion: Version,
		Graph:           c.g,
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: "", Version: opsetONNX}},
		MetadataProps: []*onnx.StringStringEntryProto{
			{Key: MetaConverter, Value: producerName},
			{Key: MetaConverterVersion, Value: Version},
			{Key: MetaSource, Value: name},
		},
	}
	if c.ms {
		mp.OpsetImport = append(mp.OpsetImport, &onnx.OperatorSetIdProto{Domain: msDomain, Version: opsetMS})
	}
	return mp, info, nil
}

// operator lowers one TFLite operator.
func (c *converter) operator(op *tflite.Operator) error {
	switch op.Opcode {
	case tflite.OpConv2D, tflite.OpDepthwiseConv2D:
		return c.conv(op)
	case tflite.OpAveragePool2D:
		return c.avgPool(op)
	case tflite.OpMean:
		return c.mean(op)
	case tflite.OpAdd:
		return c.add(op)
	case tflite.OpReshape, tflite.OpSqueeze:
		return c.reshape(op)
	case tflite.OpSoftmax:
		return c.softmax(op)
	case tflite.OpQuantize:
		return c.quantize(op)
	case tflite.OpDequantize:
		return c.dequantize(op)
	}
	if op.Opcode == tflite.OpCustom {
		return fmt.Errorf("custom code %q: %w operator", op.CustomCode, ErrUnsupported)
	}
	return fmt.Errorf("%w operator", ErrUnsupported)
}

// input declares the float graph input and quantises it as TFLite would.
func (c *converter) input(idx int32, info *Info) error {
	t := &c.sg.Tensors[idx]
	own, err := perTensor(t)
	if err != nil {
		return err
	}
	q, _ := c.act(t)
	name := t.Name
	if name == "" {
		name = "input"
	}
	shape := dims(t.Shape)
	info.InputName, info.InputShape = name, shape
	info.InputScale, info.InputZeroPoint, info.InputType = own.scale, own.zp, t.Type.String()
	c.g.Input = append(c.g.Input, valueInfo(name, onnx.TensorProto_FLOAT, shape))
	out := c.fresh("input_q")
	c.node("QuantizeLinear", "", []string{name, c.scalarF32(q.scale), c.zeroPoint(q.zp, q.ty)}, out)
	c.vals[idx] = &value{native: out}
	return nil
}

// output dequantises the TFLite output into the float graph output.
func (c *converter) output(idx int32, info *Info) error {
	t := &c.sg.Tensors[idx]
	src, err := c.native(idx)
	if err != nil {
		return err
	}
	name := t.Name
	if name == "" || name == info.InputName {
		name = "output"
	}
	shape := dims(t.Shape)
	info.OutputName, info.OutputShape = name, shape
	if t.Type == tflite.Float32 {
		// The model ends in DEQUANTIZE: already real values.
		info.OutputScale = 1
		c.node("Identity", "", []string{src}, name)
	} else {
		own, err := perTensor(t)
		if err != nil {
			return err
		}
		q, _ := c.act(t)
		info.OutputScale, info.OutputZeroPoint = own.scale, own.zp
		c.node("DequantizeLinear", "", []string{src, c.scalarF32(q.scale), c.zeroPoint(q.zp, q.ty)}, name)
	}
	c.g.Output = append(c.g.Output, valueInfo(name, onnx.TensorProto_FLOAT, shape))
	return nil
}

// embeddingOutput is the graph name of the embedding output.
const embeddingOutput = "embedding"

// embedding adds the dequantised output of the last global pooling
// operator as a second graph output of shape [1, channels].
func (c *converter) embedding(info *Info) error {
	pool := int32(-1)
	for _, op := range c.sg.Operators {
		if op.Opcode != tflite.OpAveragePool2D && op.Opcode != tflite.OpMean {
			continue
		}
		if len(op.Outputs) != 1 {
			continue
		}
		s := c.sg.Tensors[op.Outputs[0]].Shape
		if len(s) == 4 && s[0] == 1 && s[1] == 1 && s[2] == 1 { // global: 1x1 spatial
			pool = op.Outputs[0]
		}
	}
	if pool < 0 {
		return fmt.Errorf("no global pooling operator (AVERAGE_POOL_2D or MEAN to 1x1): %w", ErrUnsupported)
	}
	t := &c.sg.Tensors[pool]
	if t.Type == tflite.Float32 {
		return fmt.Errorf("float pooled tensor %q: %w", t.Name, ErrUnsupported)
	}
	q, err := c.act(t)
	if err != nil {
		return err
	}
	src, err := c.native(pool)
	if err != nil {
		return err
	}
	ch := int64(t.Shape[3])
	flat := c.fresh("embedding_q")
	c.node("Reshape", "", []string{src, c.int64s("embedding_shape", []int64{1, ch})}, flat)
	c.node("DequantizeLinear", "", []string{flat, c.scalarF32(q.scale), c.zeroPoint(q.zp, q.ty)}, embeddingOutput)
	info.EmbeddingName, info.EmbeddingShape = embeddingOutput, []int64{1, ch}
	c.g.Output = append(c.g.Output, valueInfo(embeddingOutput, onnx.TensorProto_FLOAT, info.EmbeddingShape))
	return nil
}

func dims(s []int32) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

func valueInfo(name string, ty onnx.TensorProto_DataType, shape []int64) *onnx.ValueInfoProto {
	ds := make([]*onnx.TensorShapeProto_Dimension, len(shape))
	for i, d := range shape {
		ds[i] = &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d}}
	}
	return &onnx.ValueInfoProto{
		Name: name,
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
			ElemType: int32(ty),
			Shape:    &onnx.TensorShapeProto{Dim: ds},
		}}},
	}
}
