package features

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"

	"gocv.io/x/gocv"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// ErrDecode marks every failure to turn bytes into an image (empty,
// corrupt, truncated, unsupported or too large), as opposed to I/O errors,
// so a dataset loader can skip such images and report them.
var ErrDecode = errors.New("cannot decode image")

// Size limits checked from the header before OpenCV sees the data. OpenCV's
// imdecode throws a C++ exception on sides above 2^20 or more than 2^30
// pixels (CV_IO_MAX_IMAGE_*), and an exception crossing cgo aborts the whole
// process; maxPixels is lower still so one full-size decode stays under
// about 800 MB (a 12000x12000 photograph is 144 Mpx).
const (
	maxSide   = 1 << 20
	maxPixels = 1 << 28
)

// Decode decodes a JPEG, PNG, BMP, TIFF or WebP image at full resolution to
// 3-channel 8-bit BGR: grayscale is expanded, alpha dropped, CMYK JPEG
// converted by libjpeg, 16-bit reduced to 8, EXIF orientation applied. Any
// failure wraps ErrDecode. The caller closes the Mat.
func Decode(data []byte) (gocv.Mat, error) {
	return decode(data, 0)
}

// DecodeFile reads and decodes one image file (see Decode).
func DecodeFile(path string) (gocv.Mat, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("decode: %w", err)
	}
	img, err := Decode(data)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// DecodeMax is Decode for an image that will be shrunk to a longest side of
// at most maxSide: a JPEG whose longest side is at least 2, 4 or 8 times
// maxSide is decoded at 1/2, 1/4 or 1/8 scale inside libjpeg (IMREAD_REDUCED_
// COLOR_*, DCT-domain scaling), which costs a fraction of the time and memory
// of a full decode and never drops below maxSide. Other formats decode in
// full (OpenCV would only resize them afterwards, with INTER_LINEAR). The
// result is not yet shrunk to maxSide; Extract does that.
func DecodeMax(data []byte, maxSide int) (gocv.Mat, error) {
	if maxSide <= 0 {
		return gocv.Mat{}, fmt.Errorf("decode: maxSide %d must be positive", maxSide)
	}
	return decode(data, maxSide)
}

func decode(data []byte, shrinkTo int) (gocv.Mat, error) {
	info, err := sniff(data)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("decode: %w: %w", ErrDecode, err)
	}
	if info.w <= 0 || info.h <= 0 || info.w > maxSide || info.h > maxSide || int64(info.w)*int64(info.h) > maxPixels {
		return gocv.Mat{}, fmt.Errorf("decode: %w: %s of %dx%d pixels is outside the limits (sides 1..%d, at most %d pixels)",
			ErrDecode, info.format, info.w, info.h, maxSide, maxPixels)
	}
	flag := gocv.IMReadColor
	if info.format == "jpeg" && shrinkTo > 0 {
		long := max(info.w, info.h)
		switch {
		case long/8 >= shrinkTo:
			flag = gocv.IMReadReducedColor8
		case long/4 >= shrinkTo:
			flag = gocv.IMReadReducedColor4
		case long/2 >= shrinkTo:
			flag = gocv.IMReadReducedColor2
		}
	}
	img, err := gocv.IMDecode(data, flag)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("decode %s: %w: %w", info.format, ErrDecode, err)
	}
	if img.Empty() {
		img.Close()
		return gocv.Mat{}, fmt.Errorf("decode %s: %w: OpenCV could not decode it (corrupt or unsupported variant)", info.format, ErrDecode)
	}
	if img.Type() != gocv.MatTypeCV8UC3 {
		t := img.Type()
		img.Close()
		return gocv.Mat{}, fmt.Errorf("decode %s: %w: OpenCV returned type %v, want 8-bit BGR", info.format, ErrDecode, t)
	}
	return img, nil
}

// header is what sniff learns without decoding pixels.
type header struct {
	format string
	w, h   int
}

