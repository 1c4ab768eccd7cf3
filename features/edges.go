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
// lengths; relative units keep small images comparable (at L = 256 px the
// edges are 4, 8, 16, 32, 64 and 128 px).
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
	return fmt.Sprintf("%s %s (at L = 256: %s). All seven sum to 1; all 0 when there are no edges.",
		defEdgeLengthCommon, r, edgeLengthPixels(i, 256))
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

// cannyMat returns the smoothed luma and its Canny edge map (255 on edges).
func (f *frame) cannyMat() (smooth, edges gocv.Mat, err error) {
	if f.canny == nil {
		g, err := f.grayMat()
		if err != nil {
			return gocv.Mat{}, gocv.Mat{}, err
		}
		s := gocv.NewMat()
		gocv.GaussianBlur(g, &s, image.Pt(3, 3), 0, 0, gocv.BorderDefault)
		f.smooth = f.own(s)
		e := gocv.NewMat()
		gocv.Canny(s, &e, cannyLow, cannyHigh)
		f.canny = f.own(e)
		if s.Empty() || e.Empty() {
			return gocv.Mat{}, gocv.Mat{}, fmt.Errorf("%s: OpenCV returned an empty map", productCanny)
		}
		f.computed(productCanny)
	}
	return *f.smooth, *f.canny, nil
}

// edgeLengthHist labels the 8-connected components of the edge map and
// histograms their pixel counts.
func (f *frame) edgeLengthHist() ([histBins]float64, error) {
	if f.edgeLen == nil {
		_, edges, err := f.cannyMat()
		if err != nil {
			return [histBins]float64{}, err
		}
		px, err := bytesOf(edges, productCanny)
		if err != nil {
			return [histBins]float64{}, err
		}
		w, _ := f.size()
		long := int(f.longSide())
		var h [histBins]float64
		lengths := segmentLengths(px, w)
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
// sparse edge pixels is cheaper than labelling every pixel through cgo.
func segmentLengths(px []byte, w int) []int {
	if w <= 0 || len(px) == 0 {
		return nil
	}
	h := len(px) / w
	seen := make([]bool, len(px))
	var lengths []int
	var stack []int
	for start, v := range px {
		if v == 0 || seen[start] {
			continue
		}
		seen[start] = true
		stack = append(stack[:0], start)
		n := 0
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := i%w, i/w
			for dy := -1; dy <= 1; dy++ {
				yy := y + dy
				if yy < 0 || yy >= h {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= w {
						continue
					}
					j := yy*w + xx
					if px[j] != 0 && !seen[j] {
						seen[j] = true
						stack = append(stack, j)
					}
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
		smooth, edges, err := f.cannyMat()
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
		e, err := bytesOf(edges, productCanny)
		if err != nil {
			return [histBins]float64{}, err
		}
		if len(dx) != len(e) || len(dy) != len(e) {
			return [histBins]float64{}, fmt.Errorf("sobel size %d/%d, edge map %d", len(dx), len(dy), len(e))
		}
		var h [histBins]float64
		count := 0
		for i, v := range e {
			if v == 0 {
				continue
			}
			h[angleBin(float64(dx[i]), float64(dy[i]))]++
			count++
		}
		normalise(&h, float64(count))
		f.edgeAngle = &h
		f.computed(productEdgeAngles)
	}
	return *f.edgeAngle, nil
}

// angleBin maps a gradient to its orientation bin over [0°, 180°).
func angleBin(gx, gy float64) int {
	deg := math.Atan2(gy, gx) * 180 / math.Pi // (-180, 180]
	if deg < 0 {
		deg += 180
	}
	if deg >= 180 {
		deg -= 180
	}
	return min(int(deg*histBins/180), histBins-1)
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
