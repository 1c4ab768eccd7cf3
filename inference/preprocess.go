package inference

import (
	"errors"
	"fmt"
	"image"
	"os"

	"gocv.io/x/gocv"
)

// DecodeImage decodes an encoded image (JPEG, PNG, ...) into 8-bit BGR with
// OpenCV. Grayscale and alpha images become 3-channel BGR. The caller closes
// the Mat. A corrupt, truncated or non-image input is an error, never a panic.
func DecodeImage(data []byte) (gocv.Mat, error) {
	if len(data) == 0 {
		return gocv.NewMat(), errors.New("decode image: empty input")
	}
	m, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		m.Close()
		return gocv.NewMat(), fmt.Errorf("decode image: %w", err)
	}
	if m.Empty() || m.Rows() < 1 || m.Cols() < 1 {
		m.Close()
		return gocv.NewMat(), errors.New("decode image: not a readable image (corrupt, truncated or unsupported format)")
	}
	return m, nil
}

// DecodeImageFile reads and decodes path.
func DecodeImageFile(path string) (gocv.Mat, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return gocv.NewMat(), err
	}
	m, err := DecodeImage(b)
	if err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func interpolation(name string) (gocv.InterpolationFlags, error) {
	switch name {
	case "bilinear":
		return gocv.InterpolationLinear, nil
	case "area":
		return gocv.InterpolationArea, nil
	case "nearest":
		return gocv.InterpolationNearestNeighbor, nil
	case "bicubic":
		return gocv.InterpolationCubic, nil
	}
	return 0, fmt.Errorf("%q, want bilinear, area, nearest or bicubic", name)
}

// CentralCrop returns the rectangle TF-slim's central_crop keeps: the start
// offset is truncated as in tf.image.central_crop, and the size is what
// remains symmetrically, so our crop matches the reference evaluation.
func CentralCrop(w, h int, fraction float64) image.Rectangle {
	if fraction >= 1 {
		return image.Rect(0, 0, w, h)
	}
	x0 := int((float64(w) - float64(w)*fraction) / 2)
	y0 := int((float64(h) - float64(h)*fraction) / 2)
	cw, ch := w-2*x0, h-2*y0
	if cw < 1 {
		x0, cw = w/2, 1
	}
	if ch < 1 {
		y0, ch = h/2, 1
	}
	return image.Rect(x0, y0, x0+cw, y0+ch)
}

// preprocessor turns a decoded BGR image into one model's input values. It
// owns a reusable resize buffer, so a Model is not safe for concurrent use.
type preprocessor struct {
	spec   Spec
	interp gocv.InterpolationFlags
	buf    gocv.Mat
	scale  [3]float32 // 1/std per output channel
	shift  [3]float32 // -mean/std per output channel
}

func newPreprocessor(s Spec) (*preprocessor, error) {
	ip, err := interpolation(s.Resize)
	if err != nil {
		return nil, err
	}
	p := &preprocessor{spec: s, interp: ip, buf: gocv.NewMat()}
	for c := 0; c < 3; c++ {
		p.scale[c] = float32(1 / s.Std[c])
		p.shift[c] = float32(-s.Mean[c] / s.Std[c])
	}
	return p, nil
}

func (p *preprocessor) close() { p.buf.Close() }

// resized crops and resizes img into the internal buffer and returns its
// continuous BGR bytes (size*size*3).
func (p *preprocessor) resized(img gocv.Mat) ([]byte, error) {
	if img.Empty() || img.Channels() != 3 || img.Type() != gocv.MatTypeCV8UC3 {
		return nil, errors.New("preprocess: want a non-empty 8-bit 3-channel BGR image")
	}
	n := p.spec.InputSize
	r := CentralCrop(img.Cols(), img.Rows(), p.spec.CropFraction)
	roi := img.Region(r)
	gocv.Resize(roi, &p.buf, image.Pt(n, n), 0, 0, p.interp)
	roi.Close()
	if !p.buf.IsContinuous() {
		return nil, errors.New("preprocess: resize produced a non-continuous image")
	}
	px, err := p.buf.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("preprocess: %w", err)
	}
	if len(px) != n*n*3 {
		return nil, fmt.Errorf("preprocess: got %d bytes, want %d", len(px), n*n*3)
	}
	return px, nil
}

// channelSource maps output channel c to the BGR byte offset.
func (p *preprocessor) channelSource() [3]int {
	if p.spec.ChannelOrder == "BGR" {
		return [3]int{0, 1, 2}
	}
	return [3]int{2, 1, 0}
}

// fillFloat writes normalised values in the spec's layout into dst.
func (p *preprocessor) fillFloat(img gocv.Mat, dst []float32) error {
	px, err := p.resized(img)
	if err != nil {
		return err
	}
	n := p.spec.InputSize
	if len(dst) != n*n*3 {
		return fmt.Errorf("preprocess: input tensor holds %d values, want %d", len(dst), n*n*3)
	}
	src := p.channelSource()
	sc, sh := p.scale, p.shift
	if p.spec.Layout == "NHWC" {
		for i, j := 0, 0; i < len(px); i, j = i+3, j+3 {
			dst[j] = float32(px[i+src[0]])*sc[0] + sh[0]
			dst[j+1] = float32(px[i+src[1]])*sc[1] + sh[1]
			dst[j+2] = float32(px[i+src[2]])*sc[2] + sh[2]
		}
		return nil
	}
	plane := n * n
	for k := 0; k < plane; k++ {
		i := 3 * k
		dst[k] = float32(px[i+src[0]])*sc[0] + sh[0]
		dst[plane+k] = float32(px[i+src[1]])*sc[1] + sh[1]
		dst[2*plane+k] = float32(px[i+src[2]])*sc[2] + sh[2]
	}
	return nil
}

// fillUint8 writes raw pixels in the spec's layout into dst.
func (p *preprocessor) fillUint8(img gocv.Mat, dst []uint8) error {
	px, err := p.resized(img)
	if err != nil {
		return err
	}
	n := p.spec.InputSize
	if len(dst) != n*n*3 {
		return fmt.Errorf("preprocess: input tensor holds %d values, want %d", len(dst), n*n*3)
	}
	src := p.channelSource()
	plane := n * n
	for k := 0; k < plane; k++ {
		i := 3 * k
		if p.spec.Layout == "NHWC" {
			dst[i], dst[i+1], dst[i+2] = px[i+src[0]], px[i+src[1]], px[i+src[2]]
		} else {
			dst[k], dst[plane+k], dst[2*plane+k] = px[i+src[0]], px[i+src[1]], px[i+src[2]]
		}
	}
	return nil
}
