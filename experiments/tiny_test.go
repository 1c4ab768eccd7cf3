package experiments

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/internal/onnxtest"
)

// The tiny project: four generated ONNX models of rising "cost" and a
// generated image set of four colours, built so that each colour has a
// different optimum model:
//
//	colour  label  a (1 ms)  b (2 ms)  c (3 ms)  d (8 ms)   optimum
//	red     11     ✓         ✓         ✓         ✓          a
//	green   12     ✗         ✓         ✓         ✓          b
//	blue    13     ✗         ✗         ✓         ✓          c
//	yellow  14     ✗         ✗         ✗         ✓          d
//
// Costs come from a latency file (as published figures would), so every
// target and every golden is deterministic.
const (
	tinyOutputs = 101 // background + 100 classes: zero-score ties fill top-5 with classes 0..4, never a label
	tinyImages  = 48
)

var tinyColours = []struct {
	c     color.RGBA
	label int
}{
	{color.RGBA{R: 220, G: 30, B: 30, A: 255}, 11},
	{color.RGBA{R: 30, G: 220, B: 30, A: 255}, 12},
	{color.RGBA{R: 30, G: 30, B: 220, A: 255}, 13},
	{color.RGBA{R: 210, G: 210, B: 40, A: 255}, 14},
}

// tinyWeights gives each model's [channel][output] weights: output o is
// class o-1. w sets weight v on channel ch for the output of class cls.
func tinyWeights(set func(w func(ch, cls int, v float32))) [][]float32 {
	w := make([][]float32, 3)
	for c := range w {
		w[c] = make([]float32, tinyOutputs)
	}
	set(func(ch, cls int, v float32) { w[ch][cls+1] = v })
	return w
}

func tinyModels() map[string][][]float32 {
	return map[string][][]float32{
		// a: red→11; green, blue→15; yellow→15 (green's weight wins).
		"a": tinyWeights(func(w func(int, int, float32)) { w(0, 11, 5); w(1, 15, 5.5); w(2, 15, 5) }),
		// b: red→11, green→12, blue→15; yellow→12.
		"b": tinyWeights(func(w func(int, int, float32)) { w(0, 11, 5); w(1, 12, 5.2); w(2, 15, 5) }),
		// c: red→11, green→12, blue→13; yellow→11.
		"c": tinyWeights(func(w func(int, int, float32)) { w(0, 11, 5.3); w(1, 12, 5); w(2, 13, 5) }),
		// d: all four, yellow through a class fed by red and green.
		"d": tinyWeights(func(w func(int, int, float32)) { w(0, 11, 5); w(1, 12, 5); w(2, 13, 5); w(0, 14, 4); w(1, 14, 4) }),
	}
}

// tinyImage draws colour c at a brightness and with stripes that vary by
// index, so brightness, edge and hue features vary across images.
func tinyImage(i int, c color.RGBA) image.Image {
	const size = 32
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	scale := 0.55 + 0.45*float64(i%7)/6
	period := 2 + i%5
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			f := scale
			if (x/period+y/(period+1))%2 == 0 {
				f *= 0.8
			}
			img.SetRGBA(x, y, color.RGBA{R: uint8(float64(c.R) * f), G: uint8(float64(c.G) * f), B: uint8(float64(c.B) * f), A: 255})
		}
	}
	return img
}

