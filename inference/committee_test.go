package inference

import (
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/internal/onnxtest"
)

// channelWeights returns Classifier weights whose output o gets logit
// logits[o] on a white image normalised to 1 (only the red row is used).
func channelWeights(logits ...float32) [][]float32 {
	w := [][]float32{logits, make([]float32, len(logits)), make([]float32, len(logits))}
	return w
}

// committeeModels writes two tiny classifiers into dir: on a white image
// a.onnx prefers class 0 and b.onnx class 1, while both give class 2 a
// close second, so their mean prefers class 2, which neither picks alone.
func committeeModels(t *testing.T, dir string) {
	t.Helper()
	for name, w := range map[string][][]float32{
		"a.onnx": channelWeights(0, 5, 0, 4.9, 0, 0, 0, 0, 0, 0, 0),
		"b.onnx": channelWeights(0, 0, 5, 4.9, 0, 0, 0, 0, 0, 0, 0),
	} {
		b, err := onnxtest.Classifier{Size: 8, Outputs: 11, Weights: w}.Build()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := onnxtest.Write(dir, name, b); err != nil {
			t.Fatal(err)
		}
	}
}

const committeeYAML = `models:
  - name: c
    members: [a, b]
  - name: a
    files: [a.onnx]
    input_size: 8
    std: [255, 255, 255]
    label_offset: 1
    num_classes: 10
    mmacs: 1.5
  - name: b
    files: [b.onnx]
    input_size: 8
    std: [255, 255, 255]
    label_offset: 1
    num_classes: 10
    mmacs: 2
`

func TestCommitteeSpec(t *testing.T) {
	dir := t.TempDir()
	committeeModels(t, dir)
	sf, err := ParseSpec([]byte(committeeYAML), dir)
	if err != nil {
		t.Fatalf("valid committee rejected: %v", err)
	}
	c := sf.Models[0]
	if !c.IsCommittee() || len(c.MemberSpecs) != 2 || c.MemberSpecs[1].Name != "b" {
		t.Fatalf("members not resolved: %+v", c)
	}
	if c.LabelOffset != 1 || c.NumClasses != 10 || c.MMACs != 3.5 {
		t.Errorf("committee layout/mmacs = %d, %d, %g; want 1, 10, 3.5", c.LabelOffset, c.NumClasses, c.MMACs)
	}
	if got := c.FilePaths(); len(got) != 2 || got[0] != filepath.Join(dir, "a.onnx") || got[1] != filepath.Join(dir, "b.onnx") {
		t.Errorf("FilePaths = %v", got)
	}
	// A single model's JSON (stored with its profiles, part of cache keys)
	// must not change because committees exist.
	if j := sf.Models[1].JSON(); strings.Contains(j, "member") {
		t.Errorf("single model JSON mentions members: %s", j)
	}
	if j := c.JSON(); !strings.Contains(j, `"member_specs":[{"name":"a"`) {
		t.Errorf("committee JSON lacks its member specs: %s", j)
	}

	cases := []struct{ name, from, to, want string }{
		{"unknown member", "members: [a, b]", "members: [a, zz]", `field members[1]: no model "zz" in this spec file (its single models: a, b)`},
		{"duplicate", "members: [a, b]", "members: [a, b, a]", `field members[2]: "a" is listed twice (also members[0])`},
		{"empty list", "members: [a, b]", "members: []", "field members: empty"},
		{"null", "members: [a, b]", "members:", "models[0]: field members (line 3): empty"},
		{"one member", "members: [a, b]", "members: [a]", `field members: only "a"`},
		{"own files", "members: [a, b]", "members: [a, b]\n    files: [a.onnx]", "field files: a committee takes it from its members"},
		{"own preprocessing", "members: [a, b]", "members: [a, b]\n    input_size: 8", "field input_size: a committee takes it"},
		{"own layout", "members: [a, b]", "members: [a, b]\n    num_classes: 10", "field num_classes: a committee takes it"},
		{"nested", "  - name: a\n", "  - name: d\n    members: [c, b]\n  - name: a\n", `models[1] (d): field members[0]: "c" is itself a committee, and committees do not nest`},
		{"class layout", "files: [b.onnx]\n    input_size: 8\n    std: [255, 255, 255]\n    label_offset: 1\n    num_classes: 10",
			"files: [b.onnx]\n    input_size: 8\n    std: [255, 255, 255]\n    label_offset: 0\n    num_classes: 11",
			`field members[1]: "b" has label_offset 0 and num_classes 11`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.Replace(committeeYAML, tc.from, tc.to, 1)
			if y == committeeYAML {
				t.Fatalf("case did not change the spec")
			}
			_, err := ParseSpec([]byte(y), dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}

	// The file is named, and a hand-built committee is checked on Load too.
	p := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(p, []byte(strings.Replace(committeeYAML, "[a, b]", "[a, zz]", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSpecFile(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "models[0] (c)") {
		t.Errorf("error should name the file and entry: %v", err)
	}
	if _, err := Load(Spec{Name: "x", Members: []string{"a", "b"}}, Options{CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "load committees with ParseSpecFile") {
		t.Errorf("unresolved committee: %v", err)
	}
}

func whiteImage(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "white.png")
	if err := imgtest.WritePNG(p, imgtest.Solid(12, 12, color.RGBA{255, 255, 255, 255})); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommitteeAveragesMembers(t *testing.T) {
	dir := t.TempDir()
	committeeModels(t, dir)
	sf, err := ParseSpec([]byte(committeeYAML), dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{CacheDir: t.TempDir()}
	var ms []*Model
	for _, s := range sf.Models {
		m, err := Load(s, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		ms = append(ms, m)
	}
	c, a, b := ms[0], ms[1], ms[2]
	if c.FilesSHA != a.FilesSHA+","+b.FilesSHA || len(c.Members()) != 2 {
		t.Errorf("committee files hash %q, members %d", c.FilesSHA, len(c.Members()))
	}
	img, err := DecodeImageFile(whiteImage(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	want := []int{2, 0, 1} // c, a, b
	for i, m := range ms {
		top, err := m.Classify(img, 3)
		if err != nil {
			t.Fatal(err)
		}
		if top.Index[0] != want[i] {
			t.Errorf("%s: top %v, want class %d first", m.Spec.Name, top.Index, want[i])
		}
	}
	mean := make([]float32, 11)
	MeanScores(mean, a.Scores(), b.Scores())
	for k, v := range c.Scores() {
		if v != mean[k] {
			t.Fatalf("committee score %d = %g, mean of the separately run members = %g", k, v, mean[k])
		}
	}
	// The background output is averaged like the others, then skipped.
	if mean[0] == 0 {
		t.Errorf("background output is 0 in the mean: test models should give it mass")
	}
}

func TestCommitteeRefusesLogits(t *testing.T) {
	dir := t.TempDir()
	committeeModels(t, dir)
	b, err := onnxtest.Classifier{Size: 8, Outputs: 11, Logits: true}.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnxtest.Write(dir, "b.onnx", b); err != nil {
		t.Fatal(err)
	}
	sf, err := ParseSpec([]byte(committeeYAML), dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(sf.Models[0], Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	img, err := DecodeImageFile(whiteImage(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if _, err := c.Classify(img, 1); err == nil || !strings.Contains(err.Error(), "member b") || !strings.Contains(err.Error(), "not logits") {
		t.Fatalf("logits member: %v", err)
	}
}
