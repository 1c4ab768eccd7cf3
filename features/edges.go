package features

import (
	"encoding/binary"
	"fmt"
	"math"
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

// edgeData is the Canny product of one image.
type edgeData struct {
	smooth []byte   // luma after the 3x3 Gaussian, w*h (the frame's scratch)
	px     []edgePx // the edge pixels, in raster order
	w, h   int
}

// edgePx is one edge pixel's position.
type edgePx struct{ x, y int32 }

// edgeMap returns the smoothed luma and the pixels of its Canny edge map.
// (A Canny in Go on shared Sobel gradients, equal to cv::Canny pixel for
// pixel, was tried for features-v2 and was 1.6 times slower than
// OpenCV's at 128 px; tried again with the edge list and the angles' Sobel
// taken from it, it was still 1.2 times slower: 169-178 against 143 µs on
// 100 imagenet-val-dev working images, its non-maximum suppression's
// branches mispredicted on textured images.)
func (f *frame) edgeMap() (*edgeData, error) {
	if f.edge == nil {
		g, err := f.grayMat()
		if err != nil {
			return nil, err
		}
		gpx, err := bytesOf(g, productGray)
		if err != nil {
			return nil, err
		}
		w, h := g.Cols(), g.Rows()
		smooth, px := f.scratch.plane(&f.scratch.smooth, w*h), f.scratch.plane(&f.scratch.canny, w*h)
		if err := cannyInto(gpx, w, h, smooth, px); err != nil {
			return nil, err
		}
		f.scratch.edges = edgePixels(px, w, h, f.scratch.edges[:0])
		f.edge = &edgeData{smooth: smooth, px: f.scratch.edges, w: w, h: h}
		f.computed(productCanny)
	}
	return f.edge, nil
}

// edgeLengthHist labels the 8-connected components of the edge map and
// histograms their pixel counts.
func (f *frame) edgeLengthHist() ([histBins]float64, error) {
	if f.edgeLen == nil {
		e, err := f.edgeMap()
		if err != nil {
			return [histBins]float64{}, err
		}
		long := int(f.longSide())
		var h [histBins]float64
		lengths := f.scratch.segmentLengths(e.px, e.w, e.h)
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
// the non-zero pixels of a w-wide 8-bit map (for tests; the extractor
// reads its edge list directly).
func segmentLengths(px []byte, w int) []int {
	if w <= 0 || len(px) == 0 {
		return nil
	}
	return new(scratch).segmentLengths(edgePixels(px, w, len(px)/w, nil), w, len(px)/w)
}

// edgePixels appends the non-zero pixels of a w x h map to out, in raster
// order, skipping eight zero bytes at a time (most of a Canny map).
func edgePixels(px []byte, w, h int, out []edgePx) []edgePx {
	for y := range h {
		row := px[y*w : (y+1)*w]
		x := 0
		for ; x+8 <= len(row); x += 8 {
			if binary.LittleEndian.Uint64(row[x:]) == 0 {
				continue
			}
			for k, v := range row[x : x+8] {
				if v != 0 {
					out = append(out, edgePx{int32(x + k), int32(y)})
				}
			}
		}
		for ; x < len(row); x++ {
			if row[x] != 0 {
				out = append(out, edgePx{int32(x), int32(y)})
			}
		}
	}
	return out
}

// segmentLengths returns the pixel counts of the 8-connected components
// of the pixels ps (raster order) of a w x h map. The counts
// equal the CC_STAT_AREA column of OpenCV's connectedComponentsWithStats
// (connectivity 8), up to order (TestSegmentLengthsMatchOpenCV); a flood
// fill over the sparse edge pixels is cheaper than labelling every pixel
// through cgo. It marks the pixels on a zeroed map with a one-pixel
// border, so no neighbour needs a bounds check, and seeds from the list,
// so only edge pixels are visited.
func (sc *scratch) segmentLengths(ps []edgePx, w, h int) []int {
	mw := w + 2
	n := mw * (h + 2)
	if cap(sc.padded) < n {
		sc.padded = make([]byte, n)
	}
	m := sc.padded[:n]
	clear(m)
	for _, p := range ps {
		m[int(p.y+1)*mw+int(p.x)+1] = 1
	}
	nb := [8]int32{int32(-mw - 1), int32(-mw), int32(-mw + 1), -1, 1, int32(mw - 1), int32(mw), int32(mw + 1)}
	lengths := sc.lengths[:0]
	stack := sc.stack[:0]
	for _, p := range ps {
		start := (p.y+1)*int32(mw) + p.x + 1
		if m[start] == 0 {
			continue // already part of a segment
		}
		m[start] = 0 // visited pixels are cleared
		stack = append(stack[:0], start)
		count := 0
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			count++
			for _, d := range nb {
				if m[p+d] != 0 {
					m[p+d] = 0
					stack = append(stack, p+d)
				}
			}
		}
		lengths = append(lengths, count)
	}
	sc.stack, sc.lengths = stack, lengths
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

// edgeAngleHist histograms the Sobel gradient orientation over edge
// pixels, computing the 3x3 Sobel (OpenCV's kernels, BORDER_REFLECT_101,
// exact in integers as in CV_16S) at those pixels only.
func (f *frame) edgeAngleHist() ([histBins]float64, error) {
	if f.edgeAngle == nil {
		e, err := f.edgeMap()
		if err != nil {
			return [histBins]float64{}, err
		}
		var h [histBins]float64
		for i, n := range angleCounts(e.smooth, e.w, e.h, e.px) {
			h[i] = float64(n)
		}
		normalise(&h, float64(len(e.px)))
		f.edgeAngle = &h
		f.computed(productEdgeAngles)
	}
	return *f.edgeAngle, nil
}

// angleCounts counts the edge pixels ps of a w x h smoothed luma by
// gradient orientation bin: the 3x3 Sobel inline for interior pixels,
// sobelAt on the border.
func angleCounts(sm []byte, w, h int, ps []edgePx) [histBins]int {
	cs := angleBounds()
	var n [histBins]int
	for _, p := range ps {
		x, y := int(p.x), int(p.y)
		var gx, gy int
		if x > 0 && y > 0 && x < w-1 && y < h-1 {
			i := y*w + x
			u, d := sm[i-w-1:i-w+2:i-w+2], sm[i+w-1:i+w+2:i+w+2]
			l, r := int(sm[i-1]), int(sm[i+1])
			gx = int(u[2]) + 2*r + int(d[2]) - int(u[0]) - 2*l - int(d[0])
			gy = int(d[0]) + 2*int(d[1]) + int(d[2]) - int(u[0]) - 2*int(u[1]) - int(u[2])
		} else {
			gx, gy = sobelAt(sm, w, h, x, y)
		}
		n[angleBinOf(gx, gy, &cs)]++
	}
	return n
}

// sobelAt is cv::Sobel(ksize 3, dx or dy 1, BORDER_REFLECT_101) of a w x h
// 8-bit image at (x, y).
func sobelAt(px []byte, w, h, x, y int) (gx, gy int) {
	xl, xr, yu, yd := x-1, x+1, y-1, y+1
	if x == 0 || x == w-1 || y == 0 || y == h-1 {
		xl, xr, yu, yd = reflect101(xl, w), reflect101(xr, w), reflect101(yu, h), reflect101(yd, h)
	}
	u, c, d := yu*w, y*w, yd*w
	gx = int(px[u+xr]) + 2*int(px[c+xr]) + int(px[d+xr]) - int(px[u+xl]) - 2*int(px[c+xl]) - int(px[d+xl])
	gy = int(px[d+xl]) + 2*int(px[d+x]) + int(px[d+xr]) - int(px[u+xl]) - 2*int(px[u+x]) - int(px[u+xr])
	return gx, gy
}

// reflect101 is OpenCV's borderInterpolate for BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba).
func reflect101(p, n int) int {
	if n == 1 {
		return 0
	}
	for p < 0 || p >= n {
		if p < 0 {
			p = -p
		} else {
			p = 2*n - 2 - p
		}
	}
	return p
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
// the definition says (atan2(gy, gx) mod 180°) without atan2: after turning
// the gradient into the upper half plane, θ ≥ b exactly when the cross
// product of (cos b, sin b) and (gx, gy) is not negative. A zero gradient
// is bin 0 (atan2(0, 0) = 0). The bin is the number of edges crossed,
// each comparison added rather than branched on: textured images make the
// gradient's direction unpredictable (this halved the angle histogram's
// time on imagenet-val-dev).
func angleBinOf(gx, gy int, cs *[histBins - 1][2]float64) int {
	if gx == 0 && gy == 0 {
		return 0
	}
	// Negate when gy < 0, or gy = 0 and gx < 0: m is -1 then, else 0.
	nz := (gy | -gy) >> 63
	m := (gy>>63)&nz | (gx>>63)&^nz
	fx, fy := float64((gx^m)-m), float64((gy^m)-m)
	return b2i(fy*cs[0][0]-fx*cs[0][1] >= 0) + b2i(fy*cs[1][0]-fx*cs[1][1] >= 0) +
		b2i(fy*cs[2][0]-fx*cs[2][1] >= 0) + b2i(fy*cs[3][0]-fx*cs[3][1] >= 0) +
		b2i(fy*cs[4][0]-fx*cs[4][1] >= 0) + b2i(fy*cs[5][0]-fx*cs[5][1] >= 0)
}

// b2i is 1 for true; the compiler makes it a flag move, not a branch.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
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
