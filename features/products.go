package features

import (
	"fmt"

	"gocv.io/x/gocv"
)

// Intermediate products shared among features. A frame computes each at
// most once per image, and only when a chosen feature asks for it.
const (
	productWorking     = "working"          // BGR, longest side <= MaxSide (always)
	productGray        = "gray"             // BT.601 luma, 8-bit
	productLuma        = "luma_stats"       // mean, RMS and std of luma
	productHSP         = "hsp_stats"        // mean and RMS of HSP perceived brightness
	productKeypoints   = "fast_keypoints"   // FAST keypoint count
	productCanny       = "canny"            // Canny edge map
	productEdgeLengths = "edge_length_hist" // histogram of edge-segment lengths
	productEdgeAngles  = "edge_angle_hist"  // histogram of gradient orientations on edges
	productObject      = "main_object"      // largest Otsu object: area/perimeter, aspect
	productHueHist     = "hue_hist"         // hue histogram of chromatic pixels
)

// frame holds one image's working copy and its lazily computed products.
// It lives for one Extract call.
type frame struct {
	bgr    gocv.Mat // borrowed from the caller of newFrame
	notify func(product string)
	mats   []*gocv.Mat // owned Mats, closed by close

	scratch *scratch // Go buffers, reused across images

	gray       *gocv.Mat
	edge       *edgeData
	luma       *meanRMS
	hsp        *meanRMS
	nKeypoints *int
	edgeLen    *[histBins]float64
	edgeAngle  *[histBins]float64
	object     *mainObject
	hue        *[histBins]float64
}

func newFrame(bgr gocv.Mat, notify func(string)) *frame {
	return &frame{bgr: bgr, notify: notify, scratch: new(scratch)}
}

// scratch holds the Go buffers one extraction needs, kept between images
// by the Extractor (a sync.Pool: Go memory only, nothing to close).
type scratch struct {
	edges   []edgePx
	padded  []byte // bordered edge map of the flood fill
	stack   []int32
	lengths []int
	smooth  []byte // 3x3-smoothed luma
	canny   []byte // Canny edge map
}

// plane returns *buf resized to n bytes, growing it only when too small.
func (sc *scratch) plane(buf *[]byte, n int) []byte {
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// computed records that a product was just computed (for tests).
func (f *frame) computed(product string) {
	if f.notify != nil {
		f.notify(product)
	}
}

// own registers a Mat for closing with the frame.
func (f *frame) own(m gocv.Mat) *gocv.Mat {
	p := &m
	f.mats = append(f.mats, p)
	return p
}

func (f *frame) close() {
	for _, m := range f.mats {
		m.Close()
	}
	f.mats = nil
}

// size returns the working image's width and height.
func (f *frame) size() (w, h int) { return f.bgr.Cols(), f.bgr.Rows() }

// longSide is the working image's longest side, the unit of relative lengths.
func (f *frame) longSide() float64 {
	w, h := f.size()
	return float64(max(w, h))
}

// grayMat returns the 8-bit luma image Y = 0.299 R + 0.587 G + 0.114 B
// (ITU-R BT.601, OpenCV's COLOR_BGR2GRAY, rounded to 8 bits).
func (f *frame) grayMat() (gocv.Mat, error) {
	if f.gray == nil {
		g := gocv.NewMat()
		gocv.CvtColor(f.bgr, &g, gocv.ColorBGRToGray)
		f.gray = f.own(g)
		if g.Empty() {
			return gocv.Mat{}, fmt.Errorf("%s: conversion failed", productGray)
		}
		f.computed(productGray)
	}
	return *f.gray, nil
}

// bytesOf returns the pixel bytes of a continuous 8-bit Mat without copying.
func bytesOf(m gocv.Mat, what string) ([]byte, error) {
	b, err := m.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("%s pixels: %w", what, err)
	}
	return b, nil
}
