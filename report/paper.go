package report

import (
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Paper is what the paper says that one experiment's figures can show:
// the claims of that artifact, and the setting its numbers come from.
// The numbers are read from claims.yaml when a figure is drawn, so a
// figure and the claims table never disagree.
type Paper struct {
	Setting string
	Claims  []Claim
}

// ReadPaper reads the claims of one artifact from a claims file; a
// missing file (a folder of specs without claims, such as a user's own)
// gives no paper values.
func ReadPaper(path, artifact string) (Paper, error) {
	f, err := ReadClaimsFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Paper{}, nil
	}
	if err != nil {
		return Paper{}, err
	}
	p := Paper{Setting: f.Setting.Label}
	for _, c := range f.Claims {
		if c.Artifact == artifact && !c.BeyondPaper && c.NotComparable == "" {
			p.Claims = append(p.Claims, c)
		}
	}
	return p, nil
}

// PaperMark is one of the paper's values to draw beside ours.
type PaperMark struct {
	Value float64
	// Label says whose value it is, where the paper says it and its words:
	// "paper (§5.1): 87.4%" and, below, the paper's setting.
	Label string
}

// Mark is the paper's value for a measure: the claim's expect, which
// for a numeric claim (abs, rel, at_least, at_most) is the paper's number.
func (p Paper) Mark(measure string) (PaperMark, bool) {
	for _, c := range p.Claims {
		if c.Measure != measure || c.Compare == "between" || c.Compare == "equal" {
			continue
		}
		v, ok := number(c.Expect)
		if !ok {
			continue
		}
		label := fmt.Sprintf("paper (%s): %s", c.Section, c.Paper)
		if p.Setting != "" {
			label += "\n(" + p.Setting + ")" // two lines, to fit a narrow panel
		}
		return PaperMark{Value: v, Label: label}, true
	}
	return PaperMark{}, false
}

// paperColour and diamondGlyph mark the paper's values: black diamonds,
// a shape none of our own series uses.
var paperColour = color.Black

type diamondGlyph struct{}

func (diamondGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius * 1.3
	poly := []vg.Point{{X: pt.X, Y: pt.Y + r}, {X: pt.X + r, Y: pt.Y}, {X: pt.X, Y: pt.Y - r}, {X: pt.X - r, Y: pt.Y}}
	c.FillPolygon(sty.Color, poly) // unclipped, like gonum's own glyphs
}

// addPaperPoints draws the paper's values at the given points as black
// diamonds, with one legend entry per mark.
func addPaperPoints(p *plot.Plot, at []plotter.XY, marks []PaperMark) error {
	for i, m := range marks {
		s, err := plotter.NewScatter(plotter.XYs{at[i]})
		if err != nil {
			return err
		}
		s.Shape, s.Color, s.Radius = diamondGlyph{}, paperColour, vg.Points(4)
		p.Add(s)
		p.Legend.Add(m.Label, s)
	}
	return nil
}

