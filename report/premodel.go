package report

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/modelpick/modelpick/method"
)

func opt(v *float64) string {
	if v == nil {
		return "—"
	}
	return f1(*v)
}

// MethodTable is Figs 8-11's data, one row per (data set, group, method):
// pooled values with their 95% intervals, the paper's geometric means
// over the folds beside them.
func MethodTable(rows []MethodSummary) string {
	var out [][]string
	for _, r := range rows {
		e := r.EnergyStatus
		if r.EnergyJ != nil {
			e = fmt.Sprintf("%.4f J", *r.EnergyJ)
		}
		name := string(r.Method)
		if r.Group != "" {
			name = r.Group + ": " + name
		}
		out = append(out, []string{r.Dataset, name, span(r.Top1Pct, r.Top1LoPct, r.Top1HiPct, f1),
			span(r.Top5Pct, r.Top5LoPct, r.Top5HiPct, f1), f1(r.AccuracyGeoPct), span(r.MeanMS, r.MeanLoMS, r.MeanHiMS, f2), f2(r.MeanGeoMS),
			fmt.Sprintf("%s–%s", f2(r.MinImageMS), f2(r.MaxImageMS)), f2(r.OverheadMS),
			f1(r.PrecisionPct), f1(r.RecallPct), f1(r.F1Pct), f1(r.MacroF1Pct), f1(r.OfOraclePct), opt(r.SelectionAccPct), r.Routing, e})
	}
	return Markdown([]string{"images", "method", "top-1 % [95% interval]", "top-5 % [95% interval]", "criterion's accuracy %, geo. mean of folds",
		"mean ms [95% interval]", "mean ms geo. mean of folds", "ms per image, min–max", "premodel ms",
		"precision %", "recall %", "F1 % (2PR/(P+R))", "macro F1 %", "of oracle %", "selection %", "routed to", "energy"}, out)
}

// CurveTable lists the curves' points.
func CurveTable(rows []CurvePoint) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{r.Dataset, string(r.Method), fmt.Sprintf("%.4g", r.Param),
			span(r.AccuracyPct, r.AccuracyLo, r.AccuracyHi, f2), f2(r.MeanMS)})
	}
	return Markdown([]string{"images", "method", "knob", "accuracy (%) [95% interval]", "mean ms"}, out)
}

// shortMethod trims a method name for an axis; single models by
// shortModel's rule.
func shortMethod(r MethodSummary) string {
	n := r.Method
	if r.Group != "" {
		n = method.Name(r.Group)
	}
	if r.Kind == method.Single {
		return shortModel(string(n))
	}
	return n.Short()
}

// criterionKey is the criterion as measures name it: top1, or top5 for a
// top-5 premodel.
func criterionKey(top5 bool) string {
	if top5 {
		return "top5"
	}
	return "top1"
}

// OverallFigure is Fig 8: per data set, (a) mean inference time and
// (c) accuracy under the criterion (top-1, or top-5 for a top-5
// premodel) of every method with its 95% interval, and (d) precision,
// recall and F1. Energy (b) is drawn only when measured. The paper's
// premodel and oracle accuracies (claims premodel_CRIT_SET and
// oracle_CRIT_SET) are diamonds on our premodel's and all-model oracle's
// bars.
func OverallFigure(title string, rows []MethodSummary, top5 bool, paper Paper) (Figure, error) {
	var sets []string
	by := map[string][]MethodSummary{}
	for _, r := range rows {
		if _, ok := by[r.Dataset]; !ok {
			sets = append(sets, r.Dataset)
		}
		by[r.Dataset] = append(by[r.Dataset], r)
	}
	if len(sets) == 0 {
		return Figure{}, errors.New("fig 8: no rows")
	}
	crit := criterionKey(top5)
	var grid [][]*plot.Plot
	for _, ds := range sets {
		rs := by[ds]
		var names []string
		for _, r := range rs {
			names = append(names, shortMethod(r))
		}
		lat, err := costPanel(fmt.Sprintf("(a) %s: inference time", ds), "mean ms per image (95% interval)", names, rs,
			func(r MethodSummary) (float64, float64, float64) { return r.MeanMS, r.MeanLoMS, r.MeanHiMS })
		if err != nil {
			return Figure{}, err
		}
		acc, err := accuracyBars(fmt.Sprintf("(c) %s: ", ds), names, rs, top5)
		if err != nil {
			return Figure{}, err
		}
		var at []plotter.XY
		var marks []PaperMark
		for i, r := range rs {
			var measure string
			switch {
			case r.Kind == method.Premodel:
				measure = "premodel_" + crit + "_" + ds
			case r.Method == method.OracleAll:
				measure = "oracle_" + crit + "_" + ds
			}
			if m, ok := paper.Mark(measure); ok && measure != "" {
				at, marks = append(at, plotter.XY{X: float64(i), Y: m.Value}), append(marks, m)
			}
		}
		if err := addPaperPoints(acc, at, marks); err != nil {
			return Figure{}, err
		}
		acc.Legend.Top, acc.Legend.Left = true, true
		legendRoom(acc, 100)
		prf := newPlot(fmt.Sprintf("(d) %s: precision, recall, F1", ds), "", "%")
		w := vg.Points(5)
		for k, get := range []func(MethodSummary) float64{
			func(r MethodSummary) float64 { return r.PrecisionPct },
			func(r MethodSummary) float64 { return r.RecallPct },
			func(r MethodSummary) float64 { return r.F1Pct },
		} {
			vs := make(plotter.Values, len(rs))
			for i, r := range rs {
				vs[i] = get(r)
			}
			b, err := plotter.NewBarChart(vs, w)
			if err != nil {
				return Figure{}, err
			}
			b.Color, b.LineStyle.Width, b.Offset = series(k), 0, w*vg.Length(k-1)
			prf.Add(b)
			prf.Legend.Add([]string{"precision", "recall", "F1 (2PR/(P+R))"}[k], b)
		}
		prf.Legend.Top, prf.Legend.Left = true, true
		prf.NominalX(names...)
		rotateX(prf)
		legendRoom(prf, 100)
		grid = append(grid, []*plot.Plot{lat, acc, prf})
	}
	return Figure{Plots: grid, Width: 36 * vg.Centimeter, Height: vg.Length(len(sets)) * 12 * vg.Centimeter}, nil
}

