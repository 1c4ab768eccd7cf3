package features

import (
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"sort"
	"strings"
	"sync"

	"gocv.io/x/gocv"
)

// Version identifies the definitions and defaults of every feature. Bump it
// whenever any computed value can change (a threshold, a bin edge, a default
// option), so values stored under the old version are recomputed.
const Version = "features-v2"

// DefaultMaxSide is the default longest side of the working image. It was
// 256 px (features-v1), about what the classifiers see; 128 px
// (features-v2), the input of the cheapest ladder model, cuts a full
// extraction from about 2 ms to about 0.5 ms on one core, which matters
// because ONNX Runtime runs that model in about 0.5 ms and MobileNet v1 1.0
// in about 4.4 ms (profile costs on the development machine). The premodel
// only needs coarse, global statistics of the image, not fine detail.
const DefaultMaxSide = 128

// Kinds group the features by the file (and intermediate products) they
// come from.
const (
	KindKeypoints  = "keypoints"
	KindBrightness = "brightness"
	KindEdges      = "edges"
	KindShape      = "shape"
	KindHue        = "hue"
)

// histBins is the number of bins of every histogram feature (Table 2 lists
// edge_length1..7, edge_angle1..7 and hue1..7).
const histBins = 7

// Feature describes one named feature.
type Feature struct {
	Name       string // as in Table 2, e.g. "edge_angle3"
	Kind       string // one of the Kind constants
	Definition string // exact definition, as in DEFINITIONS.md
	// Products lists the intermediate products the feature reads, in the
	// order it needs them (informative; the extractor computes them lazily).
	Products []string

	compute func(*frame) (float64, error)
}

// Features returns every feature in Table 2 order. The slice is fresh on
// each call; callers may modify it.
func Features() []Feature { return registry() }

// Names returns the feature names in Table 2 order.
func Names() []string {
	fs := registry()
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	return names
}

// Lookup returns the feature called name.
func Lookup(name string) (Feature, bool) {
	for _, f := range registry() {
		if f.Name == name {
			return f, true
		}
	}
	return Feature{}, false
}

// Options tune extraction. The zero value means the defaults.
type Options struct {
	// MaxSide is the longest side, in pixels, of the working image: larger
	// images are shrunk first (Gaussian pyramid, then bilinear); smaller
	// ones are kept as they are. 0 means DefaultMaxSide. It changes feature
	// values, so it is part of ConfigKey.
	MaxSide int
}

// Extractor computes a chosen subset of the features. It holds no per-image
// state and is safe for concurrent use.
type Extractor struct {
	feats   []Feature
	maxSide int
	// scratch keeps Go buffers (*scratch) between images: no allocation
	// per image once warm.
	scratch *sync.Pool
	// onProduct, when set (only by this package's tests), is told each
	// intermediate product as it is computed.
	onProduct func(product string)
}

// NewExtractor returns an Extractor for the named features, whose values
// Extract returns in the order given. A nil or empty names means all
// features. Unknown or repeated names are an error.
func NewExtractor(names []string, opts Options) (*Extractor, error) {
	if opts.MaxSide < 0 {
		return nil, fmt.Errorf("features: MaxSide %d is negative", opts.MaxSide)
	}
	if opts.MaxSide == 0 {
		opts.MaxSide = DefaultMaxSide
	}
	all := registry()
	if len(names) == 0 {
		return &Extractor{feats: all, maxSide: opts.MaxSide, scratch: newScratchPool()}, nil
	}
	byName := make(map[string]Feature, len(all))
	for _, f := range all {
		byName[f.Name] = f
	}
	seen := make(map[string]bool, len(names))
	feats := make([]Feature, 0, len(names))
	var unknown []string
	for _, n := range names {
		f, ok := byName[n]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		if seen[n] {
			return nil, fmt.Errorf("features: %q requested twice", n)
		}
		seen[n] = true
		feats = append(feats, f)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("features: unknown feature %s; valid names: %s",
			strings.Join(unknown, ", "), strings.Join(Names(), ", "))
	}
	return &Extractor{feats: feats, maxSide: opts.MaxSide, scratch: newScratchPool()}, nil
}

// Names returns the extractor's feature names, in the order of Extract's
// values.
func (e *Extractor) Names() []string {
	names := make([]string, len(e.feats))
	for i, f := range e.feats {
		names[i] = f.Name
	}
	return names
}

// MaxSide returns the working image's longest side in effect.
func (e *Extractor) MaxSide() int { return e.maxSide }

// ConfigKey identifies everything besides the image that determines the
// values: Version and the options. Key stored values by image hash plus this.
func (e *Extractor) ConfigKey() string {
	return fmt.Sprintf("%s;max_side=%d", Version, e.maxSide)
}