// addPaperLine draws the paper's value as a dashed black line across the
// plot, horizontal (a value of the y axis) or vertical (of the x axis),
// with a legend entry.
func addPaperLine(p *plot.Plot, m PaperMark, vertical bool, from, to float64) error {
	xys := plotter.XYs{{X: from, Y: m.Value}, {X: to, Y: m.Value}}
	if vertical {
		xys = plotter.XYs{{X: m.Value, Y: from}, {X: m.Value, Y: to}}
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color, l.Width, l.Dashes = paperColour, vg.Points(1.2), []vg.Length{vg.Points(5), vg.Points(3)}
	p.Add(l)
	p.Legend.Add(m.Label, l)
	return nil
}

// shortModel abbreviates a model or committee name for a label, by one
// stated rule (REPRODUCE.md's captions repeat it): "mobilenet_" and
// "tf2_mobilenet_" become "" and "tf2_", and a trailing "_224" (the
// ladder's default input size) is dropped.
func shortModel(name string) string {
	parts := strings.Split(name, "+")
	for i, m := range parts {
		m = strings.TrimPrefix(m, "mobilenet_")
		m = strings.Replace(m, "tf2_mobilenet_", "tf2_", 1)
		m = strings.TrimSuffix(m, "_224")
		parts[i] = m
	}
	return strings.Join(parts, "+")
}

// pointLabels is a plotter of text labels beside points, each placed at
// the first of several spots around its point (right, left, above,
// below, then further out) where it overlaps no label placed before it
// and no point; a label that fits nowhere takes the spot it overlaps
// least. Unlike plotter.Labels, labels of nearby points do not collide.
type pointLabels struct {
	XYs    plotter.XYs
	Labels []string
	Style  draw.TextStyle
}

func newPointLabels(xys plotter.XYs, labels []string, size vg.Length) *pointLabels {
	ts := draw.TextStyle{Color: color.Black, Handler: plot.DefaultTextHandler, Font: plot.DefaultFont}
	ts.Font.Size = size
	return &pointLabels{XYs: xys, Labels: labels, Style: ts}
}

// Plot implements plot.Plotter.
func (l *pointLabels) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	pts := make([]vg.Point, len(l.XYs))
	for i, xy := range l.XYs {
		pts[i] = vg.Point{X: trX(xy.X), Y: trY(xy.Y)}
	}
	const r = 3 // a point's half size, in points
	var placed []vg.Rectangle
	for _, p := range pts {
		placed = append(placed, vg.Rectangle{Min: vg.Point{X: p.X - r, Y: p.Y - r}, Max: vg.Point{X: p.X + r, Y: p.Y + r}})
	}
	for i, txt := range l.Labels {
		if txt == "" || !c.Contains(pts[i]) {
			continue
		}
		w, h := l.Style.Width(txt), l.Style.Height(txt)
		p := pts[i]
		gap := vg.Points(4)
		var spots []vg.Point // lower-left corners, nearest first
		for _, k := range []vg.Length{1, 2.5, 4} {
			g := gap * k
			spots = append(spots,
				vg.Point{X: p.X + g, Y: p.Y - h/2},       // right
				vg.Point{X: p.X - g - w, Y: p.Y - h/2},   // left
				vg.Point{X: p.X - w/2, Y: p.Y + g},       // above
				vg.Point{X: p.X - w/2, Y: p.Y - g - h},   // below
				vg.Point{X: p.X + g, Y: p.Y + g},         // above right
				vg.Point{X: p.X + g, Y: p.Y - g - h},     // below right
				vg.Point{X: p.X - g - w, Y: p.Y + g},     // above left
				vg.Point{X: p.X - g - w, Y: p.Y - g - h}) // below left
		}
		for n := vg.Length(1); n <= 4; n++ { // stacked beside the point
			for _, dy := range []vg.Length{n * h, -n * h} {
				spots = append(spots, vg.Point{X: p.X + gap, Y: p.Y - h/2 + dy}, vg.Point{X: p.X - gap - w, Y: p.Y - h/2 + dy})
			}
		}
		best, bestOverlap := vg.Rectangle{}, math.Inf(1)
		for _, s := range spots {
			rect := vg.Rectangle{Min: s, Max: vg.Point{X: s.X + w, Y: s.Y + h}}
			ov := 0.0
			for _, q := range placed {
				ov += overlap(rect, q)
			}
			// Outside the data area counts as overlap too.
			ov += float64(rect.Size().X*rect.Size().Y) - overlap(rect, vg.Rectangle{Min: c.Min, Max: c.Max})
			if ov < bestOverlap {
				best, bestOverlap = rect, ov
			}
			if ov == 0 {
				break
			}
		}
		placed = append(placed, best)
		c.FillText(l.Style, vg.Point{X: best.Min.X, Y: best.Min.Y}, txt)
	}
}

func overlap(a, b vg.Rectangle) float64 {
	w := math.Min(float64(a.Max.X), float64(b.Max.X)) - math.Max(float64(a.Min.X), float64(b.Min.X))
	h := math.Min(float64(a.Max.Y), float64(b.Max.Y)) - math.Max(float64(a.Min.Y), float64(b.Min.Y))
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// logIfWide puts an axis of costs on a log scale when they span more
// than a decade; the caller says so (in the axis label, or in the title
// where a long vertical label would push the panel out of line).
func logIfWide(ax *plot.Axis, vals ...float64) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if v > 0 {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if !(hi > 10*lo) {
		return false
	}
	setLog(ax)
	return true
}

// setLog puts an axis on a log scale with logTicks.
func setLog(ax *plot.Axis) {
	ax.Scale = plot.LogScale{}
	ax.Tick.Marker = logTicks{}
}

// logTicks labels 1, 2 and 5 times each power of ten, with unlabelled
// ticks at the other integers, all within the axis: gonum's LogTicks
// labels powers of ten only, so an axis from 0.4 to 3 ms read "1" alone,
// and adds a tick at the next power beyond the data, whose label pads the
// panel out of line with its neighbours.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi >= lo) {
		return nil
	}
	var out []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow(10, e)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			out = append(out, t)
		}
	}
	return out
}
