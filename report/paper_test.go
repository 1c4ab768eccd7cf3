package report

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"
)

// TestReadPaper: an artifact's paper values come from claims.yaml, with
// the setting; other artifacts', our own questions and words without a
// number give none; a folder without claims gives none and no error.
func TestReadPaper(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "claims.yaml")
	os.WriteFile(path, []byte(`setting: {label: "a board, 3 models", section: §1, quote: "we use a board"}
claims:
  - {id: a, artifact: f, claim: x, section: §5.1, quote: q, paper: "87.4%", measure: acc, compare: at_least, expect: 87.4}
  - {id: b, artifact: g, claim: x, section: §5.1, quote: q, paper: "1%", measure: other, compare: abs, expect: 1}
  - {id: c, artifact: f, claim: x, section: §5.2, quote: q, paper: "KNN", measure: name, compare: equal, expect: knn}
  - {id: d, artifact: f, claim: x, beyond_paper: true, paper: "ours", measure: mine, compare: abs, expect: 2}
`), 0o644)
	p, err := ReadPaper(path, "f")
	if err != nil {
		t.Fatal(err)
	}
	m, ok := p.Mark("acc")
	if !ok || m.Value != 87.4 || m.Label != "paper (§5.1): 87.4%\n(a board, 3 models)" {
		t.Errorf("mark acc = %+v, %v", m, ok)
	}
	for _, measure := range []string{"other", "name", "mine", "absent"} {
		if m, ok := p.Mark(measure); ok {
			t.Errorf("mark %s = %+v, want none", measure, m)
		}
	}
	if p, err := ReadPaper(filepath.Join(dir, "none.yaml"), "f"); err != nil || len(p.Claims) != 0 {
		t.Errorf("no claims file: %+v, %v", p, err)
	}
	os.WriteFile(path, []byte("setting: {label: x}\nclaims: []\n"), 0o644)
	if _, err := ReadPaper(path, "f"); err == nil || !strings.Contains(err.Error(), "setting needs label, section and quote") {
		t.Errorf("a setting without its quote: %v", err)
	}
}

// TestPointLabelsDoNotCollide: labels of points at the same place are
// drawn where they do not overlap.
func TestPointLabelsDoNotCollide(t *testing.T) {
	p := plot.New()
	xys := plotter.XYs{{X: 1, Y: 1}, {X: 1, Y: 1}, {X: 1.01, Y: 1}, {X: 5, Y: 5}}
	labels := []string{"first label", "second label", "third label", "far"}
	s, err := plotter.NewScatter(xys)
	if err != nil {
		t.Fatal(err)
	}
	l := newPointLabels(xys, labels, vg.Points(8))
	p.Add(s, l)
	rec := &recorder.Canvas{}
	p.Draw(draw.Canvas{Canvas: rec, Rectangle: vg.Rectangle{Max: vg.Point{X: 300, Y: 200}}})
	var boxes []vg.Rectangle
	for _, a := range rec.Actions {
		if fs, ok := a.(*recorder.FillString); ok && slices.Contains(labels, fs.String) {
			w, h := l.Style.Width(fs.String), l.Style.Height(fs.String)
			boxes = append(boxes, vg.Rectangle{Min: fs.Point, Max: vg.Point{X: fs.Point.X + w, Y: fs.Point.Y + h}})
		}
	}
	if len(boxes) < len(labels) {
		t.Fatalf("%d labels drawn, want %d", len(boxes), len(labels))
	}
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			if overlap(boxes[i], boxes[j]) > 0 {
				t.Errorf("labels %d and %d overlap: %v %v", i, j, boxes[i], boxes[j])
			}
		}
	}
}

func TestLogTicks(t *testing.T) {
	var labels []string
	for _, tk := range (logTicks{}).Ticks(0.4, 3) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got, want := strings.Join(labels, " "), "0.5 1 2"; got != want {
		t.Errorf("labels from 0.4 to 3: %q, want %q", got, want)
	}
	for _, tk := range (logTicks{}).Ticks(90, 1600) {
		if tk.Value < 90 || tk.Value > 1600 {
			t.Errorf("tick %v outside [90, 1600]", tk.Value)
		}
	}
}
