package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is one or more plots laid out in a grid, at a size.
type Figure struct {
	Plots         [][]*plot.Plot
	Width, Height vg.Length
}

// single wraps one plot.
func single(p *plot.Plot, w, h vg.Length) Figure {
	return Figure{Plots: [][]*plot.Plot{{p}}, Width: w, Height: h}
}

// pngDPI is the PNG resolution: sharp enough for a README, small in git.
const pngDPI = 110

// Encode renders the figure as "svg" or "png".
func (f Figure) Encode(format string) ([]byte, error) {
	if len(f.Plots) == 0 || len(f.Plots[0]) == 0 {
		return nil, errors.New("figure: no plots")
	}
	var buf bytes.Buffer
	switch format {
	case "svg":
		cv := vgsvg.New(f.Width, f.Height)
		f.draw(draw.New(cv))
		if _, err := cv.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("figure: svg: %w", err)
		}
	case "png":
		cv := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(pngDPI))}
		f.draw(draw.New(cv))
		if _, err := cv.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("figure: png: %w", err)
		}
	default:
		return nil, fmt.Errorf("figure: format %q, want svg or png", format)
	}
	return buf.Bytes(), nil
}

func (f Figure) draw(dc draw.Canvas) {
	rows, cols := len(f.Plots), len(f.Plots[0])
	if rows == 1 && cols == 1 {
		f.Plots[0][0].Draw(dc)
		return
	}
	t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(f.Plots, t, dc)
	for i := range f.Plots {
		for j, p := range f.Plots[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
}

// Colours: a blue for ordinary bars, an orange for what a figure
// highlights (the chosen model); series cycles for grouped bars.
var (
	blue   = color.RGBA{R: 55, G: 110, B: 180, A: 255}
	orange = color.RGBA{R: 230, G: 130, B: 30, A: 255}
)

func series(i int) color.Color {
	cs := []color.RGBA{blue, orange, {R: 80, G: 160, B: 80, A: 255}, {R: 170, G: 60, B: 60, A: 255}}
	return cs[i%len(cs)]
}

func newPlot(title, x, y string) *plot.Plot {
	p := bare()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.Y.Min = 0
	return p
}

// bare is a plot in this package's style: legends at 9 points, so that
// panels of one figure match whether or not they carry the paper's
// two-line entries.
func bare() *plot.Plot {
	p := plot.New()
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{}, plainTicks{}
	return p
}

// plainTicks are gonum's default ticks with labels in the fewest digits
// that tell them apart: the defaults gave one precision to a whole axis,
// so a percentage axis read "0.00, 25.00, 50.00".
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ts {
		if t.Label != "" {
			ts[i].Label = strconv.FormatFloat(t.Value, 'f', -1, 64)
			if len(ts[i].Label) > len(t.Label) { // a value like 0.30000000000000004
				ts[i].Label = t.Label
			}
		}
	}
	return ts
}

// yErrorBars draws errs as vertical error bars at xys.
func yErrorBars(xys plotter.XYs, errs plotter.YErrors) (*plotter.YErrorBars, error) {
	return plotter.NewYErrorBars(struct {
		plotter.XYs
		plotter.YErrors
	}{xys, errs})
}

// rotateX slants the x tick labels so long model names fit.
func rotateX(p *plot.Plot) {
	p.X.Tick.Label.Rotation = math.Pi / 5
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YTop
}

// headroom leaves space above the tallest bar (and its error bar).
func headroom(p *plot.Plot) {
	p.Y.Max += 0.08 * (p.Y.Max - p.Y.Min)
}

// bars adds one bar per value, highlighted where hi[i] is true.
func bars(p *plot.Plot, vals []float64, hi []bool, width vg.Length, col, hiCol color.Color) error {
	base := make(plotter.Values, len(vals))
	top := make(plotter.Values, len(vals))
	for i, v := range vals {
		if hi != nil && hi[i] {
			top[i] = v
		} else {
			base[i] = v
		}
	}
	b, err := plotter.NewBarChart(base, width)
	if err != nil {
		return err
	}
	b.Color, b.LineStyle.Width = col, 0
	p.Add(b)
	if hi != nil {
		h, err := plotter.NewBarChart(top, width)
		if err != nil {
			return err
		}
		h.Color, h.LineStyle.Width = hiCol, 0
		p.Add(h)
	}
	return nil
}

// SharesFigure is Fig 5: the share of images for which each model is the
// optimum, models in cost order, the models Algorithm 1 chose highlighted,
// and the share no model gets right; the paper's top share (its
// top_share_pct claim) as a diamond on our top model's bar.
func SharesFigure(title string, rows []OptimumShare, nonePct float64, paper Paper) (Figure, error) {
	rows = append([]OptimumShare(nil), rows...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Cost < rows[j].Cost })
	p := newPlot(title, "", "images for which it is the optimum (%)")
	var names []string
	var vals []float64
	var hi []bool
	top := -1
	for i, r := range rows {
		names = append(names, shortModel(r.Model))
		vals = append(vals, r.SharePct)
		hi = append(hi, r.Chosen)
		if top < 0 || r.SharePct > rows[top].SharePct {
			top = i
		}
	}
	names = append(names, "none correct")
	vals = append(vals, nonePct)
	hi = append(hi, false)
	if err := bars(p, vals, hi, vg.Points(14), blue, orange); err != nil {
		return Figure{}, err
	}
	p.NominalX(names...)
	rotateX(p)
	p.Legend.Top = true
	p.Legend.Add("chosen by Algorithm 1", swatchOf(orange))
	if m, ok := paper.Mark("top_share_pct"); ok && top >= 0 {
		if err := addPaperPoints(p, []plotter.XY{{X: float64(top), Y: m.Value}}, []PaperMark{m}); err != nil {
			return Figure{}, err
		}
	}
	legendRoom(p, 100)
	return single(p, 16*vg.Centimeter, 11*vg.Centimeter), nil
}

