package classifier

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"slices"
	"testing"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/route"
)

// recordingRouter keeps the features it was given and picks model a.
type recordingRouter struct{ got [][]float64 }

var recordedFeatures = []string{"n_keypoints", "contrast", "edge_length1", "hue1"}

func (*recordingRouter) Needs() route.Needs { return route.Needs{Features: recordedFeatures} }
func (*recordingRouter) Models() []string   { return []string{"a"} }
func (r *recordingRouter) Route(in route.Input) (route.Decision, error) {
	x, err := in.Features(recordedFeatures)
	if err != nil {
		return route.Decision{}, err
	}
	r.got = append(r.got, slices.Clone(x))
	return route.Decision{Model: "a", Reason: route.ReasonPremodel}, nil
}

// scene is a w x h image with edges, corners and colour, encoded as
// format ("jpeg" baseline, "progressive" through OpenCV, or "png").
func scene(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 90, 255}
			if (x/(w/7+1)+y/(h/5+1))%2 == 0 {
				c = color.RGBA{230, 40, uint8(x), 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	switch format {
	case "png":
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
	case "progressive":
		m, err := gocv.ImageToMatRGB(img)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegProgressive, 1})
		if err != nil {
			t.Fatal(err)
		}
		defer buf.Close()
		return bytes.Clone(buf.GetBytes())
	default:
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestDecodePlan checks that the features the router sees are the
// canonical ones (Extractor.ExtractBytes, as the training features were
// computed) whether the classifier decodes once or twice, and what Cost
// says it decodes. The tiny models read 8 px, so the model's decode is
// reduced from 16 px on the shorter side.
func TestDecodePlan(t *testing.T) {
	_, _, specs := tinyBundle(t, "knn", "")
	rr := &recordingRouter{}
	c, err := New(Config{Router: rr, Specs: specs}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ex, err := features.NewExtractor(recordedFeatures, features.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format        string
		w, h          int
		decodes       int
		pixels, bytes int64
	}{
		{"jpeg", 40, 30, 1, 40 * 30, 4 * 40 * 30},        // both in full (30/2 < 16)
		{"jpeg", 300, 200, 2, 150 * 100, 4 * 150 * 100},  // features 1/2 (300/2 ≥ 128), model 1/8
		{"jpeg", 1200, 900, 1, 150 * 113, 4 * 150 * 113}, // both 1/8
		{"png", 300, 200, 1, 300 * 200, 4 * 300 * 200},   // PNG decodes in full
		// Progressive: decoded as the baseline one, but libjpeg fills a
		// full-size coefficient buffer (added below): the work is the
		// whole image's.
		{"progressive", 300, 200, 2, 300 * 200, 4 * 150 * 100},
	} {
		data := scene(t, tc.format, tc.w, tc.h)
		want, err := ex.ExtractBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		rr.got = nil
		r, err := c.Classify(context.Background(), data)
		if err != nil {
			t.Fatalf("%s %dx%d: %v", tc.format, tc.w, tc.h, err)
		}
		if r.Model != "a" || len(rr.got) != 1 || !slices.Equal(rr.got[0], want) {
			t.Errorf("%s %dx%d: the router saw %v, ExtractBytes gives %v", tc.format, tc.w, tc.h, rr.got, want)
		}
		k, err := c.Cost(data)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := c.plan(data)
		wantBytes := tc.bytes + p.header.CoefficientBytes()
		if k.Decodes != tc.decodes || k.Pixels != tc.pixels || k.Bytes != wantBytes {
			t.Errorf("%s %dx%d: cost %+v (plan %+v), want %d decodes, %d pixels, %d bytes", tc.format, tc.w, tc.h, k, p, tc.decodes, tc.pixels, wantBytes)
		}
	}
	if _, err := c.Cost([]byte("not an image")); err == nil {
		t.Error("Cost of a non-image")
	}
}