// tinyProject writes the models, their spec, the latency file and the
// image set into dir, and returns the image folder.
func tinyProject(t *testing.T, dir string) string {
	t.Helper()
	var spec strings.Builder
	spec.WriteString("models:\n")
	for _, name := range []string{"a", "b", "c", "d"} {
		b, err := onnxtest.Classifier{Size: 8, Outputs: tinyOutputs, Weights: tinyModels()[name]}.Build()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := onnxtest.Write(dir, name+".onnx", b); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&spec, "  - {name: %s, files: [%s.onnx], input_size: 8, label_offset: 1, num_classes: %d}\n", name, name, tinyOutputs-1)
	}
	writeText(t, filepath.Join(dir, "models.yaml"), spec.String())
	writeText(t, filepath.Join(dir, "latency.yaml"), "source: made up for the tests, one per model, rising\nunit: ms\n"+
		"latency: {a: 1, b: 2, c: 3, d: 8}\n")
	// The frontier's: the four models and a committee of two, with a
	// second image set (each trains, the other tests).
	writeText(t, filepath.Join(dir, "committees.yaml"), spec.String()+"  - {name: b+c, members: [b, c]}\n")
	writeText(t, filepath.Join(dir, "latency2.yaml"), "source: made up for the tests, one per model, rising\nunit: ms\n"+
		"latency: {a: 1, b: 2, c: 3, d: 8, b+c: 5}\n")
	set := filepath.Join(dir, "set")
	tinySet(t, set, 0)
	tinySet(t, filepath.Join(dir, "set2"), tinyImages)
	return set
}

