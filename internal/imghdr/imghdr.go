package imghdr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/image/webp"
)

// OpenCV's own limits (CV_IO_MAX_IMAGE_WIDTH, _HEIGHT, _PIXELS in
// loadsave.cpp): beyond them imdecode throws instead of returning empty.
const (
	OpenCVMaxSide   = 1 << 20
	OpenCVMaxPixels = 1 << 30
)

// Errors that Read and Check wrap, so callers can tell bad input kinds apart.
var (
	ErrUnknownFormat = errors.New("not a JPEG, PNG, BMP, TIFF or WebP image")
	ErrBadHeader     = errors.New("unreadable image header")
	ErrTooLarge      = errors.New("image too large")
)

// Header is what an encoded image's header says about it.
type Header struct {
	Format        string // "jpeg", "png", "bmp", "tiff" or "webp"
	Width, Height int
	// Complete is false when a JPEG lacks its end-of-image marker or a PNG
	// its IEND chunk: the data was cut. libjpeg would still "decode" such a
	// JPEG, filling the missing rows with grey. Formats without an end
	// marker are always Complete.
	Complete bool
	// JPEG only: Progressive marks a progressive frame (SOF2, 6, 10, 14);
	// Scans counts the start-of-scan markers read; coefBytes is the size
	// of libjpeg's whole-image coefficient buffer (see CoefficientBytes).
	Progressive bool
	Scans       int
	coefBytes   int64
}

// MaxJPEGScans bounds the scans of a JPEG. libjpeg makes one pass over the
// whole image's coefficients per scan and, for a progressive frame, only
// warns about a scan that repeats or contradicts an earlier one, so a
// small file of many empty scans costs a pass each. Encoders write 1 (a
// baseline JPEG), 3 (one per component) or about 10 (libjpeg's and
// mozjpeg's progressive scripts).
const MaxJPEGScans = 32

// Scalable reports whether the decoder can shrink the image while
// decoding (IMREAD_REDUCED_*: libjpeg's DCT-domain scaling by 1/2, 1/4 or
// 1/8). OpenCV decodes every other format in full and resizes after.
func (h Header) Scalable() bool { return h.Format == "jpeg" }

// ScaledSize is the size the decoder returns at 1/d (d = 1, 2, 4 or 8):
// libjpeg rounds up (jdiv_round_up). Formats that are not Scalable always
// decode at full size.
func (h Header) ScaledSize(d int) (w, ht int) {
	if d <= 1 || !h.Scalable() {
		return h.Width, h.Height
	}
	return (h.Width + d - 1) / d, (h.Height + d - 1) / d
}

// Buffered reports whether libjpeg must hold every DCT coefficient of the
// image before it can output a row: a progressive frame, or several
// scans (components coded apart). The buffer is at full resolution
// whatever the output scale, and so is the work of filling it.
func (h Header) Buffered() bool { return h.Format == "jpeg" && (h.Progressive || h.Scans > 1) }

// BufferedPasses is the decoding work of a Buffered JPEG in whole-image
// passes: libjpeg goes over every block once per scan, at about a tenth
// of a full decode each (measured: 1.6 ms per extra scan of a 2000x2000
// progressive JPEG, 6.4 ms for its 10 scans), so ceil(scans / 10), the
// scans of libjpeg's and mozjpeg's progressive scripts counting as one.
// It is 0 for an image that is not Buffered.
func (h Header) BufferedPasses() int64 {
	if !h.Buffered() {
		return 0
	}
	return int64(max(1, (h.Scans+9)/10))
}

// CoefficientBytes is the memory of libjpeg's whole-image coefficient
// buffer when Buffered (0 otherwise): 64 two-byte coefficients per 8x8
// block of every component, blocks rounded up to whole MCUs as jdcoefct.c
// allocates them.
func (h Header) CoefficientBytes() int64 {
	if !h.Buffered() {
		return 0
	}
	return h.coefBytes
}

// Pixels is Width*Height.
func (h Header) Pixels() int64 { return int64(h.Width) * int64(h.Height) }

// Check returns an error wrapping ErrTooLarge when the image exceeds
// maxPixels (0: no limit of the caller's), OpenCV's own limits, or
// MaxJPEGScans.
func (h Header) Check(maxPixels int64) error {
	if h.Scans > MaxJPEGScans {
		return fmt.Errorf("%w: jpeg of %d scans, the limit is %d (encoders write 1 to about 10; libjpeg makes a pass over the whole image per scan)",
			ErrTooLarge, h.Scans, MaxJPEGScans)
	}
	if h.Width > OpenCVMaxSide || h.Height > OpenCVMaxSide || h.Pixels() > OpenCVMaxPixels {
		return fmt.Errorf("%w: %s of %dx%d pixels is beyond the decoder's limits (sides up to %d, %d pixels)",
			ErrTooLarge, h.Format, h.Width, h.Height, OpenCVMaxSide, OpenCVMaxPixels)
	}
	if maxPixels > 0 && h.Pixels() > maxPixels {
		return fmt.Errorf("%w: %s of %dx%d = %d pixels, the limit is %d",
			ErrTooLarge, h.Format, h.Width, h.Height, h.Pixels(), maxPixels)
	}
	return nil
}

