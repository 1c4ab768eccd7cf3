package features

import (
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"
)

// Edge features, from one Canny edge map (J. Canny, "A Computational Approach
// to Edge Detection", IEEE TPAMI 1986) of the luma image.
//
// The luma is first smoothed with a 3x3 Gaussian (sigma 0.8, OpenCV's choice
// for ksize 3), the smoothing step of Canny's method that OpenCV leaves to the
// caller; thresholds 50/150 follow Canny's advice of a 2:1–3:1 ratio and
// OpenCV's tutorial (low threshold 50, ratio 3, Sobel aperture 3, L1 norm).
const (
	cannyLow  = 50
	cannyHigh = 150
)

// edgeLengthDivisor(i) gives the bin edges of edge_length as fractions 1/d of
// the working image's longest side L: bins are [0, L/64), [L/64, L/32), ...,
// [L/4, L/2), [L/2, ∞). Doubling bins suit the heavy tail of segment
// lengths; relative units keep small images comparable (at L = 128 px the
// edges are 2, 4, 8, 16, 32 and 64 px).
func edgeLengthDivisor(i int) int { return 64 >> i }

const defEdgeLengthCommon = "Canny edges (luma, 3x3 Gaussian, thresholds 50/150, aperture 3, L1) are split into 8-connected segments; a segment's length ℓ is its pixel count, L the working image's longest side. Value: fraction of segments with"

const defEdgeAngleCommon = "Gradient orientation θ = atan2(Gy, Gx) mod 180° (3x3 Sobel on the smoothed luma; x right, y down; 0° = vertical edge, 90° = horizontal edge) at each Canny edge pixel (as for edge_length). Value: fraction of edge pixels with"

// defEdgeLength describes bin i (0-based) of the edge-length histogram.
func defEdgeLength(i int) string {
	var r string
	switch {
	case i == 0:
		r = fmt.Sprintf("ℓ < L/%d", edgeLengthDivisor(0))
	case i == histBins-1:
		r = fmt.Sprintf("ℓ ≥ L/%d", edgeLengthDivisor(histBins-2))
	default:
		r = fmt.Sprintf("L/%d ≤ ℓ < L/%d", edgeLengthDivisor(i-1), edgeLengthDivisor(i))
	}
	return fmt.Sprintf("%s %s (at L = %d: %s). All seven sum to 1; all 0 when there are no edges.",
		defEdgeLengthCommon, r, DefaultMaxSide, edgeLengthPixels(i, DefaultMaxSide))
}

func edgeLengthPixels(i, long int) string {
	switch {
	case i == 0:
		return fmt.Sprintf("ℓ < %d px", long/edgeLengthDivisor(0))
	case i == histBins-1:
		return fmt.Sprintf("ℓ ≥ %d px", long/edgeLengthDivisor(histBins-2))
	default:
		return fmt.Sprintf("%d ≤ ℓ < %d px", long/edgeLengthDivisor(i-1), long/edgeLengthDivisor(i))
	}
}

// defEdgeAngle describes bin i (0-based) of the edge-angle histogram.
func defEdgeAngle(i int) string {
	w := 180.0 / histBins
	return fmt.Sprintf("%s %.2f° ≤ θ < %.2f°. All seven sum to 1; all 0 when there are no edges.",
		defEdgeAngleCommon, float64(i)*w, float64(i+1)*w)
}

// edgeMap returns the smoothed luma and its Canny edge map (1 on edges, 0
// elsewhere), row-major, as wide as the working image. (A Canny in Go on
// shared Sobel gradients, equal to cv::Canny pixel for pixel, was tried for
// features-v2 and was 1.6 times slower than OpenCV's at 128 px.)
func (f *frame) edgeMap() (smooth gocv.Mat, edges []byte, err error) {
	if f.edges == nil {
		g, err := f.grayMat()
		if err != nil {
			return gocv.Mat{}, nil, err
		}
		s := gocv.NewMat()
		gocv.GaussianBlur(g, &s, image.Pt(3, 3), 0, 0, gocv.BorderDefault)
		f.smooth = f.own(s)
		e := gocv.NewMat()
		defer e.Close()
		gocv.Canny(s, &e, cannyLow, cannyHigh)
		if s.Empty() || e.Empty() {
			return gocv.Mat{}, nil, fmt.Errorf("%s: OpenCV returned an empty map", productCanny)
		}
		px, err := bytesOf(e, productCanny)
		if err != nil {
			return gocv.Mat{}, nil, err
		}
		// A Go copy, 0/1, so the consumers below read it without cgo.
		m := make([]byte, len(px))
		for i, v := range px {
			if v != 0 {
				m[i] = 1
			}
		}
		f.edges = &m
		f.computed(productCanny)
	}
	return *f.smooth, *f.edges, nil
}

// edgeLengthHist labels the 8-connected components of the edge map and
// histograms their pixel counts.
func (f *frame) edgeLengthHist() ([histBins]float64, error) {
	if f.edgeLen == nil {
		_, edges, err := f.edgeMap()
		if err != nil {
			return [histBins]float64{}, err
		}
		w, _ := f.size()
		long := int(f.longSide())
		var h [histBins]float64
		lengths := segmentLengths(edges, w)
		for _, n := range lengths {
			h[edgeLengthBin(n, long)]++
		}
		normalise(&h, float64(len(lengths)))
		f.edgeLen = &h
		f.computed(productEdgeLengths)
	}
	return *f.edgeLen, nil
}

