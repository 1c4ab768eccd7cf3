package main

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

// exampleProject writes what a user brings to experiments/examples: three
// generated ONNX models of 20 classes in a spec, and two labelled image
// folders (a labels.txt one to train on, a class-folder one to test on)
// of four colours. Each colour has another optimum model: a knows red, b
// red and green, c red, green and blue; yellow none.
func exampleProject(t *testing.T, n int) (models, train, test string) {
	t.Helper()
	dir := t.TempDir()
	const outputs = 21                  // background + 20 classes
	weights := map[string][][3]float32{ // class → weights on R, G, B
		"a": {11: {5, 0, 0}, 15: {0, 5.5, 5}},
		"b": {11: {5, 0, 0}, 12: {0, 5.2, 0}, 15: {0, 0, 5}},
		"c": {11: {5.3, 0, 0}, 12: {0, 5, 0}, 13: {0, 0, 5}},
	}
	var spec strings.Builder
	spec.WriteString("models:\n")
	for _, name := range []string{"a", "b", "c"} {
		w := make([][]float32, 3)
		for ch := range w {
			w[ch] = make([]float32, outputs)
			for cls, v := range weights[name] {
				if cls > 0 {
					w[ch][cls+1] = v[ch]
				}
			}
		}
		b, err := onnxtest.Classifier{Size: 8, Outputs: outputs, Weights: w}.Build()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := onnxtest.Write(dir, name+".onnx", b); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&spec, "  - {name: %s, files: [%s.onnx], input_size: 8, label_offset: 1, num_classes: 20}\n", name, name)
	}
	models = filepath.Join(dir, "models.yaml")
	writeFile(t, models, spec.String())
	colours := []struct {
		c     color.RGBA
		label int
	}{{color.RGBA{R: 220, G: 30, B: 30, A: 255}, 11}, {color.RGBA{R: 30, G: 220, B: 30, A: 255}, 12},
		{color.RGBA{R: 30, G: 30, B: 220, A: 255}, 13}, {color.RGBA{R: 210, G: 210, B: 40, A: 255}, 14}}
	// Brightness and stripes vary by index, so the features vary.
	img := func(i int, c color.RGBA) image.Image {
		m := image.NewRGBA(image.Rect(0, 0, 32, 32))
		f0, period := 0.55+0.45*float64(i%7)/6, 2+i%5
		for y := range 32 {
			for x := range 32 {
				f := f0
				if (x/period+y/(period+1))%2 == 0 {
					f *= 0.8
				}
				m.SetRGBA(x, y, color.RGBA{R: uint8(float64(c.R) * f), G: uint8(float64(c.G) * f), B: uint8(float64(c.B) * f), A: 255})
			}
		}
		return m
	}
	train, test = filepath.Join(dir, "train"), filepath.Join(dir, "test")
	var labels strings.Builder
	for i := range 2 * n {
		c := colours[i%len(colours)]
		path, name := filepath.Join(train, fmt.Sprintf("img_%03d.png", i)), fmt.Sprintf("img_%03d.png", i)
		if i >= n { // the test set: one folder per class
			path = filepath.Join(test, fmt.Sprint(c.label), name)
		} else {
			fmt.Fprintf(&labels, "%s %d\n", name, c.label)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := imgtest.WritePNG(path, img(i, c.c)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(train, "labels.txt"), labels.String())
	return models, train, test
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// exampleArgs is the command README's "Your own models and images" gives
// (make example), outputs under out.
func exampleArgs(out string, extra ...string) []string {
	return append([]string{"reproduce", "-dir", filepath.Join("..", "..", "experiments", "examples"), "-live",
		"-results", filepath.Join(out, "results"), "-figures", filepath.Join(out, "figures"), "-out", filepath.Join(out, "REPORT.md"),
		"-cache", filepath.Join(out, "cache"), "-quiet"}, extra...)
}

// TestExampleEndToEnd runs experiments/examples, the full method, on
// generated ONNX models and images: profile, Algorithm 1, the paper's
// premodel, cascades and committees, the frontier figure and the report.
// Its duration in make test's log is the example's time in CI.
func TestExampleEndToEnd(t *testing.T) {
	models, train, test := exampleProject(t, 48)
	t.Setenv("MODELS", models)
	t.Setenv("IMAGES", train)
	t.Setenv("TEST_IMAGES", test)
	out := t.TempDir()
	// 3 folds, short latency timing: the method's steps, not its milliseconds.
	stdout, stderr, err := cli(t, exampleArgs(out, "-folds", "3")...)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout, stderr)
	}
	for _, name := range []string{"shares", "selection", "premodel", "frontier"} {
		if !strings.Contains(stdout, name) {
			t.Errorf("no line for %s:\n%s", name, stdout)
		}
		if _, err := os.Stat(filepath.Join(out, "results", name, "manifest.json")); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "figures", "frontier.png")); err != nil {
		t.Error(err)
	}
	rep, err := os.ReadFile(filepath.Join(out, "REPORT.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Algorithm 1", "premodel", "committee cascade", "figures/frontier"} {
		if !strings.Contains(string(rep), want) {
			t.Errorf("REPORT.md lacks %q", want)
		}
	}
}

// TestExampleErrors: what a user gets wrong first names the file and the
// fix, before anything runs: a folder with no labels, a model whose class
// count differs from the labels, specs mixing criteria, a variable unset.
func TestExampleErrors(t *testing.T) {
	models, train, test := exampleProject(t, 8)
	t.Setenv("MODELS", models)
	t.Setenv("IMAGES", train)
	t.Setenv("TEST_IMAGES", test)
	out := t.TempDir()
	try := func(name string, args []string, want ...string) {
		t.Helper()
		stdout, _, err := cli(t, args...) // a failed experiment's reason is on its line
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error()+stdout, w) {
				t.Errorf("%s: %v\n%s\nwant it to say %q", name, err, stdout, w)
			}
		}
	}
	// (a) a folder of images and no labels.
	if err := os.Remove(filepath.Join(train, "labels.txt")); err != nil {
		t.Fatal(err)
	}
	try("no labels", exampleArgs(out), train, "found no labels.txt and no class subfolders", "add labels.txt (lines FILE INDEX)")
	// (b) labels naming classes the models do not have (num_classes 20 > 13).
	var labels strings.Builder
	for i := range 8 {
		fmt.Fprintf(&labels, "img_%03d.png %d\n", i, 25+i%2)
	}
	writeFile(t, filepath.Join(train, "labels.txt"), labels.String())
	try("class count", exampleArgs(out), "model a (a.onnx) answers 20 classes", filepath.Join(train, "labels.txt"), "class 26",
		"set num_classes (and label_offset) in the model spec")
	// (c) one spec of the folder on another criterion.
	dir := t.TempDir()
	src := filepath.Join("..", "..", "experiments", "examples")
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "selection.yaml" {
			b = []byte(strings.Replace(string(b), "criterion: top1", "criterion: top5", 1))
		}
		writeFile(t, filepath.Join(dir, e.Name()), string(b))
	}
	mixed := append(exampleArgs(out), "-dir", dir)
	try("mixed criteria", mixed, filepath.Join(dir, "selection.yaml"), "field criterion: top5", "set criterion: top1 here too",
		"or name this spec selection-top5.yaml")
	// An unset variable names itself, not the spec's folder.
	t.Setenv("TEST_IMAGES", "")
	try("unset variable", exampleArgs(out), "the environment variable TEST_IMAGES is not set")
	if _, err := os.Stat(filepath.Join(out, "results")); err == nil {
		t.Error("a refused run wrote results")
	}
}