// swatchThumb is a legend entry of a colour.
type swatchThumb struct{ c color.Color }

func (s swatchThumb) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y}}
	poly := c.ClipPolygonY(pts)
	c.FillPolygon(s.c, poly)
}

func swatchOf(c color.Color) plot.Thumbnailer { return swatchThumb{c} }

// SubsetAccuracyFigure is Fig 6: each model's accuracy on all images (a),
// on those the first chosen model fails (b), and on those the first two
// fail (c); the model Algorithm 1 picks at each step highlighted, and the
// paper's second model on (b)'s images (its step2_subset_accuracy_pct
// claim) as a diamond on our pick.
func SubsetAccuracyFigure(rows []SubsetAccuracy, paper Paper) (Figure, error) {
	var panels []string
	byPanel := map[string][]SubsetAccuracy{}
	for _, r := range rows {
		if _, ok := byPanel[r.Panel]; !ok {
			panels = append(panels, r.Panel)
		}
		byPanel[r.Panel] = append(byPanel[r.Panel], r)
	}
	if len(panels) == 0 {
		return Figure{}, errors.New("fig 6: no rows")
	}
	var plots []*plot.Plot
	for _, pn := range panels {
		rs := byPanel[pn]
		// The subset's full name (which models) is in the table; titles stay short.
		title := fmt.Sprintf("(%s) all %d images", pn, rs[0].Images)
		if pn != "a" {
			title = fmt.Sprintf("(%s) the %d images the set so far gets wrong", pn, rs[0].Images)
		}
		p := newPlot(title, "", "accuracy (%)")
		var names []string
		var vals []float64
		var hi []bool
		picked := -1
		for i, r := range rs {
			names, vals, hi = append(names, shortModel(r.Model)), append(vals, r.AccuracyPct), append(hi, r.Picked)
			if r.Picked {
				picked = i
			}
		}
		if err := bars(p, vals, hi, vg.Points(10), blue, orange); err != nil {
			return Figure{}, err
		}
		p.NominalX(names...)
		rotateX(p)
		p.Legend.Top = true
		p.Legend.Add("picked by Algorithm 1 at this step", swatchOf(orange))
		if m, ok := paper.Mark("step2_subset_accuracy_pct"); ok && pn == "b" && picked >= 0 {
			if err := addPaperPoints(p, []plotter.XY{{X: float64(picked), Y: m.Value}}, []PaperMark{m}); err != nil {
				return Figure{}, err
			}
		}
		p.Y.Max = 100
		legendRoom(p, 100)
		plots = append(plots, p)
	}
	return Figure{Plots: [][]*plot.Plot{plots}, Width: vg.Length(len(plots)) * 12 * vg.Centimeter, Height: 11 * vg.Centimeter}, nil
}

