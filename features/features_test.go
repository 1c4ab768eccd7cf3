package features

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite DEFINITIONS.md and testdata/values.json")

// tableTwo is Table 2 of the paper, in its order.
var tableTwo = []string{
	"n_keypoints",
	"avg_brightness", "brightness_rms", "avg_perceived_brightness", "perceived_brightness_rms", "contrast",
	"edge_length1", "edge_length2", "edge_length3", "edge_length4", "edge_length5", "edge_length6", "edge_length7",
	"edge_angle1", "edge_angle2", "edge_angle3", "edge_angle4", "edge_angle5", "edge_angle6", "edge_angle7",
	"area_by_perim", "aspect_ratio",
	"hue1", "hue2", "hue3", "hue4", "hue5", "hue6", "hue7",
}

func TestNamesAreTableTwo(t *testing.T) {
	if got := Names(); !slices.Equal(got, tableTwo) {
		t.Fatalf("Names() = %v\nwant %v", got, tableTwo)
	}
	kinds := map[string]bool{KindKeypoints: true, KindBrightness: true, KindEdges: true, KindShape: true, KindHue: true}
	for _, f := range Features() {
		if f.Definition == "" || !kinds[f.Kind] || f.compute == nil || len(f.Products) == 0 {
			t.Errorf("%s: incomplete registration %+v", f.Name, f)
		}
		if g, ok := Lookup(f.Name); !ok || g.Definition != f.Definition {
			t.Errorf("Lookup(%q) failed", f.Name)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
}

func TestDefinitionsFile(t *testing.T) {
	want := MarkdownTable()
	if *update {
		if err := os.WriteFile("DEFINITIONS.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("DEFINITIONS.md")
	if err != nil {
		t.Fatalf("%v (run go test ./features -run TestDefinitionsFile -update)", err)
	}
	if string(got) != want {
		t.Fatal("DEFINITIONS.md is stale: run go test ./features -run TestDefinitionsFile -update")
	}
	for _, n := range tableTwo {
		if !strings.Contains(want, "`"+n+"`") {
			t.Errorf("%s missing from the table", n)
		}
	}
}

func TestNewExtractorErrors(t *testing.T) {
	_, err := NewExtractor([]string{"contrast", "hue8", "bogus"}, Options{})
	if err == nil || !strings.Contains(err.Error(), `"hue8"`) || !strings.Contains(err.Error(), `"bogus"`) ||
		!strings.Contains(err.Error(), "avg_perceived_brightness") {
		t.Errorf("unknown names: err = %v, want both names and the valid list", err)
	}
	if _, err := NewExtractor([]string{"contrast", "contrast"}, Options{}); err == nil {
		t.Error("duplicate name accepted")
	}
	if _, err := NewExtractor(nil, Options{MaxSide: -1}); err == nil {
		t.Error("negative MaxSide accepted")
	}
	ex, err := NewExtractor([]string{"hue2", "contrast"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ex.Names(), []string{"hue2", "contrast"}) || ex.MaxSide() != DefaultMaxSide {
		t.Errorf("Names %v MaxSide %d", ex.Names(), ex.MaxSide())
	}
	if k := ex.ConfigKey(); !strings.Contains(k, Version) || !strings.Contains(k, fmt.Sprint(DefaultMaxSide)) {
		t.Errorf("ConfigKey %q lacks version or MaxSide", k)
	}
}

// TestSubsetComputesOnlyWhatItNeeds checks that a subset extractor returns
// the full extractor's values and computes only its own products, each once.
func TestSubsetComputesOnlyWhatItNeeds(t *testing.T) {
	img := scene(t, 227, 227, 1)
	defer img.Close()
	full := extractAll(t, img, Options{})

	cases := []struct {
		names []string
		want  []string // products, besides "working"
	}{
		{[]string{"avg_brightness", "contrast"}, []string{productGray, productLuma}},
		{[]string{"hue3"}, []string{productHueHist}},
		{[]string{"avg_perceived_brightness", "hue1"}, []string{productHSP, productHueHist}},
		{[]string{"edge_angle2", "edge_angle5"}, []string{productGray, productCanny, productEdgeAngles}},
		{[]string{"edge_length1"}, []string{productGray, productCanny, productEdgeLengths}},
		{[]string{"n_keypoints"}, []string{productGray, productKeypoints}},
		{[]string{"aspect_ratio", "area_by_perim"}, []string{productGray, productObject}},
		// The seven features the paper's selection keeps (its Table 3).
		{[]string{"n_keypoints", "avg_perceived_brightness", "hue1", "contrast", "area_by_perim", "edge_length1", "aspect_ratio"},
			[]string{productGray, productKeypoints, productHSP, productHueHist, productLuma, productObject, productCanny, productEdgeLengths}},
		{nil, []string{productGray, productLuma, productHSP, productKeypoints, productCanny,
			productEdgeLengths, productEdgeAngles, productObject, productHueHist}},
	}
	for _, c := range cases {
		ex, err := NewExtractor(c.names, Options{})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		ex.onProduct = func(p string) { counts[p]++ }
		vals, err := ex.Extract(img)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range ex.Names() {
			if vals[i] != full[n] {
				t.Errorf("%v: %s = %v, full extractor %v", c.names, n, vals[i], full[n])
			}
		}
		want := append([]string{productWorking}, c.want...)
		var got []string
		for p, k := range counts {
			got = append(got, p)
			if k != 1 {
				t.Errorf("%v: product %s computed %d times", c.names, p, k)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%v: computed %v, want %v", c.names, got, want)
		}
		if ps := ex.Products(); !slices.Equal(ps, want) {
			t.Errorf("%v: Products() = %v, want %v", c.names, ps, want)
		}
	}
}

// TestConcurrentExtract runs one extractor from several goroutines (go test
// -race checks the sharing) and expects identical values.
func TestConcurrentExtract(t *testing.T) {
	img := scene(t, 200, 150, 3)
	defer img.Close()
	ex, err := NewExtractor(nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := ex.Extract(img)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 5 {
				got, err := ex.Extract(img)
				if err == nil && !slices.Equal(got, want) {
					err = os.ErrInvalid
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent extract: %v", err)
		}
	}
}
