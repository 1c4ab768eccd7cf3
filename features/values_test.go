package features

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gocv.io/x/gocv"
)

func TestUniformImage(t *testing.T) {
	for _, c := range []struct {
		name    string
		b, g, r uint8
	}{{"grey", 128, 128, 128}, {"black", 0, 0, 0}, {"white", 255, 255, 255}, {"orange", 0, 128, 255}} {
		t.Run(c.name, func(t *testing.T) {
			img := solid(160, 120, c.b, c.g, c.r)
			defer img.Close()
			v := extractAll(t, img, Options{})
			if v["contrast"] != 0 {
				t.Errorf("contrast %v, want 0", v["contrast"])
			}
			// RMS equals the mean exactly when there is no variation.
			if !near(v["brightness_rms"], v["avg_brightness"], 1e-12) ||
				!near(v["perceived_brightness_rms"], v["avg_perceived_brightness"], 1e-12) {
				t.Errorf("rms %v/%v differ from means %v/%v", v["brightness_rms"], v["perceived_brightness_rms"],
					v["avg_brightness"], v["avg_perceived_brightness"])
			}
			if v["n_keypoints"] != 0 {
				t.Errorf("n_keypoints %v, want 0", v["n_keypoints"])
			}
			if s := sum(bins(v, "edge_length")) + sum(bins(v, "edge_angle")); s != 0 {
				t.Errorf("edge histograms sum to %v, want all zero", s)
			}
			if v["area_by_perim"] != 0 || v["aspect_ratio"] != 0 {
				t.Errorf("main object %v/%v, want none (0/0)", v["area_by_perim"], v["aspect_ratio"])
			}
		})
	}
}

func TestBrightnessValues(t *testing.T) {
	red := solid(40, 30, 0, 0, 255)
	defer red.Close()
	v := extractAll(t, red, Options{})
	if want := 76.0 / 255; !near(v["avg_brightness"], want, 1e-12) { // round(0.299*255) = 76
		t.Errorf("avg_brightness of red %v, want %v", v["avg_brightness"], want)
	}
	if want := math.Sqrt(0.299); !near(v["avg_perceived_brightness"], want, 1e-12) {
		t.Errorf("avg_perceived_brightness of red %v, want %v", v["avg_perceived_brightness"], want)
	}
	// Half black, half white: luma mean 0.5, RMS sqrt(0.5), contrast 0.5.
	half := fromFunc(t, 64, 32, func(x, _ int) (uint8, uint8, uint8) {
		if x < 32 {
			return 0, 0, 0
		}
		return 255, 255, 255
	})
	defer half.Close()
	v = extractAll(t, half, Options{})
	for name, want := range map[string]float64{
		"avg_brightness": 0.5, "brightness_rms": math.Sqrt(0.5), "contrast": 0.5,
		"avg_perceived_brightness": 0.5, "perceived_brightness_rms": math.Sqrt(0.5),
	} {
		if !near(v[name], want, 1e-9) {
			t.Errorf("%s = %v, want %v", name, v[name], want)
		}
	}
}

func TestPureHueFillsOneBin(t *testing.T) {
	// OpenCV hues away from bin edges (12.9, 38.6, 64.3, 90, 115.7, 141.4, 167.1).
	for _, h := range []uint8{0, 5, 25, 30, 50, 60, 70, 80, 100, 120, 130, 150, 160, 175} {
		hsv := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(h), 255, 255, 0), 48, 64, gocv.MatTypeCV8UC3)
		bgr := gocv.NewMat()
		gocv.CvtColor(hsv, &bgr, gocv.ColorHSVToBGR)
		v := extractAll(t, bgr, Options{})
		hsv.Close()
		bgr.Close()
		hb := bins(v, "hue")
		want := hueBinOf(h)
		for i, x := range hb {
			if (i == want && x != 1) || (i != want && x != 0) {
				t.Errorf("hue %d: bins %v, want all in hue%d", h, hb, want+1)
				break
			}
		}
	}
	// Grey, dark and pale pixels carry no hue.
	for _, c := range [][3]uint8{{128, 128, 128}, {0, 0, 20}, {200, 210, 230}} {
		img := solid(32, 32, c[0], c[1], c[2])
		v := extractAll(t, img, Options{})
		img.Close()
		if s := sum(bins(v, "hue")); s != 0 {
			t.Errorf("achromatic BGR %v: hue bins sum %v, want 0", c, s)
		}
	}
	// Half red, half grey: a per-pixel rate, so hue1 = 0.5.
	img := fromFunc(t, 64, 64, func(x, _ int) (uint8, uint8, uint8) {
		if x < 32 {
			return 0, 0, 255
		}
		return 128, 128, 128
	})
	defer img.Close()
	if v := extractAll(t, img, Options{}); v["hue1"] != 0.5 {
		t.Errorf("half red: hue1 %v, want 0.5", v["hue1"])
	}
}