// accuracyBars is the accuracy panel: top-1, or top-5 for a top-5
// premodel, with 95% intervals; the premodel's bars orange.
func accuracyBars(prefix string, names []string, rs []MethodSummary, top5 bool) (*plot.Plot, error) {
	get := func(r MethodSummary) (float64, float64, float64) { return r.Top1Pct, r.Top1LoPct, r.Top1HiPct }
	what := "top-1"
	if top5 {
		get, what = func(r MethodSummary) (float64, float64, float64) { return r.Top5Pct, r.Top5LoPct, r.Top5HiPct }, "top-5"
	}
	vals, lo, hi, mark := columns(rs, get)
	p, err := intervalBars(prefix+what+" accuracy", what+" accuracy (%) (95% interval)", names, vals, lo, hi, mark)
	if err != nil {
		return nil, err
	}
	p.Legend.Add("premodel", swatchOf(orange))
	return p, nil
}

// columns reads value, interval and premodel highlight of each row.
func columns(rs []MethodSummary, get func(MethodSummary) (v, lo, hi float64)) (vals, lo, hi []float64, mark []bool) {
	for _, r := range rs {
		v, l, h := get(r)
		vals, lo, hi, mark = append(vals, v), append(lo, l), append(hi, h), append(mark, r.Kind == method.Premodel)
	}
	return vals, lo, hi, mark
}