// segmentLengths returns the pixel counts of the 8-connected components of
// the non-zero pixels of a w-wide 8-bit map. The counts equal the
// CC_STAT_AREA column of OpenCV's connectedComponentsWithStats (connectivity
// 8), up to order (TestSegmentLengthsMatchOpenCV); a flood fill over the
// sparse edge pixels is cheaper than labelling every pixel through cgo. It
// works on a copy with a zero border, so no neighbour needs a bounds check.
func segmentLengths(px []byte, w int) []int {
	if w <= 0 || len(px) == 0 {
		return nil
	}
	h := len(px) / w
	mw := w + 2
	m := make([]byte, mw*(h+2))
	for y := range h {
		copy(m[(y+1)*mw+1:], px[y*w:(y+1)*w])
	}
	nb := [8]int{-mw - 1, -mw, -mw + 1, -1, 1, mw - 1, mw, mw + 1}
	var lengths []int
	var stack []int
	for start, v := range m {
		if v == 0 {
			continue
		}
		m[start] = 0 // visited pixels are cleared
		stack = append(stack[:0], start)
		n := 0
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			for _, d := range nb {
				if m[i+d] != 0 {
					m[i+d] = 0
					stack = append(stack, i+d)
				}
			}
		}
		lengths = append(lengths, n)
	}
	return lengths
}

// edgeLengthBin returns the bin of a segment of length pixels in an image
// whose longest side is long, comparing in integers so bin edges are exact.
func edgeLengthBin(length, long int) int {
	for i := 0; i < histBins-1; i++ {
		if length*edgeLengthDivisor(i) < long {
			return i
		}
	}
	return histBins - 1
}

// edgeAngleHist histograms the Sobel gradient orientation over edge pixels.
func (f *frame) edgeAngleHist() ([histBins]float64, error) {
	if f.edgeAngle == nil {
		smooth, edges, err := f.edgeMap()
		if err != nil {
			return [histBins]float64{}, err
		}
		gx, gy := gocv.NewMat(), gocv.NewMat()
		defer gx.Close()
		defer gy.Close()
		gocv.Sobel(smooth, &gx, gocv.MatTypeCV16S, 1, 0, 3, 1, 0, gocv.BorderDefault)
		gocv.Sobel(smooth, &gy, gocv.MatTypeCV16S, 0, 1, 3, 1, 0, gocv.BorderDefault)
		dx, err := gx.DataPtrInt16()
		if err != nil {
			return [histBins]float64{}, fmt.Errorf("sobel x: %w", err)
		}
		dy, err := gy.DataPtrInt16()
		if err != nil {
			return [histBins]float64{}, fmt.Errorf("sobel y: %w", err)
		}
		if len(dx) != len(edges) || len(dy) != len(edges) {
			return [histBins]float64{}, fmt.Errorf("sobel size %d/%d, edge map %d", len(dx), len(dy), len(edges))
		}
		cs := angleBounds()
		var h [histBins]float64
		count := 0
		for i, v := range edges {
			if v == 0 {
				continue
			}
			h[angleBinOf(float64(dx[i]), float64(dy[i]), &cs)]++
			count++
		}
		normalise(&h, float64(count))
		f.edgeAngle = &h
		f.computed(productEdgeAngles)
	}
	return *f.edgeAngle, nil
}

// angleBounds returns cos and sin of the inner bin edges k·180°/7, k = 1..6.
func angleBounds() [histBins - 1][2]float64 {
	var cs [histBins - 1][2]float64
	for k := range cs {
		a := float64(k+1) * math.Pi / histBins
		cs[k] = [2]float64{math.Cos(a), math.Sin(a)}
	}
	return cs
}

// angleBinOf maps a gradient to its orientation bin over [0°, 180°), as
// the definition says (atan2(gy, gx) mod 180°) without atan2: after turning the gradient into the upper
// half plane, θ ≥ b exactly when the cross product of (cos b, sin b) and
// (gx, gy) is not negative. A zero gradient is bin 0 (atan2(0, 0) = 0).
func angleBinOf(gx, gy float64, cs *[histBins - 1][2]float64) int {
	if gy < 0 || (gy == 0 && gx < 0) {
		gx, gy = -gx, -gy
	}
	bin := 0
	for _, c := range cs {
		if gy*c[0]-gx*c[1] < 0 {
			break
		}
		bin++
	}
	if gx == 0 && gy == 0 {
		return 0
	}
	return bin
}

// normalise divides h by total, leaving it all zero when total is zero.
func normalise(h *[histBins]float64, total float64) {
	if total == 0 {
		return
	}
	for i := range h {
		h[i] /= total
	}
}

func edgeLengthFeature(bin int) func(*frame) (float64, error) {
	return func(f *frame) (float64, error) {
		h, err := f.edgeLengthHist()
		return h[bin], err
	}
}

func edgeAngleFeature(bin int) func(*frame) (float64, error) {
	return func(f *frame) (float64, error) {
		h, err := f.edgeAngleHist()
		return h[bin], err
	}
}
