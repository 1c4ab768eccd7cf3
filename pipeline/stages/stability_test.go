package stages

import (
	"testing"

	"github.com/modelpick/modelpick/profileview"
)

// TestPerImageTargets: an image whose per-image latencies order two
// near-tied models the other way than their means gets another target
// than the means give; the tie rule may agree with either.
func TestPerImageTargets(t *testing.T) {
	v := &profileview.View{Datasets: []string{"d"}, Models: []string{"big", "twin_a", "twin_b"},
		Cost: []float64{5, 2.00, 2.02}, MMACs: []float64{900, 300, 300}, Resolution: profileview.Resolution,
		Items:    []profileview.Item{{File: "1"}, {File: "2"}, {File: "3"}},
		Correct1: [][]bool{{true, true, true}, {true, false, true}, {false, false, false}}}
	lat := func(file string, ms ...float64) []ImageLatencyOf {
		var out []ImageLatencyOf
		for j, m := range v.Models {
			out = append(out, ImageLatencyOf{Dataset: "d", ImageLatency: ImageLatency{File: file, Model: m, MeanMS: ms[j]}})
		}
		return out
	}
	// Image 1: twin_b faster on it than twin_a (the means say the
	// opposite); image 2: the order agrees; image 3: not timed for
	// every model.
	in := append(lat("1", 5, 2.1, 2.0), lat("2", 5, 2.0, 2.1)...)
	in = append(in, ImageLatencyOf{Dataset: "d", ImageLatency: ImageLatency{File: "3", Model: "big", MeanMS: 5}})
	pi, ok, err := perImageTargets(v, in)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if pi.Images != 2 || pi.OrderDiffers != 1 || pi.DifferRaw != 1 || pi.DifferRule != 1 {
		t.Errorf("%+v: want 2 images, 1 order and 1 target different (raw: twin_a; rule: twin_a by name)", pi)
	}
	if _, ok, _ := perImageTargets(v, nil); ok {
		t.Error("no per-image latencies gave a comparison")
	}
}