// legendRoom raises the y axis above the data so the legend (top) sits
// clear of it, while the ticks stop at the data's own top (at most most,
// for a percentage axis; 0: no limit). The data area is taken as about
// 7 cm high, as in this package's figures.
func legendRoom(p *plot.Plot, most float64) {
	top := p.Y.Max
	if most > 0 {
		top = math.Min(top, most)
	}
	if !(top > p.Y.Min) {
		return // no data range to keep the legend clear of
	}
	h := p.Legend.Rectangle(draw.Canvas{}).Size().Y + vg.Points(6)
	frac := math.Min(0.6, math.Max(0.08, float64(h)/float64(7*vg.Centimeter)))
	if _, log := p.Y.Scale.(plot.LogScale); log {
		p.Y.Tick.Marker = plot.ConstantTicks(p.Y.Tick.Marker.Ticks(p.Y.Min, top))
		p.Y.Max = top * math.Pow(top/p.Y.Min, frac/(1-frac))
		return
	}
	p.Y.Max = top + frac/(1-frac)*(top-p.Y.Min)
	p.Y.Tick.Marker = plot.ConstantTicks(plot.DefaultTicks{}.Ticks(p.Y.Min, top))
}

// ImageTimeFigure is Fig 1d: each model's inference time on each of the
// motivation study's images, with its 95% confidence interval.
func ImageTimeFigure(rows []ImageTime) (Figure, error) {
	var images []int
	byImage := map[int][]ImageTime{}
	for _, r := range rows {
		if _, ok := byImage[r.Image]; !ok {
			images = append(images, r.Image)
		}
		byImage[r.Image] = append(byImage[r.Image], r)
	}
	if len(images) == 0 {
		return Figure{}, errors.New("fig 1d: no rows")
	}
	var plots []*plot.Plot
	for _, im := range images {
		rs := byImage[im]
		p := newPlot(fmt.Sprintf("image %d: %s", im, rs[0].Role), "", "inference time (ms; mean, 95% interval)")
		var names []string
		vals := make(plotter.Values, len(rs))
		errs := make(plotter.YErrors, len(rs))
		xys := make(plotter.XYs, len(rs))
		for i, r := range rs {
			names = append(names, shortModel(r.Model))
			vals[i] = r.MeanMS
			xys[i] = plotter.XY{X: float64(i), Y: r.MeanMS}
			errs[i].Low, errs[i].High = r.MeanMS-r.CILowMS, r.CIHighMS-r.MeanMS
		}
		b, err := plotter.NewBarChart(vals, vg.Points(16))
		if err != nil {
			return Figure{}, err
		}
		b.Color, b.LineStyle.Width = blue, 0
		eb, err := yErrorBars(xys, errs)
		if err != nil {
			return Figure{}, err
		}
		p.Add(b, eb)
		p.NominalX(names...)
		rotateX(p)
		headroom(p)
		plots = append(plots, p)
	}
	return Figure{Plots: [][]*plot.Plot{plots}, Width: vg.Length(len(plots)) * 9 * vg.Centimeter, Height: 10 * vg.Centimeter}, nil
}