func TestHueBinEdges(t *testing.T) {
	// Red straddles the wrap: both ends of the hue circle fall in bin 0.
	for h, want := range map[uint8]int{0: 0, 12: 0, 13: 1, 38: 1, 39: 2, 89: 3, 90: 4, 167: 6, 168: 0, 179: 0} {
		if got := hueBinOf(h); got != want {
			t.Errorf("hueBinOf(%d) = %d, want %d", h, got, want)
		}
	}
}

func TestFilledRectangle(t *testing.T) {
	const W, H, L = 120, 60, 240 // rectangle and image longest side
	// The contour runs through the centres of the border pixels, so a W x H
	// block has area (W-1)(H-1) and perimeter 2(W-1)+2(H-1).
	wantABP := float64((W-1)*(H-1)) / float64(2*(W-1)+2*(H-1)) / L
	for _, c := range []struct {
		name   string
		bg, fg uint8
		w, h   int
	}{
		{"bright on dark", 20, 230, W, H},
		{"dark on bright", 230, 20, W, H},
		{"tall", 20, 230, H, W},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := solid(L, 180, c.bg, c.bg, c.bg)
			defer img.Close()
			gocv.Rectangle(&img, image.Rect(50, 40, 50+c.w, 40+c.h), color.RGBA{c.fg, c.fg, c.fg, 0}, -1)
			v := extractAll(t, img, Options{MaxSide: 256}) // unshrunk: exact geometry
			want := float64(c.w) / float64(c.h)
			if !near(v["aspect_ratio"], want, 0.02*want) {
				t.Errorf("aspect_ratio %v, want %v", v["aspect_ratio"], want)
			}
			if !near(v["area_by_perim"], wantABP, 0.03*wantABP) {
				t.Errorf("area_by_perim %v, want %v", v["area_by_perim"], wantABP)
			}
			// One closed rectangle outline: a single long edge segment.
			if v["edge_length7"] != 1 {
				t.Errorf("edge lengths %v, want one segment in bin 7", bins(v, "edge_length"))
			}
		})
	}
}

// halfPlane draws a straight edge through the centre whose gradient (dark to
// bright) points at theta degrees (x right, y down).
func halfPlane(t *testing.T, size int, theta float64) gocv.Mat {
	t.Helper()
	s, c := math.Sincos(theta * math.Pi / 180)
	mid := float64(size-1) / 2
	return fromFunc(t, size, size, func(x, y int) (uint8, uint8, uint8) {
		if (float64(x)-mid)*c+(float64(y)-mid)*s > 0 {
			return 200, 200, 200
		}
		return 40, 40, 40
	})
}

func TestRotatedEdgeMovesAngleBin(t *testing.T) {
	w := 180.0 / histBins
	for k := range histBins {
		for _, theta := range []float64{(float64(k) + 0.5) * w, (float64(k)+0.5)*w + 180} {
			img := halfPlane(t, 200, theta)
			v := extractAll(t, img, Options{})
			img.Close()
			ab := bins(v, "edge_angle")
			if !near(sum(ab), 1, 1e-9) {
				t.Fatalf("theta %.1f: angle bins %v do not sum to 1", theta, ab)
			}
			if ab[k] < 0.8 {
				t.Errorf("theta %.1f: angle bins %v, want most in edge_angle%d", theta, ab, k+1)
			}
		}
	}
	// The named cases: a vertical edge is 0°, a horizontal one 90°.
	vertical, horizontal := halfPlane(t, 100, 0), halfPlane(t, 100, 90)
	defer vertical.Close()
	defer horizontal.Close()
	if v := extractAll(t, vertical, Options{}); v["edge_angle1"] != 1 {
		t.Errorf("vertical edge: %v, want all in edge_angle1", bins(v, "edge_angle"))
	}
	if v := extractAll(t, horizontal, Options{}); v["edge_angle4"] != 1 {
		t.Errorf("horizontal edge: %v, want all in edge_angle4", bins(v, "edge_angle"))
	}
}

