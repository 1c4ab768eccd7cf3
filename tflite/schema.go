package tflite

import (
	"fmt"
	"strings"
)

// TensorType is the element type of a tensor (schema enum TensorType).
type TensorType int8

// Tensor types used by the modelpick ladder, with the schema's values.
const (
	Float32   TensorType = 0
	Float16   TensorType = 1
	Int32     TensorType = 2
	Uint8     TensorType = 3
	Int64     TensorType = 4
	String    TensorType = 5
	Bool      TensorType = 6
	Int16     TensorType = 7
	Complex64 TensorType = 8
	Int8      TensorType = 9
	Float64   TensorType = 10
)

func (t TensorType) String() string {
	switch t {
	case Float32:
		return "FLOAT32"
	case Float16:
		return "FLOAT16"
	case Int32:
		return "INT32"
	case Uint8:
		return "UINT8"
	case Int64:
		return "INT64"
	case String:
		return "STRING"
	case Bool:
		return "BOOL"
	case Int16:
		return "INT16"
	case Complex64:
		return "COMPLEX64"
	case Int8:
		return "INT8"
	case Float64:
		return "FLOAT64"
	}
	return fmt.Sprintf("TensorType(%d)", int8(t))
}

// Size is the element size in bytes; 0 for variable-size or unknown types.
func (t TensorType) Size() int {
	switch t {
	case Uint8, Int8, Bool:
		return 1
	case Float16, Int16:
		return 2
	case Float32, Int32:
		return 4
	case Int64, Float64, Complex64:
		return 8
	}
	return 0
}

// BuiltinOperator is a resolved builtin operator code (schema enum
// BuiltinOperator, int32 since the extended builtin_code field).
type BuiltinOperator int32

// Builtin operators named by the converters; the rest print by number.
const (
	OpAdd             BuiltinOperator = 0
	OpAveragePool2D   BuiltinOperator = 1
	OpConcatenation   BuiltinOperator = 2
	OpConv2D          BuiltinOperator = 3
	OpDepthwiseConv2D BuiltinOperator = 4
	OpDequantize      BuiltinOperator = 6
	OpFullyConnected  BuiltinOperator = 9
	OpLogistic        BuiltinOperator = 14
	OpMaxPool2D       BuiltinOperator = 17
	OpMul             BuiltinOperator = 18
	OpRelu            BuiltinOperator = 19
	OpRelu6           BuiltinOperator = 21
	OpReshape         BuiltinOperator = 22
	OpSoftmax         BuiltinOperator = 25
	OpCustom          BuiltinOperator = 32
	OpPad             BuiltinOperator = 34
	OpMean            BuiltinOperator = 40
	OpSqueeze         BuiltinOperator = 43
	OpQuantize        BuiltinOperator = 114
	OpHardSwish       BuiltinOperator = 117
	// OpPlaceholderForGreaterOpCodes is what deprecated_builtin_code holds
	// for operators whose code does not fit in a byte.
	OpPlaceholderForGreaterOpCodes BuiltinOperator = 127
)

