package featsel

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/modelpick/modelpick/features"
)

func TestTimeSets(t *testing.T) {
	var imgs [][]byte
	for i := range 3 {
		img := image.NewRGBA(image.Rect(0, 0, 64+8*i, 48))
		for y := range 48 {
			for x := range 64 + 8*i {
				img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), uint8(i * 80), 255})
			}
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, nil); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, b.Bytes())
	}
	ms, err := TimeSets([][]string{features.Names(), {"contrast"}}, imgs, features.Options{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0] <= 0 || ms[1] <= 0 {
		t.Fatalf("times %v", ms)
	}
	if _, err := TimeSets([][]string{{"contrast"}}, [][]byte{{1, 2, 3}}, features.Options{}, 1); err == nil {
		t.Error("a corrupt image timed without error")
	}
	if _, err := TimeSets([][]string{{"nope"}}, imgs, features.Options{}, 1); err == nil {
		t.Error("an unknown feature timed without error")
	}
}
