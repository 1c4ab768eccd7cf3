package report

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

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

// shortMethod trims a method name for an axis.
func shortMethod(r MethodSummary) string {
	n := r.Method
	if r.Group != "" {
		n = method.Name(r.Group)
	}
	return n.Short()
}

// OverallFigure is Fig 8: per data set, (a) mean inference time and
// (c) accuracy under the criterion (top-1, or top-5 for a top-5
// premodel) of every method with its 95% interval, and (d) precision,
// recall and F1. Energy (b) is drawn only when measured.
func OverallFigure(title string, rows []MethodSummary, top5 bool) (Figure, error) {
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
	var grid [][]*plot.Plot
	for _, ds := range sets {
		rs := by[ds]
		var names []string
		for _, r := range rs {
			names = append(names, shortMethod(r))
		}
		lat, err := rangeBars(fmt.Sprintf("(a) %s: inference time", ds), "mean ms per image (bars: 95% interval)", names, rs,
			func(r MethodSummary) (float64, float64, float64) { return r.MeanMS, r.MeanLoMS, r.MeanHiMS })
		if err != nil {
			return Figure{}, err
		}
		acc, err := accuracyBars(fmt.Sprintf("(c) %s: ", ds), names, rs, top5)
		if err != nil {
			return Figure{}, err
		}
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
		headroom(prf)
		grid = append(grid, []*plot.Plot{lat, acc, prf})
	}
	return Figure{Plots: grid, Width: 36 * vg.Centimeter, Height: vg.Length(len(sets)) * 12 * vg.Centimeter}, nil
}

// accuracyBars is the accuracy panel: top-1, or top-5 for a top-5
// premodel, with 95% intervals.
func accuracyBars(prefix string, names []string, rs []MethodSummary, top5 bool) (*plot.Plot, error) {
	if top5 {
		return rangeBars(prefix+"top-5 accuracy", "top-5 (%) (bars: 95% interval)", names, rs,
			func(r MethodSummary) (float64, float64, float64) { return r.Top5Pct, r.Top5LoPct, r.Top5HiPct })
	}
	return rangeBars(prefix+"top-1 accuracy", "top-1 (%) (bars: 95% interval)", names, rs,
		func(r MethodSummary) (float64, float64, float64) { return r.Top1Pct, r.Top1LoPct, r.Top1HiPct })
}

// rangeBars draws one bar per row with an error bar from lo to hi (an
// interval, or a range, as the axis label says).
func rangeBars(title, y string, names []string, rs []MethodSummary, get func(MethodSummary) (v, lo, hi float64)) (*plot.Plot, error) {
	p := newPlot(title, "", y)
	vals := make(plotter.Values, len(rs))
	xys := make(plotter.XYs, len(rs))
	errs := make(plotter.YErrors, len(rs))
	hi := make([]bool, len(rs))
	for i, r := range rs {
		v, l, h := get(r)
		vals[i], xys[i] = v, plotter.XY{X: float64(i), Y: v}
		errs[i].Low, errs[i].High = math.Max(0, v-l), math.Max(0, h-v)
		hi[i] = r.Kind == method.Premodel
	}
	if err := bars(p, vals, hi, vg.Points(10), blue, orange); err != nil {
		return nil, err
	}
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYs
		plotter.YErrors
	}{xys, errs})
	if err != nil {
		return nil, err
	}
	p.Add(eb)
	p.NominalX(names...)
	rotateX(p)
	headroom(p)
	return p, nil
}

