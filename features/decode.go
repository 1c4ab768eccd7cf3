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
	flag := gocv.IMReadColor
	if info.Format == "jpeg" && shrinkTo > 0 {
		long := max(info.Width, info.Height)
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
