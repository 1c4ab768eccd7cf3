// Package imgtest writes small synthetic images and labelled sets for
// tests, so no test needs the shared assets.
package imgtest

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
)

// Solid returns a w x h image of one colour.
func Solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// WriteJPEG encodes img at high quality into path.
func WriteJPEG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 95}); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}

// WritePNG encodes img into path.
func WritePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}

// Entry is one image of a synthetic labelled set.
type Entry struct {
	File  string
	Color color.RGBA
	Label int
}

// Palette is the colours a synthetic set cycles through: with
// onnxtest.DefaultWeights, red, green and blue images win different classes.
var Palette = []color.RGBA{
	{R: 220, G: 20, B: 20, A: 255},
	{R: 20, G: 220, B: 20, A: 255},
	{R: 20, G: 20, B: 220, A: 255},
	{R: 200, G: 200, B: 40, A: 255},
}

// WriteSet writes n solid JPEGs (size x size) cycling through Palette with
// the labels labelOf(i), a labels.txt in the shared format, and returns the
// entries. Names are zero-padded so sorted order equals index order.
func WriteSet(dir string, n, size int, labelOf func(i int) int) ([]Entry, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var lines strings.Builder
	entries := make([]Entry, n)
	for i := 0; i < n; i++ {
		e := Entry{File: fmt.Sprintf("img_%05d.jpg", i), Color: Palette[i%len(Palette)], Label: labelOf(i)}
		if err := WriteJPEG(filepath.Join(dir, e.File), Solid(size, size, e.Color)); err != nil {
			return nil, err
		}
		fmt.Fprintf(&lines, "%s %d\n", e.File, e.Label)
		entries[i] = e
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.txt"), []byte(lines.String()), 0o644); err != nil {
		return nil, err
	}
	return entries, nil
}
