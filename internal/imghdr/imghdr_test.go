package imghdr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"gocv.io/x/gocv"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func gradient(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), 90, 255})
		}
	}
	return img
}

func encode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "png":
		err = png.Encode(&b, img)
	case "bmp":
		err = bmp.Encode(&b, img)
	case "tiff":
		err = tiff.Encode(&b, img, nil)
	case "webp":
		return vp8l(img.Bounds().Dx(), img.Bounds().Dy())
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// vp8l is a lossless WebP of one colour (x/image has no WebP encoder):
// header, then one literal green-only pixel via trivial Huffman codes.
func vp8l(w, h int) []byte {
	// Bit stream (LSB first): signature 0x2f, 14-bit width-1, 14-bit
	// height-1, alpha 0, version 0 (3 bits), no transform, no colour
	// cache, no meta codes, five simple one-symbol codes.
	var bits []bool
	put := func(v uint32, n int) {
		for i := 0; i < n; i++ {
			bits = append(bits, v>>uint(i)&1 == 1)
		}
	}
	put(uint32(w-1), 14)
	put(uint32(h-1), 14)
	put(0, 1) // alpha hint
	put(0, 3) // version
	put(0, 1) // no transform
	put(0, 1) // no colour cache
	put(0, 1) // no meta Huffman codes
	for range 5 {
		put(1, 1) // simple code
		put(0, 1) // one symbol
		put(0, 1) // 1-bit symbol
		put(0, 1) // symbol 0
	}
	payload := []byte{0x2f}
	for i := 0; i < len(bits); i += 8 {
		var b byte
		for j := 0; j < 8 && i+j < len(bits); j++ {
			if bits[i+j] {
				b |= 1 << uint(j)
			}
		}
		payload = append(payload, b)
	}
	for len(payload) < 12 { // OpenCV wants at least 32 bytes in all
		payload = append(payload, 0)
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+len(payload)))
	out.WriteString("WEBPVP8L")
	binary.Write(&out, binary.LittleEndian, uint32(len(payload)))
	out.Write(payload)
	return out.Bytes()
}

func TestReadAgreesWithOpenCV(t *testing.T) {
	for _, format := range []string{"jpeg", "png", "bmp", "tiff", "webp"} {
		data := encode(t, format, gradient(37, 21))
		h, err := Read(data)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if h.Format != format || h.Width != 37 || h.Height != 21 || !h.Complete {
			t.Errorf("%s: got %+v", format, h)
		}
		m, err := gocv.IMDecode(data, gocv.IMReadColor)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if m.Cols() != h.Width || m.Rows() != h.Height {
			t.Errorf("%s: OpenCV decodes %dx%d, header says %dx%d", format, m.Cols(), m.Rows(), h.Width, h.Height)
		}
		m.Close()
	}
}

func TestTruncatedIsIncomplete(t *testing.T) {
	for _, format := range []string{"jpeg", "png"} {
		data := encode(t, format, gradient(64, 64))
		h, err := Read(data[:len(data)*2/3])
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if h.Complete {
			t.Errorf("%s cut to 2/3 reads as complete", format)
		}
	}
}