// Products returns the intermediate products the extractor's features need,
// sorted: what one Extract call computes, at most once each.
func (e *Extractor) Products() []string {
	set := map[string]bool{productWorking: true}
	for _, f := range e.feats {
		for _, p := range f.Products {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Extract computes the features of img, in the order of e.Names(). img must
// be 8-bit with 1 (grey), 3 (BGR) or 4 (BGRA) channels; it is not modified.
// Images with a side above MaxSide are shrunk first.
func (e *Extractor) Extract(img gocv.Mat) ([]float64, error) {
	work, err := workingImage(img, e.maxSide)
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	defer work.Close()
	return e.extractWorking(work)
}

// ExtractBytes decodes an encoded image (JPEG, PNG, BMP, TIFF or WebP) and
// computes its features. Large JPEGs are decoded at reduced scale by libjpeg
// (see DecodeMax); this is the canonical path for stored values.
func (e *Extractor) ExtractBytes(data []byte) ([]float64, error) {
	img, err := DecodeMax(data, e.maxSide)
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	defer img.Close()
	return e.Extract(img)
}

// ExtractFile reads, decodes and extracts one image file.
func (e *Extractor) ExtractFile(path string) ([]float64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	vals, err := e.ExtractBytes(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vals, nil
}

func (e *Extractor) extractWorking(work gocv.Mat) ([]float64, error) {
	f := newFrame(work, e.onProduct)
	f.scratch = e.scratch.Get().(*scratch)
	defer func() {
		e.scratch.Put(f.scratch)
		f.close()
	}()
	if e.onProduct != nil {
		e.onProduct(productWorking)
	}
	out := make([]float64, len(e.feats))
	for i, ft := range e.feats {
		v, err := ft.compute(f)
		if err != nil {
			return nil, fmt.Errorf("features: %s: %w", ft.Name, err)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			// A definition that can produce NaN is a bug here, not a
			// property of the image: fail loudly rather than store it.
			return nil, fmt.Errorf("features: %s is not finite (%v)", ft.Name, v)
		}
		out[i] = v
	}
	return out, nil
}

func newScratchPool() *sync.Pool {
	return &sync.Pool{New: func() any { return new(scratch) }}
}

// workingImage returns a new continuous 8-bit BGR Mat of img, shrunk so its
// longest side is at most maxSide (see shrink). The caller closes it. It
// shrinks before converting channels, so a huge grey or BGRA input never
// gets a full-size BGR copy.
func workingImage(img gocv.Mat, maxSide int) (gocv.Mat, error) {
	if img.Empty() {
		return gocv.Mat{}, errors.New("empty image")
	}
	if d := len(img.Size()); d != 2 {
		return gocv.Mat{}, fmt.Errorf("image has %d dimensions, want 2", d)
	}
	conv := gocv.ColorConversionCode(-1)
	switch img.Type() {
	case gocv.MatTypeCV8UC3:
	case gocv.MatTypeCV8UC1:
		conv = gocv.ColorGrayToBGR
	case gocv.MatTypeCV8UC4:
		conv = gocv.ColorBGRAToBGR
	default:
		return gocv.Mat{}, fmt.Errorf("image type %v unsupported, want 8-bit with 1, 3 or 4 channels", img.Type())
	}
	src := img
	if max(img.Cols(), img.Rows()) > maxSide {
		small, err := shrink(img, maxSide)
		if err != nil {
			return gocv.Mat{}, err
		}
		if conv < 0 {
			return small, nil
		}
		defer small.Close()
		src = small
	}
	if conv < 0 {
		return src.Clone(), nil // a copy is also continuous when img is a Region
	}
	bgr := gocv.NewMat()
	gocv.CvtColor(src, &bgr, conv)
	return bgr, nil
}

// shrink returns img scaled so its longest side is exactly maxSide (which
// must be smaller than img's): Gaussian-pyramid halvings (OpenCV pyrDown,
// 5x5 binomial filter then every other pixel) while the longest side is at
// least 2*maxSide, then one bilinear (INTER_LINEAR) step of less than 2x.
// The pyramid removes what would alias; a bilinear step below 2x aliases
// little. This costs a fifth of OpenCV's INTER_AREA at a non-integer ratio
// (about 0.07 vs 0.35 ms for 227 px to 128 px), which mattered because the
// cheapest ladder model runs in about 0.5 ms.
func shrink(img gocv.Mat, maxSide int) (gocv.Mat, error) {
	src := img
	var owned []gocv.Mat
	defer func() {
		for _, m := range owned {
			m.Close()
		}
	}()
	for max(src.Cols(), src.Rows()) >= 2*maxSide && min(src.Cols(), src.Rows()) >= 2 {
		half := gocv.NewMat()
		gocv.PyrDown(src, &half, image.Pt(0, 0), gocv.BorderDefault)
		owned = append(owned, half)
		if half.Empty() {
			return gocv.Mat{}, fmt.Errorf("pyramid step from %dx%d failed", src.Cols(), src.Rows())
		}
		src = half
	}
	w, h := src.Cols(), src.Rows()
	s := float64(maxSide) / float64(max(w, h))
	size := image.Pt(max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s))))
	out := gocv.NewMat()
	gocv.Resize(src, &out, size, 0, 0, gocv.InterpolationLinear)
	if out.Empty() {
		out.Close()
		return gocv.Mat{}, fmt.Errorf("resize %dx%d to %dx%d failed", img.Cols(), img.Rows(), size.X, size.Y)
	}
	return out, nil
}
