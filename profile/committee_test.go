package profile

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/measure"
)

// A committee is profiled like any model: its stored top-5 and correctness
// are those of the mean of its members' full outputs on each image, and
// its cost is a timed run of its own.
func TestCommitteeProfiledLikeAModel(t *testing.T) {
	f := newFixture(t, 8)
	spec := `models:
  - {name: a, files: [a.onnx], input_size: 8, label_offset: 1, num_classes: 10, crop_fraction: 0.875}
  - {name: b, files: [b.onnx], input_size: 8, label_offset: 1, num_classes: 10}
  - {name: ab, members: [a, b]}
`
	sf, err := inference.ParseSpec([]byte(spec), f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.specs = sf.Models
	st := f.open(t, "c.db")
	o := f.options(st)
	o.Cost = true
	o.Timing = measure.TimingOptions{Warmup: 2, MinRuns: 5, MaxRuns: 50, Confidence: 0.95, RelHalfWidth: 0.5, MaxDuration: 5 * time.Second}
	sum, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Predictions != 24 || len(sum.Costs) != 3 || sum.Costs[2].Model != "ab" || sum.Costs[2].N < 5 {
		t.Fatalf("summary %+v", sum)
	}
	preds, err := st.Predictions(context.Background(), f.set.Name)
	if err != nil {
		t.Fatal(err)
	}

	// The expected rows: members loaded on their own, their outputs
	// averaged by hand.
	a, err := inference.Load(sf.Models[0], o.Load)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := inference.Load(sf.Models[1], o.Load)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	checked := 0
	mean := make([]float32, 11)
	for _, p := range preds {
		if p.Model != "ab" {
			continue
		}
		img, err := inference.DecodeImageFile(filepath.Join(f.set.Dir, p.File))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []*inference.Model{a, b} {
			if _, err := m.Classify(img, 1); err != nil {
				t.Fatal(err)
			}
		}
		img.Close()
		for c := range mean {
			mean[c] = (a.Scores()[c] + b.Scores()[c]) / 2
		}
		want := Prediction(f.set.Name, itemOf(t, f, p.File), "ab", inference.Top(mean, TopK, 1, 10))
		for k := range want.Top5Idx {
			if p.Top5Idx[k] != want.Top5Idx[k] || float32(p.Top5Score[k]) != float32(want.Top5Score[k]) {
				t.Fatalf("%s: committee top-5 %v %v, mean of members gives %v %v", p.File, p.Top5Idx, p.Top5Score, want.Top5Idx, want.Top5Score)
			}
		}
		if p.Correct1 != want.Correct1 || p.Correct5 != want.Correct5 {
			t.Fatalf("%s: committee correctness %v/%v, want %v/%v", p.File, p.Correct1, p.Correct5, want.Correct1, want.Correct5)
		}
		checked++
	}
	if checked != 8 {
		t.Fatalf("%d committee rows, want 8", checked)
	}
	models, err := st.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range models {
		if m.Name == "ab" && m.FilesSHA256 != a.FilesSHA+","+b.FilesSHA {
			t.Errorf("committee registered with files hash %q, want its members' %q", m.FilesSHA256, a.FilesSHA+","+b.FilesSHA)
		}
	}
}

func itemOf(t *testing.T, f fixture, file string) datasets.Item {
	t.Helper()
	for _, it := range f.set.Items {
		if it.File == file {
			return it
		}
	}
	t.Fatalf("no item %s", file)
	return datasets.Item{}
}