func TestRejects(t *testing.T) {
	j := encode(t, "jpeg", gradient(8, 8))
	sof := bytes.Index(j, []byte{0xFF, 0xC0})
	segLen := int(binary.BigEndian.Uint16(j[sof+2:]))
	twoSOF := append(append(append([]byte{}, j[:sof+2+segLen]...), j[sof:sof+2+segLen]...), j[sof+2+segLen:]...)

	bigBMP := encode(t, "bmp", gradient(2, 2))
	binary.LittleEndian.PutUint32(bigBMP[18:], 1<<21)
	minBMP := encode(t, "bmp", gradient(2, 2))
	binary.LittleEndian.PutUint32(minBMP[22:], 1<<31) // height -2^31

	tf := encode(t, "tiff", gradient(4, 4))
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrUnknownFormat},
		{"text", []byte("hello, world"), ErrUnknownFormat},
		{"ppm", []byte("P6\n2000000 1\n255\n\x00\x00\x00"), ErrUnknownFormat},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), ErrUnknownFormat},
		{"jpeg soi only", j[:3], ErrBadHeader},
		{"jpeg two frames", twoSOF, ErrBadHeader},
		{"png signature only", encode(t, "png", gradient(2, 2))[:12], ErrBadHeader},
		{"bmp -2^31 rows", minBMP, ErrBadHeader},
		{"tiff bad offset", append(append([]byte{}, tf[:4]...), 0xff, 0xff, 0xff, 0x7f), ErrBadHeader},
		{"webp junk", []byte("RIFF\x10\x00\x00\x00WEBPVP8 \x02\x00\x00\x00ab"), ErrBadHeader},
	}
	for _, c := range cases {
		if _, err := Read(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	h, err := Read(bigBMP)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Check(0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("2^21 wide BMP passes Check: %v", err)
	}
	small, _ := Read(encode(t, "png", gradient(10, 10)))
	if err := small.Check(99); !errors.Is(err, ErrTooLarge) {
		t.Errorf("100 px over a 99 px limit: %v", err)
	}
	if err := small.Check(100); err != nil {
		t.Errorf("100 px within a 100 px limit: %v", err)
	}
}

// FuzzRead checks that no input panics Read and that an accepted header
// has a positive size. Seeds: testdata/fuzz/FuzzRead plus the encoders' output.
func FuzzRead(f *testing.F) {
	for _, format := range []string{"jpeg", "png", "bmp", "tiff", "webp"} {
		f.Add(encode(f, format, gradient(5, 3)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Read(data)
		if err != nil {
			return
		}
		if h.Width <= 0 || h.Height <= 0 || h.Format == "" {
			t.Fatalf("accepted %+v", h)
		}
	})
}

// opencvJPEG encodes a w x h gradient with OpenCV's libjpeg (4:2:0), in
// progressive mode when asked: Go's encoder writes baseline only.
func opencvJPEG(t testing.TB, w, h int, progressive bool) []byte {
	t.Helper()
	m, err := gocv.ImageToMatRGB(gradient(w, h))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := 0
	if progressive {
		p = 1
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegProgressive, p})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

func TestJPEGScansAndBuffer(t *testing.T) {
	base, err := Read(opencvJPEG(t, 17, 17, false))
	if err != nil {
		t.Fatal(err)
	}
	if base.Progressive || base.Scans != 1 || base.Buffered() || base.CoefficientBytes() != 0 {
		t.Errorf("baseline: %+v, buffered %v, %d coefficient bytes", base, base.Buffered(), base.CoefficientBytes())
	}
	prog, err := Read(opencvJPEG(t, 17, 17, true))
	if err != nil {
		t.Fatal(err)
	}
	// 4:2:0 at 17x17: luma 3x3 blocks rounded up to whole 2x2 MCUs = 16,
	// each chroma 2x2 = 4; 24 blocks of 64 two-byte coefficients.
	if !prog.Progressive || prog.Scans < 2 || !prog.Buffered() || prog.CoefficientBytes() != 24*128 {
		t.Errorf("progressive: %+v, buffered %v, %d coefficient bytes, want %d", prog, prog.Buffered(), prog.CoefficientBytes(), 24*128)
	}
	if err := prog.Check(0); err != nil {
		t.Errorf("a real progressive JPEG (%d scans) fails Check: %v", prog.Scans, err)
	}
	many := prog
	many.Scans = MaxJPEGScans + 1
	if err := many.Check(0); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d scans pass Check: %v", many.Scans, err)
	}
	// Go's encoder writes 4:2:0 with a single interleaved scan too.
	g, _ := Read(encode(t, "jpeg", gradient(16, 16)))
	if g.Scans != 1 || g.Buffered() {
		t.Errorf("Go's baseline JPEG: %+v", g)
	}
}

// TestScaledSizeAgreesWithOpenCV decodes odd sizes at every reduction.
func TestScaledSizeAgreesWithOpenCV(t *testing.T) {
	flags := map[int]gocv.IMReadFlag{1: gocv.IMReadColor, 2: gocv.IMReadReducedColor2, 4: gocv.IMReadReducedColor4, 8: gocv.IMReadReducedColor8}
	for _, sz := range [][2]int{{37, 21}, {64, 48}, {9, 130}} {
		data := encode(t, "jpeg", gradient(sz[0], sz[1]))
		h, err := Read(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []int{1, 2, 4, 8} {
			m, err := gocv.IMDecode(data, flags[d])
			if err != nil {
				t.Fatal(err)
			}
			w, ht := h.ScaledSize(d)
			if m.Cols() != w || m.Rows() != ht {
				t.Errorf("%dx%d at 1/%d: OpenCV %dx%d, ScaledSize %dx%d", sz[0], sz[1], d, m.Cols(), m.Rows(), w, ht)
			}
			m.Close()
		}
	}
	p, _ := Read(encode(t, "png", gradient(37, 21)))
	if w, h := p.ScaledSize(4); w != 37 || h != 21 || p.Scalable() {
		t.Errorf("PNG is not scaled while decoding: %dx%d", w, h)
	}
}

func TestBufferedPasses(t *testing.T) {
	for _, c := range []struct {
		h    Header
		want int64
	}{
		{Header{Format: "jpeg", Scans: 1}, 0},
		{Header{Format: "png"}, 0},
		{Header{Format: "jpeg", Scans: 3}, 1},
		{Header{Format: "jpeg", Progressive: true, Scans: 10}, 1},
		{Header{Format: "jpeg", Progressive: true, Scans: 11}, 2},
		{Header{Format: "jpeg", Progressive: true, Scans: 32}, 4},
	} {
		if got := c.h.BufferedPasses(); got != c.want {
			t.Errorf("%+v: %d passes, want %d", c.h, got, c.want)
		}
	}
}
