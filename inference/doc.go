// Package inference loads candidate classifiers from declarative specs and
// runs them through ONNX Runtime: model specs (spec.go), OpenCV decoding and
// TF-slim style preprocessing (preprocess.go), and sessions whose tensors are
// allocated once and reused (model.go). TFLite files are imported to ONNX by
// package onnxconv and cached by content hash.
package inference