// GroupFigure is Figs 9-11: per group (learner, hierarchy, number of
// models), the premodel's accuracy (top-1, or top-5 for a top-5 premodel)
// and its mean inference time with 95% intervals, or, with imageRange
// (Fig 11), with the range of inference time across the test images.
func GroupFigure(title string, rows []MethodSummary, top5, imageRange bool) (Figure, error) {
	var rs []MethodSummary
	for _, r := range rows {
		if r.Kind == method.Premodel {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return Figure{}, errors.New("no premodel rows")
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Dataset+": "+shortMethod(r))
	}
	acc, err := accuracyBars("premodel ", names, rs, top5)
	if err != nil {
		return Figure{}, err
	}
	latY, get := "mean ms per image (bars: 95% interval)", func(r MethodSummary) (float64, float64, float64) { return r.MeanMS, r.MeanLoMS, r.MeanHiMS }
	if imageRange {
		latY, get = "mean ms per image (bars: min-max over test images)", func(r MethodSummary) (float64, float64, float64) {
			return r.MeanMS, r.MinImageMS, r.MaxImageMS
		}
	}
	lat, err := rangeBars("inference time (premodel included)", latY, names, rs, get)
	if err != nil {
		return Figure{}, err
	}
	sel := newPlot("premodel overhead and selection accuracy", "", "")
	ov := make(plotter.Values, len(rs))
	sa := make(plotter.Values, len(rs))
	for i, r := range rs {
		ov[i] = r.OverheadMS
		if r.SelectionAccPct != nil {
			sa[i] = *r.SelectionAccPct
		}
	}
	w := vg.Points(8)
	b1, err := plotter.NewBarChart(sa, w)
	if err != nil {
		return Figure{}, err
	}
	b1.Color, b1.LineStyle.Width, b1.Offset = blue, 0, -w/2
	b2, err := plotter.NewBarChart(ov, w)
	if err != nil {
		return Figure{}, err
	}
	b2.Color, b2.LineStyle.Width, b2.Offset = orange, 0, w/2
	sel.Add(b1, b2)
	sel.Legend.Add("selection accuracy (%)", b1)
	sel.Legend.Add("overhead (ms)", b2)
	sel.Legend.Top = true
	sel.NominalX(names...)
	rotateX(sel)
	headroom(sel)
	return Figure{Plots: [][]*plot.Plot{{acc, lat, sel}}, Width: vg.Length(12+3*len(rs)) * vg.Centimeter, Height: 12 * vg.Centimeter}, nil
}

// CurveFigure is the budget knob's cost/accuracy curve beside the softmax
// cascade's, with every single model and the oracle as points.
func CurveFigure(title string, rows []CurvePoint) (Figure, error) {
	if len(rows) == 0 {
		return Figure{}, errors.New("curve: no points")
	}
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, "mean latency per image (ms)", "accuracy (%) (bars: 95% interval)"
	curves := map[string]plotter.XYs{}
	type bar struct{ x, y, lo, hi float64 }
	errs := map[string][]bar{} // a curve's points with an interval
	var order []string
	var singles, oracle plotter.XYs
	var labels plotter.XYLabels
	for _, r := range rows {
		xy := plotter.XY{X: r.MeanMS, Y: r.AccuracyPct}
		switch {
		case isSingle(r.Method):
			m, _ := r.Method.SingleModel()
			singles = append(singles, xy)
			labels.XYs = append(labels.XYs, xy)
			labels.Labels = append(labels.Labels, " "+m)
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
	for k, m := range order {
		xy := curves[m]
		sort.Slice(xy, func(i, j int) bool { return xy[i].X < xy[j].X })
		l, err := plotter.NewLine(xy)
		if err != nil {
			return Figure{}, err
		}
		l.Color = series(k)
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
			eb, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{pts, ye})
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
		s.Color = series(3)
		p.Add(s)
		p.Legend.Add("single models", s)
		ls, err := plotter.NewLabels(labels)
		if err != nil {
			return Figure{}, err
		}
		for i := range ls.TextStyle {
			ls.TextStyle[i].Font.Size = vg.Points(7)
		}
		p.Add(ls)
	}
	if len(oracle) > 0 {
		s, err := plotter.NewScatter(oracle)
		if err != nil {
			return Figure{}, err
		}
		s.Color, s.Radius = series(2), vg.Points(5)
		p.Add(s)
		p.Legend.Add("oracle", s)
	}
	p.Legend.Top = false
	p.Legend.Left = false
	return single(p, 18*vg.Centimeter, 12*vg.Centimeter), nil
}

func isSingle(n method.Name) bool {
	_, ok := n.SingleModel()
	return ok
}