func TestEdgeLengthBins(t *testing.T) {
	for _, c := range []struct{ length, long, bin int }{
		{1, 256, 0}, {3, 256, 0}, {4, 256, 1}, {7, 256, 1}, {8, 256, 2}, {31, 256, 3},
		{32, 256, 4}, {64, 256, 5}, {127, 256, 5}, {128, 256, 6}, {1000, 256, 6},
		{1, 32, 2}, {16, 32, 6}, // small images: relative lengths
	} {
		if got := edgeLengthBin(c.length, c.long); got != c.bin {
			t.Errorf("edgeLengthBin(%d, %d) = %d, want %d", c.length, c.long, got, c.bin)
		}
	}
	// Shapes with outlines of known length on a 256 px image: ten single
	// pixels, which the blur and Canny turn into 9-pixel rings (bin 3: 8..16
	// px), and five 25x25 squares, outlined by about 4·25 = 100 px (bin 6:
	// 64..128 px).
	img := solid(256, 256, 0, 0, 0)
	defer img.Close()
	white := color.RGBA{255, 255, 255, 0}
	for i := range 10 {
		gocv.Rectangle(&img, image.Rect(10+20*i, 20, 10+20*i+1, 21), white, -1)
	}
	for i := range 5 {
		gocv.Rectangle(&img, image.Rect(10+45*i, 120, 10+45*i+25, 145), white, -1) // 25x25 square
	}
	v := extractAll(t, img, Options{MaxSide: 256}) // unshrunk: exact geometry
	lb := bins(v, "edge_length")
	if !near(sum(lb), 1, 1e-9) {
		t.Fatalf("length bins %v do not sum to 1", lb)
	}
	if !near(lb[2], 10.0/15, 1e-9) || !near(lb[5], 5.0/15, 1e-9) {
		t.Errorf("length bins %v, want 10/15 in bin 3 and 5/15 in bin 6", lb)
	}
}

func TestKeypointsOnCorners(t *testing.T) {
	// Separate squares have four FAST corners each (a checkerboard would
	// not: at its X-junctions no 9 contiguous circle pixels are all brighter
	// or all darker); a smooth ramp has none.
	board := solid(128, 128, 20, 20, 20)
	for i := range 4 {
		for j := range 4 {
			gocv.Rectangle(&board, image.Rect(8+30*i, 8+30*j, 8+30*i+16, 8+30*j+16), color.RGBA{230, 230, 230, 0}, -1)
		}
	}
	defer board.Close()
	ramp := fromFunc(t, 128, 128, func(x, _ int) (uint8, uint8, uint8) { v := uint8(x * 2); return v, v, v })
	defer ramp.Close()
	if n := extractAll(t, board, Options{})["n_keypoints"]; n != 64 {
		t.Errorf("16 squares: n_keypoints %v, want 64", n)
	}
	if n := extractAll(t, ramp, Options{})["n_keypoints"]; n != 0 {
		t.Errorf("ramp n_keypoints %v, want 0", n)
	}
}