// costPanel draws a cost (ms) per row with its 95% interval: bars from 0
// where the costs (and also, what else the panel will show) span at most
// a decade, else points on a log axis (a bar from 0 has no place on
// one); the premodel orange.
func costPanel(title, y string, names []string, rs []MethodSummary, get func(MethodSummary) (v, lo, hi float64), also ...float64) (*plot.Plot, error) {
	vals, lo, hi, mark := columns(rs, get)
	all := append(append(append(append([]float64{}, vals...), lo...), hi...), also...)
	probe := plot.New()
	if !logIfWide(&probe.Y, all...) {
		return intervalBars(title, y, names, vals, lo, hi, mark)
	}
	// gonum centres a log axis's label on the arithmetic middle of the
	// range, high up the axis: a short label keeps the panel in line.
	p := bare()
	p.Title.Text, p.Y.Label.Text = title+"\n"+y+", log scale", "ms"
	logIfWide(&p.Y, all...)
	var plain, high plotter.XYs
	xys := make(plotter.XYs, len(vals))
	errs := make(plotter.YErrors, len(vals))
	for i, v := range vals {
		xys[i] = plotter.XY{X: float64(i), Y: v}
		errs[i].Low, errs[i].High = math.Max(0, v-lo[i]), math.Max(0, hi[i]-v)
		if lo[i] <= 0 {
			errs[i].Low = 0
		}
		if mark[i] {
			high = append(high, xys[i])
		} else {
			plain = append(plain, xys[i])
		}
	}
	eb, err := yErrorBars(xys, errs)
	if err != nil {
		return nil, err
	}
	p.Add(eb)
	for _, g := range []struct {
		xys plotter.XYs
		c   color.Color
	}{{plain, blue}, {high, orange}} {
		if len(g.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(g.xys)
		if err != nil {
			return nil, err
		}
		sc.Color, sc.Shape, sc.Radius = g.c, draw.CircleGlyph{}, vg.Points(4)
		p.Add(sc)
	}
	p.NominalX(names...)
	rotateX(p)
	return p, nil
}

// GroupFigure is Figs 9-11: per group (learner, hierarchy, number of
// models), the premodel's accuracy (top-1, or top-5 for a top-5
// premodel), its mean inference time, both with 95% intervals, its
// selection accuracy (%) and its own overhead (ms), one unit per panel.
// With imageRange (Fig 11) the range of inference time across the test
// images (what the paper's Fig 11 bars span) is drawn beside the
// interval, in grey. The paper's accuracy for a group (claim
// CRIT_SET_GROUP, e.g. Fig 11's plateau at 3 models) is a diamond.
func GroupFigure(title string, rows []MethodSummary, top5, imageRange bool, paper Paper) (Figure, error) {
	var rs []MethodSummary
	sets := map[string]bool{}
	for _, r := range rows {
		if r.Kind == method.Premodel {
			rs = append(rs, r)
			sets[r.Dataset] = true
		}
	}
	if len(rs) == 0 {
		return Figure{}, errors.New("no premodel rows")
	}
	// Ticks name the group alone: the data set goes in the titles when
	// there is one, and "N models" groups are their number N.
	counts := true
	for _, r := range rs {
		counts = counts && strings.HasSuffix(shortMethod(r), " models")
	}
	var names []string
	for _, r := range rs {
		n := shortMethod(r)
		if counts {
			n = strings.TrimSuffix(n, " models")
		}
		if len(sets) > 1 {
			n = r.Dataset + ": " + n
		}
		names = append(names, n)
	}
	suffix, xLabel := "", ""
	if len(sets) == 1 {
		suffix = " (" + rs[0].Dataset + ")"
	}
	if counts {
		xLabel = "models in the premodel"
	}
	acc, err := accuracyBars("premodel ", names, rs, top5)
	if err != nil {
		return Figure{}, err
	}
	acc.Title.Text += suffix
	crit := criterionKey(top5)
	var at []plotter.XY
	var marks []PaperMark
	for i, r := range rs {
		if m, ok := paper.Mark(crit + "_" + r.Dataset + "_" + r.Group); ok {
			at, marks = append(at, plotter.XY{X: float64(i), Y: m.Value}), append(marks, m)
		}
	}
	if err := addPaperPoints(acc, at, marks); err != nil {
		return Figure{}, err
	}
	acc.Legend.Top, acc.Legend.Left = true, true
	legendRoom(acc, 100)
	var ranges []float64 // the image range, when drawn, counts toward a log axis
	for _, r := range rs {
		if imageRange {
			ranges = append(ranges, r.MinImageMS, r.MaxImageMS)
		}
	}
	lat, err := costPanel("inference time, premodel included", "mean ms per image (95% interval)", names, rs,
		func(r MethodSummary) (float64, float64, float64) { return r.MeanMS, r.MeanLoMS, r.MeanHiMS }, ranges...)
	if err != nil {
		return Figure{}, err
	}
	if imageRange {
		xys := make(plotter.XYs, len(rs))
		errs := make(plotter.YErrors, len(rs))
		for i, r := range rs {
			xys[i] = plotter.XY{X: float64(i) + 0.3, Y: r.MeanMS}
			errs[i].Low, errs[i].High = math.Max(0, r.MeanMS-r.MinImageMS), math.Max(0, r.MaxImageMS-r.MeanMS)
		}
		eb, err := yErrorBars(xys, errs)
		if err != nil {
			return Figure{}, err
		}
		eb.Color = color.Gray{Y: 150}
		lat.Add(eb)
		lat.Legend.Add("range over the test images (the paper's Fig 11 bars)", &plotter.Line{LineStyle: eb.LineStyle})
		lat.Legend.Top, lat.Legend.Left = true, true
		legendRoom(lat, 0)
	}
	sa := make([]float64, len(rs))
	ov := make([]float64, len(rs))
	for i, r := range rs {
		if r.SelectionAccPct != nil {
			sa[i] = *r.SelectionAccPct
		}
		ov[i] = r.OverheadMS
	}
	sel := newPlot("selection accuracy", "", "premodel names the optimum (% of images)")
	if err := bars(sel, sa, nil, vg.Points(10), blue, orange); err != nil {
		return Figure{}, err
	}
	over := newPlot("premodel overhead", "", "features + decision (ms per image)")
	if err := bars(over, ov, nil, vg.Points(10), orange, orange); err != nil {
		return Figure{}, err
	}
	panels := []*plot.Plot{acc, lat, sel, over}
	for _, p := range panels {
		p.NominalX(names...)
		p.X.Label.Text = xLabel
		rotateX(p)
		if counts { // short numbers read upright
			p.X.Tick.Label.Rotation, p.X.Tick.Label.XAlign = 0, draw.XCenter
		}
	}
	headroom(sel)
	headroom(over)
	per := math.Max(8, 3+1.2*float64(len(rs)))
	return Figure{Plots: [][]*plot.Plot{panels}, Width: vg.Length(4*per) * vg.Centimeter, Height: 12 * vg.Centimeter}, nil
}

// CurveFigure is the budget knob's cost/accuracy curve beside the softmax
// cascade's (each with its 95% interval where drawn), with every single
// model (names by shortModel's rule) and the oracle as points; latency on
// a log axis where it spans more than a decade.
func CurveFigure(title string, rows []CurvePoint) (Figure, error) {
	if len(rows) == 0 {
		return Figure{}, errors.New("curve: no points")
	}
	p := bare()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, "mean latency per image (ms)", "accuracy (%) (bars: 95% interval)"
	p.Title.TextStyle.Font.Size = vg.Points(11)
	curves := map[string]plotter.XYs{}
	type bar struct{ x, y, lo, hi float64 }
	errs := map[string][]bar{} // a curve's points with an interval
	var order []string
	var singles, oracle plotter.XYs
	var labels []string
	var xs []float64
	for _, r := range rows {
		xy := plotter.XY{X: r.MeanMS, Y: r.AccuracyPct}
		xs = append(xs, r.MeanMS)
		switch {
		case isSingle(r.Method):
			m, _ := r.Method.SingleModel()
			singles = append(singles, xy)
			labels = append(labels, shortModel(m))
		case r.Method.IsOracle():
			oracle = append(oracle, xy)
		default:
			if _, ok := curves[string(r.Method)]; !ok {
				order = append(order, string(r.Method))
			}
			curves[string(r.Method)] = append(curves[string(r.Method)], xy)
			if r.AccuracyLo < r.AccuracyPct || r.AccuracyHi > r.AccuracyPct {
				errs[string(r.Method)] = append(errs[string(r.Method)], bar{r.MeanMS, r.AccuracyPct, r.AccuracyLo, r.AccuracyHi})
			}
		}
	}
	if logIfWide(&p.X, xs...) {
		p.X.Label.Text += " (log scale)"
	}
	for k, m := range order {
		xy := curves[m]
		sort.Slice(xy, func(i, j int) bool { return xy[i].X < xy[j].X })
		l, err := plotter.NewLine(xy)
		if err != nil {
			return Figure{}, err
		}
		l.Color, l.Width = series(k), vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(m, l)
		if e := errs[m]; len(e) > 0 {
			sort.Slice(e, func(i, j int) bool { return e[i].x < e[j].x })
			pts := make(plotter.XYs, len(e))
			ye := make(plotter.YErrors, len(e))
			for i, v := range e {
				pts[i] = plotter.XY{X: v.x, Y: v.y}
				ye[i].Low, ye[i].High = v.y-v.lo, v.hi-v.y
			}
			eb, err := yErrorBars(pts, ye)
			if err != nil {
				return Figure{}, err
			}
			eb.Color = series(k)
			p.Add(eb)
		}
	}
	if len(singles) > 0 {
		s, err := plotter.NewScatter(singles)
		if err != nil {
			return Figure{}, err
		}
		s.Color, s.Shape, s.Radius = series(3), draw.CircleGlyph{}, vg.Points(3.5)
		p.Add(s)
		p.Legend.Add("single models", s)
		p.Add(newPointLabels(singles, labels, vg.Points(8)))
	}
	if len(oracle) > 0 {
		s, err := plotter.NewScatter(oracle)
		if err != nil {
			return Figure{}, err
		}
		s.Color, s.Shape, s.Radius = series(2), draw.CircleGlyph{}, vg.Points(5)
		p.Add(s)
		p.Legend.Add("oracle", s)
	}
	p.Legend.Top, p.Legend.Left = false, false
	return single(p, 20*vg.Centimeter, 13*vg.Centimeter), nil
}

func isSingle(n method.Name) bool {
	_, ok := n.SingleModel()
	return ok
}
