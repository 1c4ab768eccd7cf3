package features

import (
	"errors"
	"fmt"
	"os"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/internal/imghdr"
)

// ErrDecode marks every failure to turn bytes into an image (empty,
// corrupt, truncated, unsupported or too large), as opposed to I/O errors,
// so a dataset loader can skip such images and report them.
var ErrDecode = errors.New("cannot decode image")

// maxPixels is checked from the header (internal/imghdr) before OpenCV sees
// the data: OpenCV's own limits abort the process through cgo, and this one
// is lower still so one full-size decode stays under about 800 MB (a
// 12000x12000 photograph is 144 Mpx).
const maxPixels = 1 << 28

// Decode decodes a JPEG, PNG, BMP, TIFF or WebP image at full resolution to
// 3-channel 8-bit BGR: grayscale is expanded, alpha dropped, CMYK JPEG
// converted by libjpeg, 16-bit reduced to 8, EXIF orientation applied. Any
// failure wraps ErrDecode. The caller closes the Mat.
func Decode(data []byte) (gocv.Mat, error) {
	return DecodeScaled(data, 1)
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
// at most maxSide: a JPEG is decoded at the reduction Reduction gives
// (1/2, 1/4 or 1/8 inside libjpeg, IMREAD_REDUCED_COLOR_*, DCT-domain
// scaling), which costs a fraction of the memory of a full decode and
// never drops below maxSide. Other formats decode in full (OpenCV would
// only resize them afterwards, with INTER_LINEAR). The result is not yet
// shrunk to maxSide; Extract does that.
func DecodeMax(data []byte, maxSide int) (gocv.Mat, error) {
	if maxSide <= 0 {
		return gocv.Mat{}, fmt.Errorf("decode: maxSide %d must be positive", maxSide)
	}
	return decode(data, func(h imghdr.Header) int { return Reduction(h, maxSide) })
}

// DecodeScaled is Decode at 1/d (1, 2, 4 or 8) for a JPEG, whose decoder
// scales in the DCT domain; other formats must have d = 1. The size is
// the header's ScaledSize(d).
func DecodeScaled(data []byte, d int) (gocv.Mat, error) {
	if _, ok := reducedFlags[d]; !ok {
		return gocv.Mat{}, fmt.Errorf("decode: scale 1/%d, want 1/1, 1/2, 1/4 or 1/8", d)
	}
	return decode(data, func(imghdr.Header) int { return d })
}

// Reduction is the scale 1/d at which the canonical feature path
// (ExtractBytes, DecodeMax) decodes an image with header h before
// shrinking it to maxSide: for a JPEG, the largest d of 8, 4 and 2 with
// long side / d ≥ maxSide (integer division); 1 for other formats. It is
// part of the definition of stored values: libjpeg's DCT scaling is not
// pixel for pixel a full decode and a pyramid.
func Reduction(h imghdr.Header, maxSide int) int {
	if !h.Scalable() || maxSide <= 0 {
		return 1
	}
	long := max(h.Width, h.Height)
	for _, d := range []int{8, 4, 2} {
		if long/d >= maxSide {
			return d
		}
	}
	return 1
}

var reducedFlags = map[int]gocv.IMReadFlag{
	1: gocv.IMReadColor, 2: gocv.IMReadReducedColor2, 4: gocv.IMReadReducedColor4, 8: gocv.IMReadReducedColor8,
}

// decode reads the header, refuses what must not reach OpenCV, and
// decodes at 1/scale(header).
func decode(data []byte, scale func(imghdr.Header) int) (gocv.Mat, error) {
	info, err := imghdr.Read(data)
	if err == nil && !info.Complete {
		// libjpeg would "decode" a cut file by filling the missing rows
		// with grey, which skews every feature without any error.
		err = fmt.Errorf("%s data ends before its end marker (truncated)", info.Format)
	}
	if err == nil {
		err = info.Check(maxPixels)
	}
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("decode: %w: %w", ErrDecode, err)
	}
	d := scale(info)
	if d != 1 && !info.Scalable() {
		return gocv.Mat{}, fmt.Errorf("decode %s: scale 1/%d: only JPEG decodes at reduced scale", info.Format, d)
	}
	img, err := gocv.IMDecode(data, reducedFlags[d])
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("decode %s: %w: %w", info.Format, ErrDecode, err)
	}
	if img.Empty() {
		img.Close()
		return gocv.Mat{}, fmt.Errorf("decode %s: %w: OpenCV could not decode it (corrupt or unsupported variant)", info.Format, ErrDecode)
	}
	if img.Type() != gocv.MatTypeCV8UC3 {
		t := img.Type()
		img.Close()
		return gocv.Mat{}, fmt.Errorf("decode %s: %w: OpenCV returned type %v, want 8-bit BGR", info.Format, ErrDecode, t)
	}
	return img, nil
}