func TestInputTypes(t *testing.T) {
	bgr := scene(t, 120, 90, 5)
	defer bgr.Close()
	gray, grayBGR, bgra := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer gray.Close()
	defer grayBGR.Close()
	defer bgra.Close()
	gocv.CvtColor(bgr, &gray, gocv.ColorBGRToGray)
	gocv.CvtColor(gray, &grayBGR, gocv.ColorGrayToBGR)
	gocv.CvtColor(bgr, &bgra, gocv.ColorBGRToBGRA)
	equal := func(a, b map[string]float64, what string) {
		for _, n := range Names() {
			if a[n] != b[n] {
				t.Errorf("%s: %s %v != %v", what, n, a[n], b[n])
			}
		}
	}
	equal(extractAll(t, gray, Options{}), extractAll(t, grayBGR, Options{}), "grey vs grey as BGR")
	equal(extractAll(t, bgra, Options{}), extractAll(t, bgr, Options{}), "BGRA vs BGR")
	// A Region is not continuous; it must give the values of its copy.
	roi := bgr.Region(image.Rect(10, 10, 70, 60))
	defer roi.Close()
	cp := roi.Clone()
	defer cp.Close()
	equal(extractAll(t, roi, Options{}), extractAll(t, cp, Options{}), "region vs copy")

	ex, _ := NewExtractor(nil, Options{})
	for _, bad := range []gocv.Mat{gocv.NewMat(), gocv.NewMatWithSize(10, 10, gocv.MatTypeCV32FC3)} {
		if _, err := ex.Extract(bad); err == nil {
			t.Errorf("Extract accepted type %v empty=%v", bad.Type(), bad.Empty())
		}
		bad.Close()
	}
}

func TestTinyImages(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {2, 2}, {3, 5}} {
		img := scene(t, sz[0], sz[1], 9)
		v := extractAll(t, img, Options{})
		img.Close()
		for n, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Errorf("%dx%d: %s = %v", sz[0], sz[1], n, x)
			}
		}
	}
}

func TestDownscale(t *testing.T) {
	big := scene(t, 1024, 768, 11)
	defer big.Close()
	work, err := workingImage(big, 256)
	if err != nil {
		t.Fatal(err)
	}
	if work.Cols() != 256 || work.Rows() != 192 {
		t.Errorf("working image %dx%d, want 256x192", work.Cols(), work.Rows())
	}
	work.Close()
	// The same scene shrunk beforehand by another method (INTER_AREA) gives
	// nearly the same global features: the pyramid + bilinear shrink does
	// not alias. Shape features move a little more (the Otsu mask's border
	// shifts by a pixel here and there).
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(big, &small, image.Pt(256, 192), 0, 0, gocv.InterpolationArea)
	a, b := extractAll(t, big, Options{MaxSide: 256}), extractAll(t, small, Options{MaxSide: 256})
	for _, n := range []string{"avg_brightness", "contrast", "avg_perceived_brightness", "hue1", "hue5"} {
		if !near(a[n], b[n], 0.005) {
			t.Errorf("%s: %v at 1024 px vs %v at 256 px", n, a[n], b[n])
		}
	}
	for _, n := range []string{"aspect_ratio", "area_by_perim"} {
		if !near(a[n], b[n], 0.08*b[n]) {
			t.Errorf("%s: %v at 1024 px vs %v at 256 px", n, a[n], b[n])
		}
	}
	// MaxSide changes the working size.
	ex, _ := NewExtractor([]string{"n_keypoints"}, Options{MaxSide: 512})
	if _, err := ex.Extract(big); err != nil {
		t.Fatal(err)
	}
}

func TestNoiseIsFiniteAndNormalised(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5 {
		img := fromFunc(t, 100+i*31, 80+i*17, func(int, int) (uint8, uint8, uint8) {
			return uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256))
		})
		v := extractAll(t, img, Options{})
		img.Close()
		for n, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				t.Errorf("%s = %v", n, x)
			}
		}
		if !near(sum(bins(v, "edge_length")), 1, 1e-9) || !near(sum(bins(v, "edge_angle")), 1, 1e-9) {
			t.Errorf("edge histograms do not sum to 1: %v %v", bins(v, "edge_length"), bins(v, "edge_angle"))
		}
		if s := sum(bins(v, "hue")); s > 1+1e-9 || s == 0 {
			t.Errorf("hue bins sum %v, want (0,1]", s)
		}
	}
}

