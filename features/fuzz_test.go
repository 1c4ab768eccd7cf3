package features_test

import (
	"errors"
	"testing"

	"github.com/modelpick/modelpick/features"
)

// FuzzExtractBytes feeds arbitrary bytes through the premodel's feature
// path: DecodeMax (header checks, reduced JPEG decoding) and Extract of all
// features. Corrupt, truncated, empty and non-image inputs must give an
// error wrapping features.ErrDecode, never a panic, a process abort or a
// non-finite value. Seeds: testdata/fuzz/FuzzExtractBytes.
func FuzzExtractBytes(f *testing.F) {
	ex, err := features.NewExtractor(nil, features.Options{MaxSide: 64})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := features.DecodeMax(data, ex.MaxSide())
		if err != nil {
			if !errors.Is(err, features.ErrDecode) {
				t.Fatalf("decode error does not wrap ErrDecode: %v", err)
			}
			return
		}
		defer img.Close()
		// Extract reports definitions that yield NaN or Inf as errors, so
		// any error on a decoded image is a finding.
		if _, err := ex.Extract(img); err != nil {
			t.Fatalf("extract a decoded %dx%d image: %v", img.Cols(), img.Rows(), err)
		}
	})
}