// sniff identifies the format, reads the dimensions from the header and,
// for JPEG and PNG, checks the stream is complete: libjpeg would otherwise
// "decode" a truncated file by filling the missing rows with grey, which
// skews every feature without any error.
func sniff(data []byte) (header, error) {
	switch {
	case len(data) == 0:
		return header{}, errors.New("no data")
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		w, h, err := jpegHeader(data)
		return header{"jpeg", w, h}, err
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		w, h, err := pngHeader(data)
		return header{"png", w, h}, err
	case bytes.HasPrefix(data, []byte("BM")):
		return configHeader("bmp", data, bmp.DecodeConfig)
	case bytes.HasPrefix(data, []byte("II*\x00")) || bytes.HasPrefix(data, []byte("MM\x00*")):
		return configHeader("tiff", data, tiff.DecodeConfig)
	case len(data) >= 12 && bytes.HasPrefix(data, []byte("RIFF")) && string(data[8:12]) == "WEBP":
		return configHeader("webp", data, webp.DecodeConfig)
	default:
		return header{}, errors.New("unknown format (want JPEG, PNG, BMP, TIFF or WebP)")
	}
}

func configHeader(format string, data []byte, cfg func(io.Reader) (image.Config, error)) (header, error) {
	c, err := cfg(bytes.NewReader(data))
	if err != nil {
		return header{}, fmt.Errorf("%s header: %w", format, err)
	}
	return header{format, c.Width, c.Height}, nil
}

// jpegHeader walks the JPEG marker segments (ITU-T T.81 annex B) to the
// end-of-image marker, returning the frame size from the SOFn segment. It
// fails when the data ends before EOI. Inside entropy-coded data 0xFF is
// always followed by 0x00 (stuffing) or a restart marker, so the next real
// marker is the first other 0xFFxx.
func jpegHeader(data []byte) (w, h int, err error) {
	sawFrame := false
	i := 2 // after SOI
	for i < len(data) {
		if data[i] != 0xFF {
			i++ // stray bytes between segments; libjpeg skips them too
			continue
		}
		if i+1 >= len(data) {
			break
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0xD9: // EOI
			if !sawFrame {
				return 0, 0, errors.New("jpeg: end of image before any frame header")
			}
			return w, h, nil
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // TEM, RSTn: no length
			i += 2
			continue
		}
		if i+4 > len(data) {
			break
		}
		segLen := int(binary.BigEndian.Uint16(data[i+2:]))
		if segLen < 2 || i+2+segLen > len(data) {
			break
		}
		seg := data[i+4 : i+2+segLen]
		if isSOF(m) {
			if len(seg) < 5 {
				return 0, 0, errors.New("jpeg: short frame header")
			}
			h = int(binary.BigEndian.Uint16(seg[1:]))
			w = int(binary.BigEndian.Uint16(seg[3:]))
			if h == 0 {
				return 0, 0, errors.New("jpeg: height defined by a DNL marker, unsupported")
			}
			sawFrame = true
		}
		i += 2 + segLen
		if m == 0xDA { // SOS: skip the entropy-coded data
			if !sawFrame {
				return 0, 0, errors.New("jpeg: scan before frame header")
			}
			for i+1 < len(data) {
				if data[i] == 0xFF {
					n := data[i+1]
					if n != 0x00 && n != 0xFF && !(n >= 0xD0 && n <= 0xD7) {
						break
					}
				}
				i++
			}
		}
	}
	return 0, 0, errors.New("jpeg: truncated (no end-of-image marker)")
}

// isSOF reports whether m is a start-of-frame marker (SOF0..SOF15 less DHT,
// JPG and DAC).
func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
}

// pngHeader reads IHDR and walks the chunks to IEND (PNG spec §5), failing
// on a truncated stream. CRCs are left to libpng.
func pngHeader(data []byte) (w, h int, err error) {
	i := 8
	first := true
	for i+8 <= len(data) {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		typ := string(data[i+4 : i+8])
		end := int64(i) + 12 + n
		if end > int64(len(data)) {
			break
		}
		if first {
			if typ != "IHDR" || n < 8 {
				return 0, 0, errors.New("png: first chunk is not IHDR")
			}
			w = int(binary.BigEndian.Uint32(data[i+8:]))
			h = int(binary.BigEndian.Uint32(data[i+12:]))
			first = false
		}
		if typ == "IEND" {
			return w, h, nil
		}
		i = int(end)
	}
	return 0, 0, errors.New("png: truncated (no IEND chunk)")
}
