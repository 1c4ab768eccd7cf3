// Package imghdr reads the format and size of an encoded image from its
// header, without decoding pixels, so callers can refuse an input before
// OpenCV sees it.
//
// That matters beyond saving memory: OpenCV's imdecode throws a C++
// exception for an image wider or taller than 2^20 pixels or larger than
// 2^30 pixels, outside its own try/catch, and an exception crossing cgo
// aborts the whole process (a 17-byte PPM header is enough). Only formats
// whose header is read here are let through: JPEG, PNG, BMP, TIFF and WebP.
// The size read is the one the decoder will use: the first JPEG frame
// header (libjpeg refuses a second), PNG's IHDR, the BMP info header with
// OpenCV's abs() of a negative height, the first TIFF directory (a repeated
// size tag is refused, as the two readers might pick different ones), and
// WebP's canvas.
package imghdr
