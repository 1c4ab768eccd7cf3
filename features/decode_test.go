package features

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"testing"

	"gocv.io/x/gocv"
)

// encode encodes img with OpenCV (ext ".jpg", ".png", ".bmp", ".tiff", ...).
func encode(t testing.TB, ext string, img gocv.Mat) []byte {
	t.Helper()
	buf, err := gocv.IMEncode(gocv.FileExt(ext), img)
	if err != nil {
		t.Fatalf("encode %s: %v", ext, err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

func mustDecode(t *testing.T, data []byte) gocv.Mat {
	t.Helper()
	m, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type() != gocv.MatTypeCV8UC3 {
		t.Fatalf("decoded type %v, want 8UC3", m.Type())
	}
	return m
}

func TestDecodeRejectsBadInput(t *testing.T) {
	img := scene(t, 64, 48, 2)
	defer img.Close()
	jpg, png := encode(t, ".jpg", img), encode(t, ".png", img)
	cases := map[string][]byte{
		"empty":            nil,
		"garbage":          []byte("this is not an image at all"),
		"jpeg magic only":  {0xFF, 0xD8, 0xFF},
		"truncated jpeg":   jpg[:len(jpg)/2],
		"jpeg without EOI": jpg[:len(jpg)-2],
		"truncated png":    png[:len(png)/2],
		"png without IEND": png[:len(png)-12],
		"png magic only":   png[:8],
		"bad jpeg header":  badPrecision(jpg),
		"huge png header":  pngWithHeader(100000, 100000),
		"zero-size png":    pngWithHeader(0, 10),
		"huge jpeg header": jpegWithSize(jpg, 65000, 65000),
	}
	for name, data := range cases {
		m, err := Decode(data)
		if err == nil {
			m.Close()
			t.Errorf("%s: decoded without error", name)
			continue
		}
		if !errors.Is(err, ErrDecode) {
			t.Errorf("%s: error %v does not wrap ErrDecode", name, err)
		}
	}
	if _, err := DecodeFile(filepath.Join(t.TempDir(), "missing.jpg")); err == nil || errors.Is(err, ErrDecode) {
		t.Errorf("missing file: err = %v, want an I/O error", err)
	}
	ex, _ := NewExtractor(nil, Options{})
	if _, err := ex.ExtractBytes(jpg[:len(jpg)/2]); !errors.Is(err, ErrDecode) {
		t.Errorf("ExtractBytes of a truncated JPEG: %v", err)
	}
}

// badPrecision sets the SOF0 sample precision to 3 bits, which libjpeg
// refuses. (Damage inside the entropy-coded data cannot be caught: libjpeg
// warns, resynchronises and returns an image, as it does for any decoder.)
func badPrecision(jpg []byte) []byte {
	out := append([]byte(nil), jpg...)
	for i := 2; i+4 < len(out); i++ {
		if out[i] == 0xFF && out[i+1] == 0xC0 {
			out[i+4] = 3
			break
		}
	}
	return out
}

// pngWithHeader builds a PNG of IHDR (8-bit RGB) and IEND only.
func pngWithHeader(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		b = append(b, typ...)
		b = append(b, data...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	return append(out, chunk("IEND", nil)...)
}

// jpegWithSize rewrites the SOF0 frame size of a baseline JPEG.
func jpegWithSize(jpg []byte, w, h uint16) []byte {
	out := append([]byte(nil), jpg...)
	for i := 2; i+9 < len(out); i++ {
		if out[i] == 0xFF && out[i+1] == 0xC0 {
			binary.BigEndian.PutUint16(out[i+5:], h)
			binary.BigEndian.PutUint16(out[i+7:], w)
			break
		}
	}
	return out
}

func TestDecodeFormats(t *testing.T) {
	img := scene(t, 64, 48, 4)
	defer img.Close()

	// Lossless formats round-trip exactly.
	for _, ext := range []string{".png", ".bmp", ".tiff"} {
		m := mustDecode(t, encode(t, ext, img))
		if !matsEqual(m, img) {
			t.Errorf("%s round trip changed pixels", ext)
		}
		m.Close()
	}
	// JPEG with bytes after EOI (cameras append such trailers) still decodes.
	jpg := encode(t, ".jpg", img)
	m := mustDecode(t, append(append([]byte(nil), jpg...), []byte("trailing camera data \xff\xd8")...))
	m.Close()
	// Damage inside the scan decodes (libjpeg resynchronises): no crash.
	damaged := append([]byte(nil), jpg...)
	for i := len(damaged) / 2; i < len(damaged)/2+64; i++ {
		damaged[i] = 0
	}
	if m, err := Decode(damaged); err == nil {
		m.Close()
	}

	// Grayscale PNG becomes BGR with equal channels.
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(img, &gray, gocv.ColorBGRToGray)
	m = mustDecode(t, encode(t, ".png", gray))
	if p := m.GetVecbAt(10, 10); p[0] != p[1] || p[1] != p[2] || p[0] != gray.GetUCharAt(10, 10) {
		t.Errorf("grey PNG pixel %v, want all %d", p, gray.GetUCharAt(10, 10))
	}
	m.Close()

	// PNG with a (half-transparent) alpha channel: alpha is dropped, colour kept.
	bgra := gocv.NewMat()
	defer bgra.Close()
	gocv.CvtColor(img, &bgra, gocv.ColorBGRToBGRA)
	gocv.Rectangle(&bgra, image.Rect(0, 0, 64, 24), color.RGBA{10, 200, 30, 128}, -1)
	m = mustDecode(t, encode(t, ".png", bgra))
	if p := m.GetVecbAt(5, 5); p[0] != 30 || p[1] != 200 || p[2] != 10 { // gocv draws RGBA as B,G,R
		t.Errorf("alpha PNG pixel BGR %v, want [30 200 10]", p)
	}
	m.Close()

	// 16-bit PNG is reduced to 8 bits.
	deep := gocv.NewMat()
	defer deep.Close()
	img.ConvertToWithParams(&deep, gocv.MatTypeCV16UC3, 257, 0)
	m = mustDecode(t, encode(t, ".png", deep))
	if !matsEqual(m, img) {
		t.Error("16-bit PNG did not decode to the 8-bit original")
	}
	m.Close()
}

// TestDecodeCMYK decodes testdata/cmyk.jpg, a 32x32 Adobe CMYK JPEG of
// C=0 M=100% Y=100% K=0 (pure red), written by ImageMagick 6.
func TestDecodeCMYK(t *testing.T) {
	m, err := DecodeFile(filepath.Join("testdata", "cmyk.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Cols() != 32 || m.Rows() != 32 || m.Type() != gocv.MatTypeCV8UC3 {
		t.Fatalf("CMYK JPEG decoded to %dx%d type %v", m.Cols(), m.Rows(), m.Type())
	}
	p := m.GetVecbAt(16, 16)
	if b, g, r := p[0], p[1], p[2]; r < 200 || g > 60 || b > 60 {
		t.Errorf("CMYK red decoded to BGR (%d,%d,%d)", b, g, r)
	}
	v := extractAll(t, m, Options{})
	if v["hue1"] != 1 {
		t.Errorf("CMYK red: hue bins %v, want all in hue1", bins(v, "hue"))
	}
}

func TestDecodeMaxReducesJPEG(t *testing.T) {
	for _, c := range []struct{ w, h, maxSide, wantW, wantH int }{
		{2048, 1536, 256, 256, 192}, // 1/8
		{1100, 800, 256, 275, 200},  // 1100/4 = 275 ≥ 256: 1/4
		{1000, 800, 256, 500, 400},  // 1000/4 = 250 < 256: 1/2
		{500, 375, 256, 500, 375},   // full
	} {
		img := scene(t, c.w, c.h, 8)
		jpg := encode(t, ".jpg", img)
		img.Close()
		m, err := DecodeMax(jpg, c.maxSide)
		if err != nil {
			t.Fatal(err)
		}
		if m.Cols() != c.wantW || m.Rows() != c.wantH {
			t.Errorf("%dx%d at max side %d decoded to %dx%d, want %dx%d", c.w, c.h, c.maxSide, m.Cols(), m.Rows(), c.wantW, c.wantH)
		}
		m.Close()
	}
	if _, err := DecodeMax([]byte{1}, 0); err == nil {
		t.Error("DecodeMax accepted maxSide 0")
	}
}

// TestHugeImage decodes and extracts a 12000x12000 JPEG: the reduced decode
// keeps it at 1500x1500, and extraction from the full-size Mat works too.
func TestHugeImage(t *testing.T) {
	if testing.Short() {
		t.Skip("12000x12000 image: skipped in -short mode")
	}
	const side = 12000
	big := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(60, 60, 60, 0), side, side, gocv.MatTypeCV8UC1)
	gocv.Rectangle(&big, image.Rect(2000, 3000, 9000, 7000), color.RGBA{220, 220, 220, 0}, -1)
	gocv.Circle(&big, image.Pt(6000, 9500), 1500, color.RGBA{140, 140, 140, 0}, -1)
	jpg := encode(t, ".jpg", big)

	m, err := DecodeMax(jpg, DefaultMaxSide)
	if err != nil {
		big.Close()
		t.Fatal(err)
	}
	if m.Cols() != side/8 || m.Rows() != side/8 {
		t.Errorf("reduced decode %dx%d, want %dx%d", m.Cols(), m.Rows(), side/8, side/8)
	}
	m.Close()

	ex, _ := NewExtractor(nil, Options{})
	viaBytes, err := ex.ExtractBytes(jpg)
	if err != nil {
		big.Close()
		t.Fatal(err)
	}
	viaMat, err := ex.Extract(big)
	big.Close()
	if err != nil {
		t.Fatal(err)
	}
	worst, worstName := 0.0, ""
	for i, n := range ex.Names() {
		if math.IsNaN(viaBytes[i]) || math.IsNaN(viaMat[i]) {
			t.Errorf("%s not finite", n)
		}
		if d := math.Abs(viaBytes[i] - viaMat[i]); d > worst && n != "n_keypoints" {
			worst, worstName = d, n
		}
	}
	t.Logf("12000x12000: largest difference between reduced JPEG decode and full Mat (besides n_keypoints): %s %.4g", worstName, worst)
	if v := viaBytes[indexOf(ex.Names(), "aspect_ratio")]; !near(v, 7000.0/4000, 0.03) {
		t.Errorf("aspect_ratio %v, want 1.75", v)
	}
}

func indexOf(names []string, n string) int {
	for i, x := range names {
		if x == n {
			return i
		}
	}
	return -1
}

// matsEqual compares two 8-bit Mats pixel by pixel.
func matsEqual(a, b gocv.Mat) bool {
	if a.Rows() != b.Rows() || a.Cols() != b.Cols() || a.Type() != b.Type() {
		return false
	}
	return bytes.Equal(a.ToBytes(), b.ToBytes())
}