// builtinNameList holds schema.fbs BuiltinOperator names by value (0..161),
// comma-separated (a constant, so no package-level mutable table); error
// messages name the operator instead of a bare number.
const builtinNameList = "" +
	"ADD,AVERAGE_POOL_2D,CONCATENATION,CONV_2D,DEPTHWISE_CONV_2D," +
	"DEPTH_TO_SPACE,DEQUANTIZE,EMBEDDING_LOOKUP,FLOOR,FULLY_CONNECTED," +
	"HASHTABLE_LOOKUP,L2_NORMALIZATION,L2_POOL_2D," +
	"LOCAL_RESPONSE_NORMALIZATION,LOGISTIC,LSH_PROJECTION,LSTM,MAX_POOL_2D," +
	"MUL,RELU,RELU_N1_TO_1,RELU6,RESHAPE,RESIZE_BILINEAR,RNN,SOFTMAX," +
	"SPACE_TO_DEPTH,SVDF,TANH,CONCAT_EMBEDDINGS,SKIP_GRAM,CALL,CUSTOM," +
	"EMBEDDING_LOOKUP_SPARSE,PAD,UNIDIRECTIONAL_SEQUENCE_RNN,GATHER," +
	"BATCH_TO_SPACE_ND,SPACE_TO_BATCH_ND,TRANSPOSE,MEAN,SUB,DIV,SQUEEZE," +
	"UNIDIRECTIONAL_SEQUENCE_LSTM,STRIDED_SLICE,BIDIRECTIONAL_SEQUENCE_RNN," +
	"EXP,TOPK_V2,SPLIT,LOG_SOFTMAX,DELEGATE,BIDIRECTIONAL_SEQUENCE_LSTM," +
	"CAST,PRELU,MAXIMUM,ARG_MAX,MINIMUM,LESS,NEG,PADV2,GREATER," +
	"GREATER_EQUAL,LESS_EQUAL,SELECT,SLICE,SIN,TRANSPOSE_CONV," +
	"SPARSE_TO_DENSE,TILE,EXPAND_DIMS,EQUAL,NOT_EQUAL,LOG,SUM,SQRT,RSQRT," +
	"SHAPE,POW,ARG_MIN,FAKE_QUANT,REDUCE_PROD,REDUCE_MAX,PACK,LOGICAL_OR," +
	"ONE_HOT,LOGICAL_AND,LOGICAL_NOT,UNPACK,REDUCE_MIN,FLOOR_DIV," +
	"REDUCE_ANY,SQUARE,ZEROS_LIKE,FILL,FLOOR_MOD,RANGE," +
	"RESIZE_NEAREST_NEIGHBOR,LEAKY_RELU,SQUARED_DIFFERENCE,MIRROR_PAD,ABS," +
	"SPLIT_V,UNIQUE,CEIL,REVERSE_V2,ADD_N,GATHER_ND,COS,WHERE,RANK,ELU," +
	"REVERSE_SEQUENCE,MATRIX_DIAG,QUANTIZE,MATRIX_SET_DIAG,ROUND," +
	"HARD_SWISH,IF,WHILE,NON_MAX_SUPPRESSION_V4,NON_MAX_SUPPRESSION_V5," +
	"SCATTER_ND,SELECT_V2,DENSIFY,SEGMENT_SUM,BATCH_MATMUL," +
	"PLACEHOLDER_FOR_GREATER_OP_CODES,CUMSUM,CALL_ONCE,BROADCAST_TO,RFFT2D," +
	"CONV_3D,IMAG,REAL,COMPLEX_ABS,HASHTABLE,HASHTABLE_FIND," +
	"HASHTABLE_IMPORT,HASHTABLE_SIZE,REDUCE_ALL,CONV_3D_TRANSPOSE," +
	"VAR_HANDLE,READ_VARIABLE,ASSIGN_VARIABLE,BROADCAST_ARGS," +
	"RANDOM_STANDARD_NORMAL,BUCKETIZE,RANDOM_UNIFORM,MULTINOMIAL,GELU," +
	"DYNAMIC_UPDATE_SLICE,RELU_0_TO_1,UNSORTED_SEGMENT_PROD," +
	"UNSORTED_SEGMENT_MAX,UNSORTED_SEGMENT_SUM,ATAN2,UNSORTED_SEGMENT_MIN," +
	"SIGN,BITCAST,BITWISE_XOR,RIGHT_SHIFT"

func (op BuiltinOperator) String() string {
	if op >= 0 {
		rest := builtinNameList
		for i := BuiltinOperator(0); ; i++ {
			name, tail, more := strings.Cut(rest, ",")
			if i == op {
				return name
			}
			if !more {
				break
			}
			rest = tail
		}
	}
	return fmt.Sprintf("BUILTIN_%d", int32(op))
}

// Padding is the schema enum Padding.
type Padding int8

// Padding values.
const (
	PaddingSame  Padding = 0
	PaddingValid Padding = 1
)

func (p Padding) String() string {
	switch p {
	case PaddingSame:
		return "SAME"
	case PaddingValid:
		return "VALID"
	}
	return fmt.Sprintf("Padding(%d)", int8(p))
}

// Activation is the schema enum ActivationFunctionType (fused activations).
type Activation int8

// Fused activation values.
const (
	ActNone      Activation = 0
	ActRelu      Activation = 1
	ActReluN1To1 Activation = 2
	ActRelu6     Activation = 3
	ActTanh      Activation = 4
	ActSignBit   Activation = 5
)

func (a Activation) String() string {
	switch a {
	case ActNone:
		return "NONE"
	case ActRelu:
		return "RELU"
	case ActReluN1To1:
		return "RELU_N1_TO_1"
	case ActRelu6:
		return "RELU6"
	case ActTanh:
		return "TANH"
	case ActSignBit:
		return "SIGN_BIT"
	}
	return fmt.Sprintf("Activation(%d)", int8(a))
}

// Options is the decoded builtin_options union of an operator: one of the
// *...Options types below. Operators whose options this package does not
// decode carry nil and their union type in Operator.OptionsType.
type Options interface{ optionsType() uint8 }

// BuiltinOptions union type tags (schema union BuiltinOptions, NONE = 0).
const (
	OptionsNone           uint8 = 0
	OptionsConv2D         uint8 = 1
	OptionsDepthwiseConv  uint8 = 2
	OptionsPool2D         uint8 = 5
	OptionsFullyConnected uint8 = 8
	OptionsSoftmax        uint8 = 9
	OptionsConcatenation  uint8 = 10
	OptionsAdd            uint8 = 11
	OptionsReshape        uint8 = 17
	OptionsMul            uint8 = 21
	OptionsReducer        uint8 = 27
)

// Conv2DOptions are CONV_2D's options.
type Conv2DOptions struct {
	Padding          Padding
	StrideW, StrideH int32
	Activation       Activation
	// DilationW and DilationH default to 1 when absent.
	DilationW, DilationH int32
}

