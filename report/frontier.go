package report

import (
	"errors"
	"fmt"
	"image/color"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// FrontierRow is one method of the frontier experiment on one train/test
// direction: trained (or chosen) on Train only, scored on Test, beside
// Test's most accurate single model (Reference) on the same images.
type FrontierRow struct {
	Train string `json:"train"`
	Test  string `json:"test"`
	// Group is what the method is: single, committee, committee cascade
	// (threshold or learned stop rule), softmax cascade, premodel, random,
	// oracle.
	Group  string `json:"group"`
	Method string `json:"method"`
	// Knob is a curve point's budget, as a multiple of the training
	// set's most accurate single model's latency (0: not a curve point).
	Knob float64 `json:"knob"`
	// Levels are a cascade's models in run order (" > "-joined).
	Levels  string  `json:"levels"`
	Top1Pct float64 `json:"top1_pct"`
	// Gain is Top1 minus the reference's on the same images, in points,
	// with its paired bootstrap interval.
	GainPP   float64 `json:"gain_pp"`
	GainLoPP float64 `json:"gain_lo_pp"`
	GainHiPP float64 `json:"gain_hi_pp"`
	// MeanMS is the mean latency per image: the costs of the models run
	// (one cost run) plus the router's own measured time (OverheadMS);
	// Ratio is it over the reference's latency, with a bootstrap interval
	// over images (equal bounds for a fixed model).
	MeanMS     float64 `json:"mean_ms"`
	OverheadMS float64 `json:"overhead_ms"`
	Ratio      float64 `json:"latency_ratio"`
	RatioLo    float64 `json:"latency_ratio_lo"`
	RatioHi    float64 `json:"latency_ratio_hi"`
	// TrainTop1Pct and TrainMeanMS are a trained method's result on the
	// training images (what its knob was set on).
	TrainTop1Pct float64 `json:"train_top1_pct"`
	TrainMeanMS  float64 `json:"train_mean_ms"`
	Reference    string  `json:"reference"`
}

// The groups of FrontierRow drawn as curves.
const (
	FrontierThreshold = "committee cascade (threshold)"
	FrontierLearned   = "committee cascade (learned stop)"
	FrontierSoftmax   = "softmax cascade"
)

func frontierDirection(r FrontierRow) string { return r.Train + " → " + r.Test }

// FrontierTable lists every comparison with its interval: every method
// but the curves' points, of which only the goals' budgets (0.6x, 1x).
func FrontierTable(rows []FrontierRow) string {
	var out [][]string
	for _, r := range rows {
		if r.Knob != 0 && r.Knob != 0.6 && r.Knob != 1 {
			continue
		}
		name := r.Method
		if r.Knob != 0 {
			name = fmt.Sprintf("%s @ budget %gx", r.Group, r.Knob)
		}
		out = append(out, []string{frontierDirection(r), name, f1(r.Top1Pct),
			fmt.Sprintf("%+.1f [%+.1f, %+.1f]", r.GainPP, r.GainLoPP, r.GainHiPP), f2(r.MeanMS),
			fmt.Sprintf("%.2f [%.2f, %.2f]", r.Ratio, r.RatioLo, r.RatioHi), r.Levels})
	}
	return Markdown([]string{"train → test", "method", "top-1 %", "Δ top-1 vs reference, points [95% CI]", "mean ms",
		"latency / reference [95% CI]", "models (run order)"}, out)
}

// FrontierCurveTable lists the curves' points: each budget, the setting
// the training images chose and its result there and on the test images.
func FrontierCurveTable(rows []FrontierRow) string {
	var out [][]string
	for _, r := range rows {
		if r.Knob == 0 {
			continue
		}
		out = append(out, []string{frontierDirection(r), r.Group, fmt.Sprintf("%gx", r.Knob), r.Levels,
			fmt.Sprintf("%s / %s", f1(r.TrainTop1Pct), f2(r.TrainMeanMS)), f1(r.Top1Pct),
			fmt.Sprintf("%+.1f [%+.1f, %+.1f]", r.GainPP, r.GainLoPP, r.GainHiPP), fmt.Sprintf("%.2f", r.Ratio)})
	}
	return Markdown([]string{"train → test", "curve", "budget", "models (run order)", "train top-1 % / ms", "test top-1 %",
		"Δ vs reference [95% CI]", "latency / reference"}, out)
}

// FrontierFigure draws, per direction, top-1 against mean latency (as a
// multiple of the test reference's): the curves as their budget moves,
// every other method as a point, and the goals' corners. Each panel is
// titled by its direction (the figure's title is the section's).
func FrontierFigure(rows []FrontierRow) (Figure, error) {
	if len(rows) == 0 {
		return Figure{}, errors.New("frontier: no rows")
	}
	var dirs []string
	by := map[string][]FrontierRow{}
	for _, r := range rows {
		d := frontierDirection(r)
		if _, ok := by[d]; !ok {
			dirs = append(dirs, d)
		}
		by[d] = append(by[d], r)
	}
	// Top row: the goals' region (within 10 points of the reference, up
	// to 1.6x its latency); bottom row: every method.
	grid := make([][]*plot.Plot, 2)
	for _, d := range dirs {
		for k, zoom := range []bool{true, false} {
			p, err := frontierPlot(d, by[d], zoom)
			if err != nil {
				return Figure{}, err
			}
			grid[k] = append(grid[k], p)
		}
	}
	return Figure{Plots: grid, Width: vg.Length(len(dirs)) * 16 * vg.Centimeter, Height: 24 * vg.Centimeter}, nil
}

func frontierPlot(dir string, rows []FrontierRow, zoom bool) (*plot.Plot, error) {
	p := bare()
	ref := rows[0].Reference
	p.Title.Text = dir + " (reference " + shortModel(ref) + ")"
	if zoom {
		p.Title.Text = dir + ": near the goals"
	}
	p.X.Label.Text, p.Y.Label.Text = "mean latency / reference's (one cost run)", "top-1 on the test images (%)"
	curves := map[string]plotter.XYs{}
	points := map[string]plotter.XYs{}
	var labXY plotter.XYs
	var labels []string
	refTop, low := 0.0, 100.0
	for _, r := range rows {
		low = min(low, r.Top1Pct)
		xy := plotter.XY{X: r.Ratio, Y: r.Top1Pct}
		if r.Method == ref {
			refTop = r.Top1Pct
		}
		if r.Knob != 0 {
			curves[r.Group] = append(curves[r.Group], xy)
			continue
		}
		points[r.Group] = append(points[r.Group], xy)
		switch r.Group {
		case "single", "committee":
			labXY, labels = append(labXY, xy), append(labels, shortModel(r.Method))
		case "premodel":
			labXY, labels = append(labXY, xy), append(labels, "premodel")
		}
	}
	// The goals' corners: (a) +1.5 points at 1x, (b) the reference's
	// top-1 at 0.6x; a point above and left of a corner meets its goal.
	var goals plotter.XYLabels
	for _, g := range []struct {
		x, y float64
		name string
	}{{1, refTop + 1.5, "(a)"}, {0.6, refTop, "(b)"}} {
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: g.y}, {X: g.x, Y: g.y}, {X: g.x, Y: 100}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Dashes = color.Gray{Y: 150}, []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(l)
		goals.XYs = append(goals.XYs, plotter.XY{X: g.x, Y: g.y})
		goals.Labels = append(goals.Labels, " goal "+g.name)
	}
	gl, err := plotter.NewLabels(goals)
	if err != nil {
		return nil, err
	}
	for i := range gl.TextStyle {
		gl.TextStyle[i].Font.Size, gl.TextStyle[i].Color = vg.Points(7), color.Gray{Y: 110}
	}
	p.Add(gl)
	names := make([]string, 0, len(curves))
	for g := range curves {
		names = append(names, g)
	}
	sort.Strings(names)
	for k, g := range names {
		xy := curves[g]
		sort.Slice(xy, func(i, j int) bool { return xy[i].X < xy[j].X })
		l, s, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, err
		}
		l.Color, s.Color = series(k), series(k)
		p.Add(l, s)
		p.Legend.Add(g, l, s)
	}
	groups := make([]string, 0, len(points))
	for g := range points {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	shapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}}
	for k, g := range groups {
		s, err := plotter.NewScatter(points[g])
		if err != nil {
			return nil, err
		}
		s.Shape, s.Color, s.Radius = shapes[k%len(shapes)], color.Gray{Y: 60}, vg.Points(3.5)
		p.Add(s)
		p.Legend.Add(g, s)
	}
	p.Add(newPointLabels(labXY, labels, vg.Points(6)))
	p.Legend.Top, p.Legend.Left = false, false
	p.X.Min = 0
	p.Y.Min = max(0, low-3)
	p.Y.Max = min(100, p.Y.Max+1)
	if zoom {
		p.X.Max, p.Y.Min = 1.6, refTop-10
		p.Legend = plot.NewLegend() // the full view's legend serves both
	}
	return p, nil
}