// Read identifies the format from its signature and reads the size from
// the header. Errors wrap ErrUnknownFormat or ErrBadHeader. A width or
// height of zero or less is an ErrBadHeader.
func Read(data []byte) (Header, error) {
	var (
		h   Header
		err error
	)
	switch {
	case len(data) == 0:
		return Header{}, fmt.Errorf("%w: no data", ErrUnknownFormat)
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		h, err = jpegHeader(data)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		h, err = pngHeader(data)
	case bytes.HasPrefix(data, []byte("BM")):
		h, err = bmpHeader(data)
	case bytes.HasPrefix(data, []byte("II*\x00")) || bytes.HasPrefix(data, []byte("MM\x00*")):
		h, err = tiffHeader(data)
	case len(data) >= 12 && bytes.HasPrefix(data, []byte("RIFF")) && string(data[8:12]) == "WEBP":
		h, err = webpHeader(data)
	default:
		return Header{}, ErrUnknownFormat
	}
	if err != nil {
		return Header{}, fmt.Errorf("%w: %s: %v", ErrBadHeader, h.Format, err)
	}
	if h.Width <= 0 || h.Height <= 0 {
		return Header{}, fmt.Errorf("%w: %s of %dx%d pixels", ErrBadHeader, h.Format, h.Width, h.Height)
	}
	return h, nil
}

// jpegHeader walks the marker segments (ITU-T T.81 annex B) to the
// end-of-image marker and takes the size from the first frame header, as
// libjpeg does (it refuses a second one). Inside entropy-coded data 0xFF is
// followed by 0x00 (stuffing) or a restart marker, so the first other 0xFFxx
// is the next real marker.
func jpegHeader(data []byte) (Header, error) {
	h := Header{Format: "jpeg"}
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
				return h, errors.New("end of image before any frame header")
			}
			h.Complete = true
			return h, nil
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
			if sawFrame {
				return h, errors.New("second frame header")
			}
			if len(seg) < 5 {
				return h, errors.New("short frame header")
			}
			h.Height = int(binary.BigEndian.Uint16(seg[1:]))
			h.Width = int(binary.BigEndian.Uint16(seg[3:]))
			if h.Height == 0 {
				return h, errors.New("height defined by a DNL marker, unsupported")
			}
			h.Progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
			var err error
			if h.coefBytes, err = coefficientBytes(seg, h.Width, h.Height); err != nil {
				return h, err
			}
			sawFrame = true
		}
		i += 2 + segLen
		if m == 0xDA { // SOS: skip the entropy-coded data
			if !sawFrame {
				return h, errors.New("scan before frame header")
			}
			h.Scans++
			for i+1 < len(data) {
				// IndexByte is vectorised: the server reads every
				// request's header, so the scan should cost microseconds.
				k := bytes.IndexByte(data[i:len(data)-1], 0xFF)
				if k < 0 {
					i = len(data)
					break
				}
				i += k
				n := data[i+1]
				if n != 0x00 && n != 0xFF && !(n >= 0xD0 && n <= 0xD7) {
					break
				}
				i++
			}
		}
	}
	if !sawFrame {
		return h, errors.New("truncated before the frame header")
	}
	return h, nil // Complete stays false: no EOI
}

// coefficientBytes sizes libjpeg's whole-image coefficient buffer from a
// frame header (T.81 B.2.2): per component, width and height in 8x8
// blocks scaled by its sampling factors, rounded up to whole MCUs, 128
// bytes a block.
func coefficientBytes(sof []byte, w, h int) (int64, error) {
	n := int(sof[5])
	if n == 0 || len(sof) < 6+3*n {
		return 0, fmt.Errorf("frame header of %d components is %d bytes", n, len(sof))
	}
	hmax, vmax := 1, 1
	for c := range n {
		hv := sof[6+3*c+1]
		hs, vs := int(hv>>4), int(hv&15)
		if hs < 1 || hs > 4 || vs < 1 || vs > 4 {
			return 0, fmt.Errorf("component %d has sampling factors %dx%d, want 1..4", c, hs, vs)
		}
		hmax, vmax = max(hmax, hs), max(vmax, vs)
	}
	var total int64
	for c := range n {
		hv := sof[6+3*c+1]
		hs, vs := int64(hv>>4), int64(hv&15)
		bw := ceilDiv(int64(w)*hs, int64(8*hmax))
		bh := ceilDiv(int64(h)*vs, int64(8*vmax))
		total += ceilDiv(bw, hs) * hs * ceilDiv(bh, vs) * vs * 128
	}
	return total, nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// isSOF reports whether m is a start-of-frame marker (SOF0..SOF15 less
// DHT, JPG and DAC).
func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
}