// tinySet writes tinyImages images, from index first on, into dir.
func tinySet(t *testing.T, dir string, first int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var labels strings.Builder
	for i := first; i < first+tinyImages; i++ {
		c := tinyColours[i%len(tinyColours)]
		name := fmt.Sprintf("img_%03d.png", i)
		if err := imgtest.WritePNG(filepath.Join(dir, name), tinyImage(i, c.c)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&labels, "%s %d\n", name, c.label)
	}
	writeText(t, filepath.Join(dir, "labels.txt"), labels.String())
}

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tinySpecs are one spec per runnable kind on the tiny project (3-fold CV,
// no extraction timing, so everything but Fig 1d's times is deterministic).
func tinySpecs() map[string]string {
	common := "images:\n  - dir: set\nmodels: models.yaml\nlatency: latency.yaml\n"
	featsel := common + "learner: knn\nk: 3\nfolds: 3\nseed: 1\nthreshold: 0.75\ntolerance: 0.5\nresamples: 5\n"
	premodel := common + "criterion: top1\nk: 3\nfolds: 3\nseed: 1\nseeds: [1, 2]\nbootstrap: 200\ntheta: 0.5\nthreshold: 0.75\ntolerance: 0.5\n"
	curve := premodel + "resamples: 5\nlearner: knn-cascade\ncv_folds: 3\n"
	return map[string]string{
		"table1": "artifact: Table 1\ntitle: tiny\nkind: motivation-correctness\n" + common + "only: [d, c, b, a]\n",
		"fig1d":  "artifact: Fig 1d\ntitle: tiny\nkind: motivation-latency\n" + common + "only: [a, b, c, d]\n",
		"table2": "artifact: Table 2\ntitle: tiny\nkind: feature-list\n",
		"fig5":   "artifact: Fig 5\ntitle: tiny\nkind: optimum-shares\n" + common + "criterion: top1\ntheta: 0.5\n",
		"fig6":   "artifact: Fig 6\ntitle: tiny\nkind: selection-trace\n" + common + "criterion: top1\ntheta: 0.5\n",
		"table3": "artifact: Table 3\ntitle: tiny\nkind: correlation-filter\n" + featsel + "criterion: top1\n",
		"table4": "artifact: Table 4\ntitle: tiny\nkind: kept-features\n" + featsel + "criterion: top1\n",
		"fig7":   "artifact: Fig 7\ntitle: tiny\nkind: importance\n" + featsel + "criteria: [top1, top5]\n",
		"fig12":  "artifact: Fig 12\ntitle: tiny\nkind: importance\n" + featsel + "criteria: [top1, top5]\nfiltered: true\n",
		"fig13":  "artifact: Fig 13\ntitle: tiny\nkind: feature-sweep\n" + featsel + "criterion: top1\ntiming_images: 0\n",
		"scale":  "artifact: Scale\ntitle: tiny\nkind: paper-scale\nimport:\n  dir: topk\n  format: topk\n  dataset: tiny-val\n  ground_truth: topk/gt.txt\nlatency: latency.yaml\ncriterion: top1\ntheta: 0.5\n",
		"fig8":   "artifact: Fig 8\ntitle: tiny\nkind: overall\n" + premodel + "learner: knn-cascade\n",
		"fig9":   "artifact: Fig 9\ntitle: tiny\nkind: premodel-learners\n" + premodel + "learners: [knn, dt, svm]\n",
		"fig10":  "artifact: Fig 10\ntitle: tiny\nkind: hierarchies\n" + premodel + "learners: [knn.knn, knn.dt, dt.svm]\n",
		"fig11":  "artifact: Fig 11\ntitle: tiny\nkind: model-count\n" + premodel + "learner: knn\nmax_models: 3\n",
		"fig8-top5": "artifact: Fig 8 (top-5)\ntitle: tiny\nkind: overall\n" + strings.Replace(premodel, "criterion: top1", "criterion: top5", 1) +
			"learner: knn-cascade\n",
		"budget":         "artifact: Budget\ntitle: tiny\nkind: budget-curve\n" + premodel + "learner: knn\ntiming_images: 0\n",
		"learning-curve": "artifact: Learning curve\ntitle: tiny\nkind: learning-curve\n" + curve + "train_sizes: [10, 16]\npaper_train_images: 45000\n",
		"feature-info":   "artifact: Feature information\ntitle: tiny\nkind: feature-information\n" + curve + "bins: 4\npermutations: 20\n",
		"frontier": "artifact: Frontier\ntitle: tiny\nkind: frontier\nimages:\n  - dir: set\n  - dir: set2\nmodels: committees.yaml\n" +
			"ladder: models.yaml\nlatency: latency2.yaml\nlearner: knn-cascade\ncriterion: top1\nk: 3\nfolds: 3\nseed: 1\ntheta: 0.5\n" +
			"threshold: 0.75\ntolerance: 0.5\ntiming_images: 0\nbudgets: [0.6, 1, 1.5]\nbootstrap: 200\n",
		"stability": "artifact: Stability\ntitle: tiny\nkind: cost-stability\n" + common +
			"study: [a, b, c, d]\ntheta: 0.5\ndraws: 20\nseed: 1\n",
	}
}

// tinyTopK writes external per-image results for the paper-scale kind: the
// same four models' answers on 40 made-up images, b's file without TRUTH.
func tinyTopK(t *testing.T, dir string) {
	t.Helper()
	d := filepath.Join(dir, "topk")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	var gt strings.Builder
	rows := map[string]*strings.Builder{"a": {}, "b": {}, "c": {}, "d": {}}
	for i := 0; i < 40; i++ {
		file := fmt.Sprintf("v_%03d.JPEG", i)
		truth := i % 10
		fmt.Fprintf(&gt, "%s %d\n", file, truth)
		// Model m is right on image i when (i mod 5) < its rank: the
		// dearer the model, the more it gets right.
		for rank, m := range []string{"a", "b", "c", "d"} {
			pred := (truth + 1) % 10
			if i%5 <= rank {
				pred = truth
			}
			if m == "b" {
				fmt.Fprintf(rows[m], "%s,%d\n", file, pred)
			} else {
				fmt.Fprintf(rows[m], "%s,%d,%d\n", file, pred, truth)
			}
		}
	}
	writeText(t, filepath.Join(d, "gt.txt"), gt.String())
	for m, b := range rows {
		writeText(t, filepath.Join(d, "topk_ids_"+m+".csv"), b.String())
	}
}

func writeSpecs(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for name, body := range tinySpecs() {
		p := filepath.Join(dir, name+".yaml")
		writeText(t, p, "name: "+name+"\n"+body)
		paths[name] = p
	}
	return paths
}
