package datasets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles creates files (relative path -> content) under a new temp dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const synsets3 = "n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\nn01484850 great white shark\n"

func TestLoadLabelsTxt(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"labels.txt":       "\uFEFFb.JPEG 2\r\n\n# comment\na.JPEG 0\nmy photo.jpg 1\n",
		"synset_words.txt": synsets3,
		"a.JPEG":           "x", "b.JPEG": "x", "my photo.jpg": "x",
		"extra.jpg": "not in labels.txt: ignored",
	})
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{"a.JPEG", 0}, {"b.JPEG", 2}, {"my photo.jpg", 1}}
	if !equalItems(s.Items, want) {
		t.Fatalf("items = %v, want %v", s.Items, want)
	}
	if len(s.Classes) != 3 || s.Classes[1] != (Class{1, "n01443537", "goldfish, Carassius auratus"}) {
		t.Fatalf("classes = %v", s.Classes)
	}
	if s.Name != filepath.Base(dir) || s.Path(0) != filepath.Join(dir, "a.JPEG") {
		t.Fatalf("name %q path %q", s.Name, s.Path(0))
	}
	if got := s.Labels(); got[0] != 0 || got[1] != 2 || got[2] != 1 {
		t.Fatalf("labels = %v", got)
	}
}

func TestLoadSynsetsGivenSeparately(t *testing.T) {
	syn := writeFiles(t, map[string]string{"syn.txt": synsets3})
	dir := writeFiles(t, map[string]string{"labels.txt": "a.jpg 2\n", "a.jpg": "x"})
	s, err := LoadWith(dir, Options{Synsets: filepath.Join(syn, "syn.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Classes) != 3 {
		t.Fatalf("classes = %v", s.Classes)
	}
	// With three classes, index 3 is out of range.
	dir2 := writeFiles(t, map[string]string{"labels.txt": "a.jpg 3\n", "a.jpg": "x"})
	if _, err := LoadWith(dir2, Options{Synsets: filepath.Join(syn, "syn.txt")}); err == nil ||
		!strings.Contains(err.Error(), "labels.txt:1: index 3 out of range 0..2") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadImageFolder(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"synset_words.txt":     synsets3,
		"n01484850/x.JPEG":     "x",
		"n01484850/deep/y.png": "x",
		"n01440764/z.jpg":      "x",
		"n01440764/notes.txt":  "ignored",
		"README.md":            "ignored",
	})
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{"n01440764/z.jpg", 0}, {"n01484850/deep/y.png", 2}, {"n01484850/x.JPEG", 2}}
	if !equalItems(s.Items, want) {
		t.Fatalf("items = %v, want %v", s.Items, want)
	}

	numeric := writeFiles(t, map[string]string{"7/a.jpg": "x", "999/b.jpg": "x"})
	s, err = Load(numeric)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Item{{"7/a.jpg", 7}, {"999/b.jpg", 999}}; !equalItems(s.Items, want) {
		t.Fatalf("items = %v, want %v", s.Items, want)
	}
}