// TestSegmentLengthsMatchOpenCV checks the Go labelling against OpenCV's
// connectedComponentsWithStats on real edge maps.
func TestSegmentLengthsMatchOpenCV(t *testing.T) {
	for seed := range uint64(4) {
		img := scene(t, 150+int(seed)*40, 120, seed)
		if seed%2 == 1 { // speckle: hundreds of small segments
			rng := rand.New(rand.NewPCG(seed, 3))
			img.Close()
			img = fromFunc(t, 160, 100, func(int, int) (uint8, uint8, uint8) {
				v := uint8(rng.IntN(2) * 200)
				return v, v, v
			})
		}
		f := newFrame(img, nil)
		e, err := f.edgeMap()
		if err != nil {
			t.Fatal(err)
		}
		px := make([]byte, e.w*e.h) // 0/1
		for _, p := range e.px {
			px[int(p.y)*e.w+int(p.x)] = 1
		}
		got := segmentLengths(px, img.Cols())
		edges := edgeMat(t, px, img.Cols(), img.Rows())
		defer edges.Close()
		labels, stats, centroids := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
		n := gocv.ConnectedComponentsWithStatsWithParams(edges, &labels, &stats, &centroids, 8, gocv.MatTypeCV32S, gocv.CCL_DEFAULT)
		var want []int
		for l := 1; l < n; l++ {
			want = append(want, int(stats.GetIntAt(l, int(gocv.CC_STAT_AREA))))
		}
		labels.Close()
		stats.Close()
		centroids.Close()
		f.close()
		img.Close()
		// The label order differs (OpenCV's block-based scan); the lengths agree.
		slices.Sort(got)
		slices.Sort(want)
		if len(got) < 5 || !slices.Equal(got, want) {
			t.Errorf("seed %d: sorted Go lengths %v\nOpenCV %v", seed, got, want)
		}
	}
}

// edgeMat turns a 0/1 edge map into an 8-bit Mat with 255 on edges.
func edgeMat(t *testing.T, px []byte, w, h int) gocv.Mat {
	t.Helper()
	b := make([]byte, len(px))
	for i, v := range px {
		b[i] = v * 255
	}
	m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8U, b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAngleBinOfMatchesDefinition compares the atan2-free bin with the
// definition on every integer gradient a 3x3 Sobel of 8-bit data can give
// (|gx|, |gy| <= 4*255).
func TestAngleBinOfMatchesDefinition(t *testing.T) {
	cs := angleBounds()
	for gx := -1020; gx <= 1020; gx++ {
		for gy := -1020; gy <= 1020; gy++ {
			if got, want := angleBinOf(gx, gy, &cs), angleBin(float64(gx), float64(gy)); got != want {
				t.Fatalf("gradient (%d, %d): bin %d, definition %d", gx, gy, got, want)
			}
		}
	}
}

// angleBin maps a gradient to its orientation bin over [0°, 180°): the
// definition, which angleBinOf computes faster.
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

// TestSobelAtMatchesOpenCV compares the per-pixel Sobel with cv::Sobel
// (CV_16S, ksize 3, BORDER_DEFAULT) at every pixel of random images,
// borders and one- and two-pixel sides included.
func TestSobelAtMatchesOpenCV(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {2, 2}, {2, 9}, {13, 11}, {64, 48}} {
		w, h := sz[0], sz[1]
		px := make([]byte, w*h)
		for i := range px {
			px[i] = uint8(rng.IntN(256))
		}
		m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8U, px)
		if err != nil {
			t.Fatal(err)
		}
		gx, gy := gocv.NewMat(), gocv.NewMat()
		gocv.Sobel(m, &gx, gocv.MatTypeCV16S, 1, 0, 3, 1, 0, gocv.BorderDefault)
		gocv.Sobel(m, &gy, gocv.MatTypeCV16S, 0, 1, 3, 1, 0, gocv.BorderDefault)
		dx, _ := gx.DataPtrInt16()
		dy, _ := gy.DataPtrInt16()
		for y := range h {
			for x := range w {
				if a, b := sobelAt(px, w, h, x, y); a != int(dx[y*w+x]) || b != int(dy[y*w+x]) {
					t.Fatalf("%dx%d at (%d,%d): (%d,%d), OpenCV (%d,%d)", w, h, x, y, a, b, dx[y*w+x], dy[y*w+x])
				}
			}
		}
		m.Close()
		gx.Close()
		gy.Close()
	}
}
