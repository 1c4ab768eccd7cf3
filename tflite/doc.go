// Package tflite reads TensorFlow Lite model files (the "TFL3" flatbuffer
// format) into plain Go structs: subgraphs, tensors with their constant data
// and quantisation, and operators with the builtin options the modelpick
// converters need.
//
// The accessors are written by hand over github.com/google/flatbuffers/go
// (no generated code) and check every offset against the input length, so a
// truncated or corrupt file yields an error, never a panic. Field indices
// follow tensorflow/lite/schema/schema.fbs (schema version 3, including the
// extended builtin_code of OperatorCode and the offset/size of Buffer used by
// models larger than 2 GiB).
package tflite