func TestLoadGroundTruth(t *testing.T) {
	gt := writeFiles(t, map[string]string{"gt.txt": "ILSVRC2012_val_00000001.JPEG 65\n" +
		"ILSVRC2012_val_00000002.JPEG 970\nILSVRC2012_val_00000003.JPEG 230\n"})
	dir := writeFiles(t, map[string]string{
		"ILSVRC2012_val_00000002.JPEG": "x", "ILSVRC2012_val_00000001.JPEG": "x", "notes.txt": "x",
	})
	s, err := LoadWithGroundTruth(dir, filepath.Join(gt, "gt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{"ILSVRC2012_val_00000001.JPEG", 65}, {"ILSVRC2012_val_00000002.JPEG", 970}}
	if !equalItems(s.Items, want) {
		t.Fatalf("items = %v, want %v", s.Items, want)
	}
	m, err := ReadGroundTruth(filepath.Join(gt, "gt.txt"))
	if err != nil || len(m) != 3 || m["ILSVRC2012_val_00000003.JPEG"] != 230 {
		t.Fatalf("ReadGroundTruth = %v, %v", m, err)
	}

	// An image the ground truth does not know is an error.
	dir2 := writeFiles(t, map[string]string{"ILSVRC2012_val_00000009.JPEG": "x"})
	if _, err := LoadWithGroundTruth(dir2, filepath.Join(gt, "gt.txt")); err == nil ||
		!strings.Contains(err.Error(), "ILSVRC2012_val_00000009.JPEG") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadUnlabelled(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.jpg": "x", "b.png": "x"})
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "no labels.txt") {
		t.Fatalf("Load of an unlabelled folder: err = %v", err)
	}
	s, err := LoadWith(dir, Options{Unlabelled: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Item{{"a.jpg", Unknown}, {"b.png", Unknown}}; !equalItems(s.Items, want) {
		t.Fatalf("items = %v", s.Items)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string // substring of the error
	}{
		{"malformed", map[string]string{"labels.txt": "a.jpg 1\nb.jpg\n", "a.jpg": "", "b.jpg": ""}, "labels.txt:2: \"b.jpg\": want FILE INDEX"},
		{"not integer", map[string]string{"labels.txt": "a.jpg one\n", "a.jpg": ""}, "labels.txt:1: index \"one\" is not an integer"},
		{"out of range", map[string]string{"labels.txt": "a.jpg 1000\n", "a.jpg": ""}, "labels.txt:1: index 1000 out of range 0..999"},
		{"negative", map[string]string{"labels.txt": "a.jpg -1\n", "a.jpg": ""}, "labels.txt:1: index -1 out of range"},
		{"duplicate", map[string]string{"labels.txt": "a.jpg 1\nb.jpg 2\na.jpg 1\n", "a.jpg": "", "b.jpg": ""}, "labels.txt:3: duplicate entry for a.jpg (first on line 1)"},
		{"missing image", map[string]string{"labels.txt": "a.jpg 1\nb.jpg 2\n", "a.jpg": ""}, "names 1 images that are not in the folder: b.jpg (line 2)"},
		{"escape", map[string]string{"labels.txt": "../a.jpg 1\n"}, "must be a clean path inside the set folder"},
		{"empty", map[string]string{"labels.txt": "\n"}, "no images"},
		{"synset blank line", map[string]string{"labels.txt": "a.jpg 1\n", "a.jpg": "", "synset_words.txt": "n1 a\n\nn2 b\n"}, "synset_words.txt:2: blank line"},
		{"synset duplicate", map[string]string{"labels.txt": "a.jpg 1\n", "a.jpg": "", "synset_words.txt": "n1 a\nn1 b\n"}, "synset_words.txt:2: duplicate synset n1"},
		{"tf labels as synsets", map[string]string{"labels.txt": "a.jpg 1\n", "a.jpg": "", "synset_words.txt": "background\ntench\n"}, "1001-line TF labels file"},
		{"synset folder without synsets", map[string]string{"n01440764/a.jpg": ""}, "class folder n01440764 is a synset id but there is no synset_words.txt"},
		{"unknown synset folder", map[string]string{"n09999999/a.jpg": "", "synset_words.txt": synsets3}, "class folder n09999999 is not a synset"},
		{"bad folder name", map[string]string{"cats/a.jpg": ""}, "class folder \"cats\" is neither"},
		{"folder index out of range", map[string]string{"1000/a.jpg": ""}, "class folder \"1000\" is neither"},
		{"image outside class folders", map[string]string{"3/a.jpg": "", "b.jpg": ""}, "image b.jpg lies outside the class subfolders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestManyMissingImagesListed(t *testing.T) {
	var b strings.Builder
	for i := range 20 {
		b.WriteString(strings.Repeat("x", i+1) + ".jpg 1\n")
	}
	dir := writeFiles(t, map[string]string{"labels.txt": b.String()})
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "names 20 images") || !strings.Contains(err.Error(), "and 15 more") {
		t.Fatalf("err = %v", err)
	}
}

func TestHash(t *testing.T) {
	a := &Set{Dir: "/x", Items: []Item{{"a.jpg", 1}, {"b.jpg", 2}}}
	b := &Set{Dir: "/elsewhere", Items: []Item{{"b.jpg", 2}, {"a.jpg", 1}}}
	c := &Set{Dir: "/x", Items: []Item{{"a.jpg", 1}, {"b.jpg", 3}}}
	if a.Hash() != b.Hash() {
		t.Error("hash depends on order or folder")
	}
	if a.Hash() == c.Hash() {
		t.Error("hash ignores labels")
	}
	if len(a.Hash()) != 64 {
		t.Errorf("hash %q is not hex sha256", a.Hash())
	}
}

func equalItems(a, b []Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
