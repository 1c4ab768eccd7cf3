package features

/*
#cgo pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "kernels.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// The kernels take the pixels of continuous 8-bit w x h images: either an
// OpenCV Mat's own memory or the frame's Go scratch buffers, which hold
// no Go pointers and are only read or written during the call.

func checkPlane(px []byte, w, h int, what string) error {
	if w <= 0 || h <= 0 || len(px) < w*h {
		return fmt.Errorf("%s: %d bytes for %dx%d", what, len(px), w, h)
	}
	return nil
}

// fastCount is the number of FAST keypoints of a luma image
// (cv::FAST, TYPE_9_16), as FastFeatureDetector.Detect returns them.
func fastCount(gray []byte, w, h, threshold int, nonmax bool) (int, error) {
	if err := checkPlane(gray, w, h, "fast"); err != nil {
		return 0, err
	}
	nm := 0
	if nonmax {
		nm = 1
	}
	return int(C.mp_fast_count((*C.uint8_t)(unsafe.Pointer(&gray[0])), C.int(w), C.int(h), C.int(threshold), C.int(nm))), nil
}

// objectOf finds the main object of a luma image (see findMainObject).
func objectOf(gray []byte, w, h int) (found bool, area, perim float64, boxW, boxH int, err error) {
	if err := checkPlane(gray, w, h, "main object"); err != nil {
		return false, 0, 0, 0, 0, err
	}
	o := C.mp_main_object((*C.uint8_t)(unsafe.Pointer(&gray[0])), C.int(w), C.int(h))
	return o.found != 0, float64(o.area), float64(o.perim), int(o.box_w), int(o.box_h), nil
}

// cannyInto writes the 3x3-Gaussian-smoothed luma and its Canny edge map
// into smooth and edges (w*h bytes each).
func cannyInto(gray []byte, w, h int, smooth, edges []byte) error {
	for _, p := range []struct {
		b    []byte
		what string
	}{{gray, "canny input"}, {smooth, "smoothed luma"}, {edges, productCanny}} {
		if err := checkPlane(p.b, w, h, p.what); err != nil {
			return err
		}
	}
	C.mp_edges((*C.uint8_t)(unsafe.Pointer(&gray[0])), C.int(w), C.int(h), C.int(cannyLow), C.int(cannyHigh),
		(*C.uint8_t)(unsafe.Pointer(&smooth[0])), (*C.uint8_t)(unsafe.Pointer(&edges[0])))
	return nil
}
