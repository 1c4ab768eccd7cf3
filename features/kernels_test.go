package features

import (
	"bytes"
	"image"
	"testing"

	"gocv.io/x/gocv"
)

// TestKernelsMatchGocv checks each one-call kernel against the gocv calls
// it replaced, on busy synthetic scenes of several shapes (odd, tiny,
// one-pixel sides) and on uniform images: equal counts, equal contour
// measures, equal maps byte for byte.
func TestKernelsMatchGocv(t *testing.T) {
	sizes := [][2]int{{1, 1}, {3, 1}, {1, 5}, {7, 9}, {31, 17}, {64, 48}, {128, 96}, {96, 128}, {128, 128}}
	for _, sz := range sizes {
		for seed := uint64(1); seed <= 3; seed++ {
			w, h := sz[0], sz[1]
			img := scene(t, w, h, seed)
			if seed == 3 {
				img.Close()
				img = solid(w, h, 40, 80, 120)
			}
			g := gocv.NewMat()
			gocv.CvtColor(img, &g, gocv.ColorBGRToGray)
			img.Close()
			px, err := g.DataPtrUint8()
			if err != nil {
				t.Fatal(err)
			}
			gray := append([]byte(nil), px...)

			det := gocv.NewFastFeatureDetectorWithParams(fastThreshold, fastNonmax, gocv.FastFeatureDetectorType916)
			want := len(det.Detect(g))
			det.Close()
			if got, err := fastCount(gray, w, h, fastThreshold, fastNonmax); err != nil || got != want {
				t.Errorf("%dx%d seed %d: FAST count %d (%v), gocv %d", w, h, seed, got, err, want)
			}

			wf, wa, wp, wbw, wbh := gocvMainObject(t, g)
			found, area, perim, bw, bh, err := objectOf(gray, w, h)
			if err != nil || found != wf || area != wa || perim != wp || bw != wbw || bh != wbh {
				t.Errorf("%dx%d seed %d: object %v %v %v %dx%d (%v), gocv %v %v %v %dx%d",
					w, h, seed, found, area, perim, bw, bh, err, wf, wa, wp, wbw, wbh)
			}

			s, e := gocv.NewMat(), gocv.NewMat()
			gocv.GaussianBlur(g, &s, image.Pt(3, 3), 0, 0, gocv.BorderDefault)
			gocv.Canny(s, &e, cannyLow, cannyHigh)
			ws, _ := s.DataPtrUint8()
			we, _ := e.DataPtrUint8()
			smooth, edges := make([]byte, w*h), make([]byte, w*h)
			if err := cannyInto(gray, w, h, smooth, edges); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(smooth, ws) || !bytes.Equal(edges, we) {
				t.Errorf("%dx%d seed %d: smoothed luma or Canny map differs from gocv's", w, h, seed)
			}
			s.Close()
			e.Close()
			g.Close()
		}
	}
}

// gocvMainObject is the main object as the gocv calls found it before the
// kernel: 5x5 Gaussian, Otsu, the border rule, external contours, the
// largest by area.
func gocvMainObject(t *testing.T, g gocv.Mat) (found bool, area, perim float64, bw, bh int) {
	t.Helper()
	blur, mask := gocv.NewMat(), gocv.NewMat()
	defer blur.Close()
	defer mask.Close()
	gocv.GaussianBlur(g, &blur, image.Pt(5, 5), 0, 0, gocv.BorderDefault)
	gocv.Threshold(blur, &mask, 0, 255, gocv.ThresholdBinary|gocv.ThresholdOtsu)
	px, err := mask.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	w, h := mask.Cols(), mask.Rows()
	bright, total := 0, 0
	for y := range h {
		for x := range w {
			if y == 0 || y == h-1 || x == 0 || x == w-1 {
				total++
				if px[y*w+x] != 0 {
					bright++
				}
			}
		}
	}
	if 2*bright > total {
		gocv.BitwiseNot(mask, &mask)
	}
	cs := gocv.FindContours(mask, gocv.RetrievalExternal, gocv.ChainApproxSimple)
	defer cs.Close()
	best := -1
	for i := 0; i < cs.Size(); i++ {
		if a := gocv.ContourArea(cs.At(i)); a > area || best < 0 {
			best, area = i, a
		}
	}
	if best < 0 {
		return false, 0, 0, 0, 0
	}
	c := cs.At(best)
	r := gocv.BoundingRect(c)
	return true, area, gocv.ArcLength(c, true), r.Dx(), r.Dy()
}

// TestKernelsRejectShortBuffers checks the size guard in front of OpenCV.
func TestKernelsRejectShortBuffers(t *testing.T) {
	if _, err := fastCount(make([]byte, 10), 4, 4, fastThreshold, true); err == nil {
		t.Error("fastCount accepted 10 bytes for 4x4")
	}
	if _, _, _, _, _, err := objectOf(nil, 2, 2); err == nil {
		t.Error("objectOf accepted no pixels")
	}
	if err := cannyInto(make([]byte, 16), 4, 4, make([]byte, 16), make([]byte, 15)); err == nil {
		t.Error("cannyInto accepted a 15-byte edge map for 4x4")
	}
}