// pngHeader reads IHDR, which must come first (PNG spec §5.6), and walks
// the chunks to IEND. CRCs are left to libpng.
func pngHeader(data []byte) (Header, error) {
	h := Header{Format: "png"}
	const sig = 8
	if len(data) < sig+8+13 || string(data[sig+4:sig+8]) != "IHDR" || binary.BigEndian.Uint32(data[sig:]) != 13 {
		return h, errors.New("first chunk is not a 13-byte IHDR")
	}
	w := binary.BigEndian.Uint32(data[sig+8:])
	ht := binary.BigEndian.Uint32(data[sig+12:])
	if w > 1<<31-1 || ht > 1<<31-1 { // the spec's limit; libpng refuses more
		return h, fmt.Errorf("size %dx%d beyond PNG's 2^31-1", w, ht)
	}
	h.Width, h.Height = int(w), int(ht)
	for i := sig; i+8 <= len(data); {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		end := int64(i) + 12 + n
		if end > int64(len(data)) {
			break
		}
		if string(data[i+4:i+8]) == "IEND" {
			h.Complete = true
			break
		}
		i = int(end)
	}
	return h, nil
}

// bmpHeader reads the BITMAPINFOHEADER family (40 bytes or more: signed
// 32-bit width and height) or the OS/2 BITMAPCOREHEADER (12 bytes: 16-bit),
// as OpenCV's decoder does; a negative height means top-down rows.
func bmpHeader(data []byte) (Header, error) {
	h := Header{Format: "bmp", Complete: true}
	if len(data) < 18 {
		return h, errors.New("short file header")
	}
	size := binary.LittleEndian.Uint32(data[14:])
	switch {
	case size == 12 && len(data) >= 26:
		h.Width = int(binary.LittleEndian.Uint16(data[18:]))
		h.Height = int(binary.LittleEndian.Uint16(data[20:]))
	case size >= 36 && len(data) >= 26:
		w := int64(int32(binary.LittleEndian.Uint32(data[18:])))
		ht := int64(int32(binary.LittleEndian.Uint32(data[22:])))
		if ht < 0 {
			ht = -ht // int64, so -2^31 stays positive and fails Check
		}
		if w > 1<<31-1 || ht > 1<<31-1 {
			// An int of this size would overflow OpenCV's abs(): refuse
			// it here rather than report it as merely large.
			return h, fmt.Errorf("size %dx%d does not fit a signed 32-bit integer", w, ht)
		}
		h.Width, h.Height = int(w), int(ht)
	default:
		return h, fmt.Errorf("info header of %d bytes unsupported", size)
	}
	return h, nil
}

// tiffHeader reads ImageWidth (256) and ImageLength (257) from the first
// directory of a classic TIFF. A repeated size tag is refused: libtiff and
// this reader might not pick the same one.
func tiffHeader(data []byte) (Header, error) {
	h := Header{Format: "tiff", Complete: true}
	var bo binary.ByteOrder = binary.LittleEndian
	if data[0] == 'M' {
		bo = binary.BigEndian
	}
	if len(data) < 8 {
		return h, errors.New("short header")
	}
	off := int64(bo.Uint32(data[4:]))
	if off < 8 || off+2 > int64(len(data)) {
		return h, fmt.Errorf("first directory at %d is outside the data", off)
	}
	n := int64(bo.Uint16(data[off:]))
	if off+2+12*n > int64(len(data)) {
		return h, errors.New("first directory runs past the data")
	}
	var w, ht int64 = -1, -1
	for e := int64(0); e < n; e++ {
		p := data[off+2+12*e:]
		tag, typ, count := bo.Uint16(p), bo.Uint16(p[2:]), bo.Uint32(p[4:])
		if tag != 256 && tag != 257 {
			continue
		}
		if count != 1 {
			return h, fmt.Errorf("size tag %d has %d values", tag, count)
		}
		var v int64
		switch typ {
		case 3: // SHORT
			v = int64(bo.Uint16(p[8:]))
		case 4: // LONG
			v = int64(bo.Uint32(p[8:]))
		default:
			return h, fmt.Errorf("size tag %d has type %d", tag, typ)
		}
		dst := &w
		if tag == 257 {
			dst = &ht
		}
		if *dst >= 0 {
			return h, fmt.Errorf("size tag %d repeated", tag)
		}
		*dst = v
	}
	if w < 0 || ht < 0 {
		return h, errors.New("first directory lacks ImageWidth or ImageLength")
	}
	if w > 1<<31-1 || ht > 1<<31-1 {
		return h, fmt.Errorf("size %dx%d does not fit a signed 32-bit integer", w, ht)
	}
	h.Width, h.Height = int(w), int(ht)
	return h, nil
}

// webpHeader reads the canvas size of a simple (VP8, VP8L) or extended
// (VP8X) WebP; both are at most 2^14 per side by the format.
func webpHeader(data []byte) (Header, error) {
	h := Header{Format: "webp", Complete: true}
	c, err := webp.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return h, err
	}
	h.Width, h.Height = c.Width, c.Height
	return h, nil
}