// ImportanceFigure is Figs 7 and 12, one row per criterion, features in
// rank order, Table 4's in orange: (left) the premodel accuracy each
// feature's removal costs, in points (median over resamples with its 95%
// interval; negative when removing it helps), and (right) that loss's
// share of all positive losses, in % (the paper's Fig 7 quantity, median
// and 95% over resamples). The paper's values (claims.yaml) are drawn
// where it states them: Fig 7's largest and smallest shares as diamonds
// on our first and last feature, Fig 12's "drop at feature N" as a
// dashed line through the Nth feature.
func ImportanceFigure(title string, rows []Importance, paper Paper) (Figure, error) {
	var crits []string
	by := map[string][]Importance{}
	for _, r := range rows {
		if _, ok := by[r.Criterion]; !ok {
			crits = append(crits, r.Criterion)
		}
		by[r.Criterion] = append(by[r.Criterion], r)
	}
	if len(crits) == 0 {
		return Figure{}, errors.New("importance: no rows")
	}
	var grid [][]*plot.Plot
	most := 0
	for _, c := range crits {
		rs := by[c]
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].Rank < rs[j].Rank })
		most = max(most, len(rs))
		key := strings.ReplaceAll(c, "-", "") // "top-1" -> the measures' "top1"
		names := make([]string, len(rs))
		hi := make([]bool, len(rs))
		drop, share := make([]float64, len(rs)), make([]float64, len(rs))
		dropLo, dropHi, shareLo, shareHi := make([]float64, len(rs)), make([]float64, len(rs)), make([]float64, len(rs)), make([]float64, len(rs))
		for i, r := range rs {
			names[i], hi[i] = r.Feature, r.InTable4
			drop[i], dropLo[i], dropHi[i] = r.DropMedianPP, r.DropLoPP, r.DropHiPP
			share[i], shareLo[i], shareHi[i] = r.ImportancePct, r.ImportanceLoPct, r.ImportanceHiPct
		}
		// Short titles: with Table 4's one or two features a panel is
		// narrow, and a long title ran into its neighbour's. The figure's
		// name and the statistic are in the caption and the axis labels.
		const how = " (median, 95% over resamples)"
		dp, err := intervalBars(c+": accuracy lost without it", "accuracy lost (points)"+how,
			names, drop, dropLo, dropHi, hi)
		if err != nil {
			return Figure{}, err
		}
		sp, err := intervalBars(c+": its share of all losses", "share of all losses (%)"+how,
			names, share, shareLo, shareHi, hi)
		if err != nil {
			return Figure{}, err
		}
		for _, p := range []*plot.Plot{dp, sp} {
			p.Legend.Top = true
			p.Legend.Add("in Table 4", swatchOf(orange))
		}
		var at []plotter.XY
		var marks []PaperMark
		for _, k := range []struct {
			measure string
			x       int
		}{{"top_importance_pct_" + key, 0}, {"min_importance_pct_" + key, len(rs) - 1}} {
			if m, ok := paper.Mark(k.measure); ok {
				at, marks = append(at, plotter.XY{X: float64(k.x), Y: m.Value}), append(marks, m)
			}
		}
		if err := addPaperPoints(sp, at, marks); err != nil {
			return Figure{}, err
		}
		if m, ok := paper.Mark("importance_drop_at_" + key); ok {
			// Through the Nth feature's bar (x counts from 0).
			m.Value--
			if err := addPaperLine(dp, m, true, dp.Y.Min, dp.Y.Max); err != nil {
				return Figure{}, err
			}
		}
		legendRoom(dp, 0)
		legendRoom(sp, 100)
		grid = append(grid, []*plot.Plot{dp, sp})
	}
	w := vg.Length(5+1.1*float64(most)) * vg.Centimeter
	if most <= 10 { // the two panels side by side
		return Figure{Plots: grid, Width: 2 * w, Height: vg.Length(len(grid)) * 11 * vg.Centimeter}, nil
	}
	var stacked [][]*plot.Plot // many features: each panel the full width
	for _, r := range grid {
		stacked = append(stacked, r[:1], r[1:])
	}
	return Figure{Plots: stacked, Width: vg.Length(5+0.8*float64(most)) * vg.Centimeter, Height: vg.Length(len(stacked)) * 10 * vg.Centimeter}, nil
}

// intervalBars draws one bar per value with its interval [lo, hi] as an
// error bar, highlighted (orange) where hi[i]; the axis runs from 0 or
// below.
func intervalBars(title, y string, names []string, vals, lo, hi []float64, mark []bool) (*plot.Plot, error) {
	p := newPlot(title, "", y)
	xys := make(plotter.XYs, len(vals))
	errs := make(plotter.YErrors, len(vals))
	for i, v := range vals {
		xys[i] = plotter.XY{X: float64(i), Y: v}
		errs[i].Low, errs[i].High = math.Max(0, v-lo[i]), math.Max(0, hi[i]-v)
	}
	if err := bars(p, vals, mark, vg.Points(12), blue, orange); err != nil {
		return nil, err
	}
	eb, err := yErrorBars(xys, errs)
	if err != nil {
		return nil, err
	}
	p.Add(eb)
	p.NominalX(names...)
	rotateX(p)
	return p, nil
}

