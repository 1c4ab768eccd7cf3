//go:build matprofile

package features

import (
	"testing"

	"gocv.io/x/gocv"
)

// TestNoMatLeaks checks that decoding and extraction close every Mat they
// create, on success and on error. Run with: go test -tags matprofile ./features
func TestNoMatLeaks(t *testing.T) {
	img := scene(t, 300, 200, 13)
	defer img.Close()
	jpg := encode(t, ".jpg", img)
	ex, err := NewExtractor(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	before := gocv.MatProfile.Count()
	for range 3 {
		if _, err := ex.Extract(img); err != nil {
			t.Fatal(err)
		}
		if _, err := ex.ExtractBytes(jpg); err != nil {
			t.Fatal(err)
		}
		if _, err := ex.ExtractBytes(jpg[:len(jpg)/2]); err == nil {
			t.Fatal("truncated JPEG accepted")
		}
		if _, err := ex.ExtractBytes(badPrecision(jpg)); err == nil {
			t.Fatal("bad JPEG accepted")
		}
		tiny := solid(1, 1, 9, 9, 9)
		if _, err := ex.Extract(tiny); err != nil {
			t.Fatal(err)
		}
		tiny.Close()
	}
	if after := gocv.MatProfile.Count(); after != before {
		t.Errorf("%d Mats leaked", after-before)
	}
}