// DepthwiseConv2DOptions are DEPTHWISE_CONV_2D's options.
type DepthwiseConv2DOptions struct {
	Padding          Padding
	StrideW, StrideH int32
	// DepthMultiplier is redundant with the weight shape (newer TFLite
	// ignores it); kept for checking.
	DepthMultiplier      int32
	Activation           Activation
	DilationW, DilationH int32
}

// Pool2DOptions are the options of AVERAGE_POOL_2D, MAX_POOL_2D, L2_POOL_2D.
type Pool2DOptions struct {
	Padding          Padding
	StrideW, StrideH int32
	FilterW, FilterH int32
	Activation       Activation
}

// FullyConnectedOptions are FULLY_CONNECTED's options.
type FullyConnectedOptions struct {
	Activation  Activation
	KeepNumDims bool
}

// SoftmaxOptions are SOFTMAX's options.
type SoftmaxOptions struct{ Beta float32 }

// ConcatenationOptions are CONCATENATION's options.
type ConcatenationOptions struct {
	Axis       int32
	Activation Activation
}

// AddOptions are ADD's options.
type AddOptions struct{ Activation Activation }

// MulOptions are MUL's options.
type MulOptions struct{ Activation Activation }

// ReshapeOptions are RESHAPE's options; the shape may instead come from the
// operator's second input.
type ReshapeOptions struct{ NewShape []int32 }

// ReducerOptions are the options of MEAN, SUM, REDUCE_MAX and the like.
type ReducerOptions struct{ KeepDims bool }

func (*Conv2DOptions) optionsType() uint8          { return OptionsConv2D }
func (*DepthwiseConv2DOptions) optionsType() uint8 { return OptionsDepthwiseConv }
func (*Pool2DOptions) optionsType() uint8          { return OptionsPool2D }
func (*FullyConnectedOptions) optionsType() uint8  { return OptionsFullyConnected }
func (*SoftmaxOptions) optionsType() uint8         { return OptionsSoftmax }
func (*ConcatenationOptions) optionsType() uint8   { return OptionsConcatenation }
func (*AddOptions) optionsType() uint8             { return OptionsAdd }
func (*MulOptions) optionsType() uint8             { return OptionsMul }
func (*ReshapeOptions) optionsType() uint8         { return OptionsReshape }
func (*ReducerOptions) optionsType() uint8         { return OptionsReducer }

// OptionsTypeOf returns the union tag of o (OptionsNone for nil).
func OptionsTypeOf(o Options) uint8 {
	if o == nil {
		return OptionsNone
	}
	return o.optionsType()
}

// Quantization holds a tensor's affine quantisation:
// real = Scale[i] * (q - ZeroPoint[i]), with i indexing QuantizedDimension
// when there is more than one scale (per-channel), else a single value.
type Quantization struct {
	Min, Max           []float32
	Scale              []float32
	ZeroPoint          []int64
	QuantizedDimension int32
	// Custom marks QuantizationDetails (a non-affine scheme) being present.
	Custom bool
}

// PerChannel reports whether there is more than one scale.
func (q *Quantization) PerChannel() bool { return q != nil && len(q.Scale) > 1 }

// Tensor is one tensor of a subgraph.
type Tensor struct {
	Name  string
	Shape []int32
	Type  TensorType
	// Buffer is the index into the model's buffers (0 = none).
	Buffer uint32
	// Data is the constant content (little-endian), nil for activations. It
	// aliases the slice given to Parse.
	Data []byte
	// Quant is nil when the tensor has no (usable) quantisation parameters.
	Quant      *Quantization
	IsVariable bool
	// Sparse marks a tensor with sparsity parameters (its Data is the
	// compressed form, which this package does not expand).
	Sparse bool
}

// NumElements is the product of Shape (1 for a scalar); -1 if any dimension
// is negative (unknown).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return -1
		}
		n *= int64(d)
	}
	return n
}

// Operator is one node of a subgraph.
type Operator struct {
	// Opcode is the resolved builtin code: the larger of the OperatorCode's
	// deprecated_builtin_code and builtin_code, as TFLite's GetBuiltinCode does.
	Opcode     BuiltinOperator
	CustomCode string
	Version    int32
	// Inputs and Outputs index the subgraph's tensors; -1 marks an omitted
	// optional input.
	Inputs, Outputs []int32
	// OptionsType is the builtin_options union tag as stored.
	OptionsType uint8
	// Options is the decoded options (nil when none or not decoded).
	Options Options
}

// Subgraph is one graph of the model; the first is the main one.
type Subgraph struct {
	Name            string
	Tensors         []Tensor
	Inputs, Outputs []int32
	Operators       []Operator
}

// Model is a parsed TFLite file.
type Model struct {
	Version     uint32
	Description string
	Subgraphs   []Subgraph
	// NumBuffers is the length of the model's buffer table.
	NumBuffers int
}
