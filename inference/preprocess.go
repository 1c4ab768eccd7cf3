package inference

import (
	"errors"
	"fmt"
	"image"
	"os"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/internal/imghdr"
)

// ErrDecode marks every failure to turn bytes into an image (empty, not an
// image, unsupported format, corrupt, too large), as opposed to I/O errors.
var ErrDecode = errors.New("cannot decode image")

// MaxPixels is DecodeImage's limit: one decode stays under about 800 MB.
const MaxPixels = 1 << 28

// DecodeImage decodes an encoded image (JPEG, PNG, BMP, TIFF or WebP) into
// 8-bit BGR with OpenCV. Grayscale and alpha images become 3-channel BGR.
// The caller closes the Mat. A corrupt, truncated, oversized or non-image
// input is an error wrapping ErrDecode, never a panic. Images above
// MaxPixels are refused; see DecodeImageMax.
func DecodeImage(data []byte) (gocv.Mat, error) {
	return DecodeImageMax(data, MaxPixels)
}

// DecodeImageMax is DecodeImage with a limit of maxPixels. The header is
// read first (package imghdr): OpenCV aborts the process on sizes beyond
// its own limits, so only formats whose size can be checked reach it.
// A truncated JPEG is still decoded (libjpeg fills the rest with grey), as
// profiling always has; callers that must refuse it check imghdr's Complete.
func DecodeImageMax(data []byte, maxPixels int64) (gocv.Mat, error) {
	h, err := imghdr.Read(data)
	if err == nil {
		err = h.Check(maxPixels)
	}
	if err != nil {
		return gocv.NewMat(), fmt.Errorf("decode image: %w: %w", ErrDecode, err)
	}
	m, err := gocv.IMDecode(data, gocv.IMReadColor)
	if err != nil {
		m.Close()
		return gocv.NewMat(), fmt.Errorf("decode image: %w: %w", ErrDecode, err)
	}
	if m.Empty() || m.Rows() < 1 || m.Cols() < 1 {
		m.Close()
		return gocv.NewMat(), fmt.Errorf("decode image: %w: not readable (corrupt, truncated or unsupported variant)", ErrDecode)
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

// Resize methods computed in Go, in float, straight from the decoded
// pixels (no intermediate rounding to uint8, which OpenCV's fixed-point
// INTER_LINEAR does and which moved the 128 px model's top-1 by ~0.7
// points on imagenet-val-dev):
//   - ResizeBilinear: half-pixel centres, src = (d+0.5)*in/out - 0.5: the
//     geometry of OpenCV INTER_LINEAR, TF2 tf.image.resize and PyTorch.
//   - ResizeTFBilinear: TensorFlow 1's legacy resize_bilinear
//     (align_corners=False, src = d*in/out), as TF-slim evaluation used.
//
// Neither antialiases when shrinking, as the reference evaluations did not.
const (
	ResizeBilinear   = "bilinear"
	ResizeTFBilinear = "tf_bilinear"
)

func goResize(name string) bool { return name == ResizeBilinear || name == ResizeTFBilinear }

func interpolation(name string) (gocv.InterpolationFlags, error) {
	switch name {
	case ResizeTFBilinear, ResizeBilinear:
		return gocv.InterpolationLinear, nil // unused: resized in Go
	case "area":
		return gocv.InterpolationArea, nil
	case "nearest":
		return gocv.InterpolationNearestNeighbor, nil
	case "bicubic":
		return gocv.InterpolationCubic, nil
	}
	return 0, fmt.Errorf("%q, want tf_bilinear, bilinear, area, nearest or bicubic", name)
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
	fbuf   []float32 // tf_bilinear output
	taps   struct {  // tf_bilinear sampling positions for the last crop
		rect           image.Rectangle
		n              int
		x0, x1, y0, y1 []int
		wx, wy         []float32
	}
	scale [3]float32 // 1/std per output channel
	shift [3]float32 // -mean/std per output channel
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
	n := p.spec.InputSize
	if len(dst) != n*n*3 {
		return fmt.Errorf("preprocess: input tensor holds %d values, want %d", len(dst), n*n*3)
	}
	if goResize(p.spec.Resize) {
		px, err := p.resizedTF(img)
		if err != nil {
			return err
		}
		fill(px, dst, p.channelSource(), p.spec.Layout == "NHWC", p.scale, p.shift)
		return nil
	}
	px, err := p.resized(img)
	if err != nil {
		return err
	}
	fill(px, dst, p.channelSource(), p.spec.Layout == "NHWC", p.scale, p.shift)
	return nil
}

// fillUint8 writes raw pixels in the spec's layout into dst.
func (p *preprocessor) fillUint8(img gocv.Mat, dst []uint8) error {
	n := p.spec.InputSize
	if len(dst) != n*n*3 {
		return fmt.Errorf("preprocess: input tensor holds %d values, want %d", len(dst), n*n*3)
	}
	one := [3]float32{1, 1, 1}
	if goResize(p.spec.Resize) {
		px, err := p.resizedTF(img)
		if err != nil {
			return err
		}
		for i, v := range px { // round half up, as a uint8 cast of v+0.5
			px[i] = float32(int(v + 0.5))
		}
		fill(px, dst, p.channelSource(), p.spec.Layout == "NHWC", one, [3]float32{})
		return nil
	}
	px, err := p.resized(img)
	if err != nil {
		return err
	}
	fill(px, dst, p.channelSource(), p.spec.Layout == "NHWC", one, [3]float32{})
	return nil
}

// fill maps interleaved BGR pixels px to dst = px*scale + shift per
// output channel, in NHWC or NCHW order.
func fill[S uint8 | float32, D uint8 | float32](px []S, dst []D, src [3]int, nhwc bool, sc, sh [3]float32) {
	plane := len(px) / 3
	if nhwc {
		for i := 0; i < len(px); i += 3 {
			dst[i] = D(float32(px[i+src[0]])*sc[0] + sh[0])
			dst[i+1] = D(float32(px[i+src[1]])*sc[1] + sh[1])
			dst[i+2] = D(float32(px[i+src[2]])*sc[2] + sh[2])
		}
		return
	}
	for k := 0; k < plane; k++ {
		i := 3 * k
		dst[k] = D(float32(px[i+src[0]])*sc[0] + sh[0])
		dst[plane+k] = D(float32(px[i+src[1]])*sc[1] + sh[1])
		dst[2*plane+k] = D(float32(px[i+src[2]])*sc[2] + sh[2])
	}
}

// resizedTF crops and resizes img bilinearly in float (see ResizeBilinear
// and ResizeTFBilinear for the two sampling rules), interpolating between
// floor and floor+1 clamped at the edges. It returns interleaved BGR floats
// (n*n*3) in an internal buffer.
func (p *preprocessor) resizedTF(img gocv.Mat) ([]float32, error) {
	if img.Empty() || img.Channels() != 3 || img.Type() != gocv.MatTypeCV8UC3 {
		return nil, errors.New("preprocess: want a non-empty 8-bit 3-channel BGR image")
	}
	if !img.IsContinuous() {
		return nil, errors.New("preprocess: want a continuous image")
	}
	data, err := img.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("preprocess: %w", err)
	}
	n := p.spec.InputSize
	r := CentralCrop(img.Cols(), img.Rows(), p.spec.CropFraction)
	stride := img.Cols() * 3
	if p.taps.rect != r || p.taps.n != n { // images of one set usually share a size
		p.taps.rect, p.taps.n = r, n
		half := p.spec.Resize == ResizeBilinear
		p.taps.x0, p.taps.x1, p.taps.wx = bilinearTaps(r.Min.X, r.Dx(), n, half)
		p.taps.y0, p.taps.y1, p.taps.wy = bilinearTaps(r.Min.Y, r.Dy(), n, half)
	}
	x0, x1, wx := p.taps.x0, p.taps.x1, p.taps.wx
	y0, y1, wy := p.taps.y0, p.taps.y1, p.taps.wy
	if cap(p.fbuf) < n*n*3 {
		p.fbuf = make([]float32, n*n*3)
	}
	out := p.fbuf[:n*n*3]
	o := 0
	for y := 0; y < n; y++ {
		rowA, rowB, fy := y0[y]*stride, y1[y]*stride, wy[y]
		for x := 0; x < n; x++ {
			a, b, fx := 3*x0[x], 3*x1[x], wx[x]
			for c := 0; c < 3; c++ {
				tl, tr := float32(data[rowA+a+c]), float32(data[rowA+b+c])
				bl, br := float32(data[rowB+a+c]), float32(data[rowB+b+c])
				top := tl + (tr-tl)*fx
				bot := bl + (br-bl)*fx
				out[o] = top + (bot-top)*fy
				o++
			}
		}
	}
	return out, nil
}

// bilinearTaps returns, for each of out output positions over a source
// span [start, start+size), the two source indices and the weight of the
// second, with half-pixel centres or TF1's legacy rule.
func bilinearTaps(start, size, out int, halfPixel bool) (lo, hi []int, w []float32) {
	lo, hi, w = make([]int, out), make([]int, out), make([]float32, out)
	scale := float64(size) / float64(out)
	for d := 0; d < out; d++ {
		in := float64(d) * scale
		if halfPixel {
			in = (float64(d)+0.5)*scale - 0.5
		}
		if in < 0 {
			in = 0
		}
		f := int(in)
		if f > size-1 {
			f = size - 1
		}
		g := f + 1
		if g > size-1 {
			g = size - 1
		}
		lo[d], hi[d], w[d] = start+f, start+g, float32(in-float64(f))
	}
	return lo, hi, w
}
