//go:build matprofile

package classifier

import (
	"context"
	"testing"

	"gocv.io/x/gocv"
)

// TestNoMatLeaks checks that Classify closes every Mat it decodes, with
// one decode or two, and on errors. Run with: go test -tags matprofile ./classifier
func TestNoMatLeaks(t *testing.T) {
	_, _, specs := tinyBundle(t, "knn", "")
	rr := &recordingRouter{}
	c, err := New(Config{Router: rr, Specs: specs}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	imgs := [][]byte{
		scene(t, "jpeg", 40, 30),          // one decode
		scene(t, "jpeg", 300, 200),        // two decodes
		scene(t, "png", 300, 200),         // one full decode
		scene(t, "progressive", 300, 200), // two decodes of a buffered JPEG
	}
	bad := [][]byte{[]byte("not an image"), imgs[1][:len(imgs[1])/2]}
	before := gocv.MatProfile.Count()
	for range 3 {
		for _, img := range imgs {
			if _, err := c.Classify(context.Background(), img); err != nil {
				t.Fatal(err)
			}
		}
		for _, img := range bad {
			if _, err := c.Classify(context.Background(), img); err == nil {
				t.Fatal("bad image accepted")
			}
		}
	}
	if after := gocv.MatProfile.Count(); after != before {
		t.Errorf("%d Mats leaked", after-before)
	}
}
