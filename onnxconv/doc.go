// Package onnxconv imports quantised TFLite classifiers into ONNX, so ONNX
// Runtime can run the shared TFLite model ladder without a TFLite runtime.
//
// The converted graph keeps TFLite's integer arithmetic: activations stay
// uint8/int8 between operators, weights and int32 biases keep their values,
// and fused activations clamp in the quantised domain as TFLite does.
// Weights are stored symmetric (int8, zero point 0), ONNX Runtime's fast
// path: exact for every output channel whose values fit [-127, 127]; the
// few that do not (0.3-3.1% in the ladder's per-tensor uint8 files) get
// the closest symmetric codes on their own scale (see symmetricWeights).
//
// At the edges it speaks float: the single input is float32 NHWC with the
// TFLite input's shape, quantised by the TFLite input tensor's own scale
// and zero point; the single output is float32, the dequantised TFLite
// output (probabilities for a classifier, embeddings for an extractor).
// Callers feed real values ((pixel-mean)/std) and read real scores, and a
// feature extractor chains into a head by passing the float tensor.
//
// Lowering: standard QLinearConv (depthwise as a grouped QLinearConv) plus
// the com.microsoft contrib operators ONNX lacks (QLinearAdd,
// QLinearAveragePool, QLinearGlobalAveragePool); softmax runs in float
// between DequantizeLinear and QuantizeLinear. Activations are carried as
// uint8 (a shift by 128 of codes and zero points, exact) and weights as
// symmetric int8 whatever the file uses, because that is ONNX Runtime's
// fastest integer path. See lowering.go for the measurements behind these
// choices.
//
// Version is part of every cache key built on converted files: bump it when
// the produced graph changes.
package onnxconv