// SweepFigure is Fig 13: the premodel's accuracy along the elimination
// path (all images, and each resample's own path: median and 95%) and
// the extraction time per image against the number of features; Table
// 4's set as a point, and the paper's best feature count (its
// peak_n_features claim) as a dashed line.
func SweepFigure(rows []SweepPoint, paper Paper) (Figure, error) {
	if len(rows) == 0 {
		return Figure{}, errors.New("sweep: no rows")
	}
	acc := bare() // not newPlot: accuracy differences sit far from 0
	acc.Title.Text, acc.X.Label.Text, acc.Y.Label.Text = "premodel accuracy", "number of features", "premodel accuracy (%)"
	tim := newPlot("feature extraction time", "number of features", "ms per image")
	var a, t, band, marks plotter.XYs
	var errs, markErrs plotter.YErrors
	for _, r := range rows {
		if r.ExtractMS != nil && r.Stage != "table4" {
			t = append(t, plotter.XY{X: float64(r.NFeatures), Y: *r.ExtractMS})
		}
		e := struct{ Low, High float64 }{r.MedianPct - r.LoPct, r.HiPct - r.MedianPct}
		switch r.Stage {
		case "elimination":
			a = append(a, plotter.XY{X: float64(r.NFeatures), Y: r.AccuracyPct})
			band = append(band, plotter.XY{X: float64(r.NFeatures), Y: r.MedianPct})
			errs = append(errs, e)
		case "table4":
			marks = append(marks, plotter.XY{X: float64(r.NFeatures), Y: r.MedianPct})
			markErrs = append(markErrs, e)
		}
	}
	sort.Slice(t, func(i, j int) bool { return t[i].X < t[j].X })
	l, s, err := plotter.NewLinePoints(a)
	if err != nil {
		return Figure{}, err
	}
	l.Color, s.Color = blue, blue
	acc.Add(l, s)
	acc.Legend.Add("elimination path, all images", l, s)
	eb, err := yErrorBars(band, errs)
	if err != nil {
		return Figure{}, err
	}
	bs, err := plotter.NewScatter(band)
	if err != nil {
		return Figure{}, err
	}
	bs.Color, eb.Color = series(2), series(2)
	acc.Add(eb, bs)
	acc.Legend.Add("each resample's own path: median, 95%", bs)
	if len(marks) > 0 {
		me, err := yErrorBars(marks, markErrs)
		if err != nil {
			return Figure{}, err
		}
		ms, err := plotter.NewScatter(marks)
		if err != nil {
			return Figure{}, err
		}
		ms.Color, me.Color, ms.Radius = orange, orange, vg.Points(4)
		acc.Add(me, ms)
		acc.Legend.Add("Table 4's set: median, 95% over resamples", ms)
	}
	if m, ok := paper.Mark("peak_n_features"); ok {
		if err := addPaperLine(acc, m, true, acc.Y.Min, acc.Y.Max); err != nil {
			return Figure{}, err
		}
	}
	acc.Legend.Top, acc.Legend.Left = true, true
	legendRoom(acc, 100)
	plots := []*plot.Plot{acc}
	if len(t) > 0 {
		l, s, err := plotter.NewLinePoints(t)
		if err != nil {
			return Figure{}, err
		}
		l.Color, s.Color = orange, orange
		tim.Add(l, s)
		plots = append(plots, tim)
	}
	return Figure{Plots: [][]*plot.Plot{plots}, Width: vg.Length(len(plots)) * 13 * vg.Centimeter, Height: 11 * vg.Centimeter}, nil
}

// AccuracyLatencyFigure plots each model's top-1 accuracy against its
// latency (log scale), the models Algorithm 1 chose highlighted and named.
func AccuracyLatencyFigure(title, xLabel string, rows []ModelSummary) (Figure, error) {
	if len(rows) == 0 {
		return Figure{}, errors.New("accuracy-latency: no rows")
	}
	p := bare() // not newPlot: the y axis fits the accuracies, not from 0
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, "top-1 accuracy (%)"
	setLog(&p.X)
	var all, chosen plotter.XYs
	var labels []string
	for _, r := range rows {
		xy := plotter.XY{X: r.LatencyMS, Y: r.Top1Pct}
		all = append(all, xy)
		labels = append(labels, shortModel(r.Model))
		if r.Chosen {
			chosen = append(chosen, xy)
		}
	}
	sa, err := plotter.NewScatter(all)
	if err != nil {
		return Figure{}, err
	}
	sa.Color = blue
	p.Add(sa)
	if len(chosen) > 0 {
		sc, err := plotter.NewScatter(chosen)
		if err != nil {
			return Figure{}, err
		}
		sc.Color, sc.Radius = orange, vg.Points(5)
		p.Add(sc)
		p.Legend.Add("chosen by Algorithm 1", sc)
	}
	p.Add(newPointLabels(all, labels, vg.Points(7)))
	p.Legend.Top, p.Legend.Left = true, true
	legendRoom(p, 100)
	return single(p, 18*vg.Centimeter, 12*vg.Centimeter), nil
}
