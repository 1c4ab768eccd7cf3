package report

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// LearningPoint is the premodel's accuracy at one number of training
// images (repeated CV): mean over the images of the seed-averaged outcome
// with its bootstrap interval, the same minus the best single model on the
// same images (paired), and the selection accuracy over the seeds.
type LearningPoint struct {
	Features        string  `json:"features"`
	TrainImages     float64 `json:"train_images"`
	AccuracyPct     float64 `json:"accuracy_pct"`
	AccuracyLoPct   float64 `json:"accuracy_lo_pct"`
	AccuracyHiPct   float64 `json:"accuracy_hi_pct"`
	GapPP           float64 `json:"minus_best_single_pp"`
	GapLoPP         float64 `json:"minus_best_single_lo_pp"`
	GapHiPP         float64 `json:"minus_best_single_hi_pp"`
	SelectionPct    float64 `json:"selection_pct"`
	SelectionMinPct float64 `json:"selection_min_pct"`
	SelectionMaxPct float64 `json:"selection_max_pct"`
	BestSingle      string  `json:"best_single"`
	BestSinglePct   float64 `json:"best_single_pct"`
	OraclePct       float64 `json:"oracle_pct"`
	Seeds           int     `json:"seeds"`
}

// FeatureInformation is one feature's mutual information with the target
// beside its permutation baseline.
type FeatureInformation struct {
	Feature      string  `json:"feature"`
	InTable4     bool    `json:"in_table4"`
	MIBits       float64 `json:"mi_bits"`
	NullMeanBits float64 `json:"null_mean_bits"`
	NullHiBits   float64 `json:"null_hi_bits"`
	ExcessBits   float64 `json:"excess_bits"`
	P            float64 `json:"p"`
}

// PremodelBaseline is the premodel on one kind of input (its features,
// the same shuffled across images, none), repeated CV.
type PremodelBaseline struct {
	Configuration   string  `json:"configuration"`
	AccuracyPct     float64 `json:"accuracy_pct"`
	AccuracyLoPct   float64 `json:"accuracy_lo_pct"`
	AccuracyHiPct   float64 `json:"accuracy_hi_pct"`
	MinusNonePP     float64 `json:"minus_no_features_pp"`
	MinusNoneLoPP   float64 `json:"minus_no_features_lo_pp"`
	MinusNoneHiPP   float64 `json:"minus_no_features_hi_pp"`
	SelectionPct    float64 `json:"selection_pct"`
	SelectionMinPct float64 `json:"selection_min_pct"`
	SelectionMaxPct float64 `json:"selection_max_pct"`
}

// LearningTable lists the learning curve.
func LearningTable(rows []LearningPoint) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{r.Features, strconv.FormatFloat(r.TrainImages, 'f', 0, 64),
			span(r.AccuracyPct, r.AccuracyLoPct, r.AccuracyHiPct, f1), span(r.GapPP, r.GapLoPP, r.GapHiPP, f1),
			fmt.Sprintf("%s [%s, %s]", f1(r.SelectionPct), f1(r.SelectionMinPct), f1(r.SelectionMaxPct)),
			r.BestSingle + " " + f1(r.BestSinglePct), f1(r.OraclePct)})
	}
	return Markdown([]string{"features", "training images", "premodel accuracy (%) [95%]", "minus best single (points) [95%]",
		"selection accuracy (%) [seeds' range]", "best single model (%)", "oracle (%)"}, out)
}

// InformationTable lists each feature's mutual information.
func InformationTable(rows []FeatureInformation) string {
	var out [][]string
	for _, r := range rows {
		in := ""
		if r.InTable4 {
			in = "yes"
		}
		out = append(out, []string{r.Feature, in, strconv.FormatFloat(r.MIBits, 'f', 4, 64), strconv.FormatFloat(r.NullMeanBits, 'f', 4, 64),
			strconv.FormatFloat(r.NullHiBits, 'f', 4, 64), strconv.FormatFloat(r.ExcessBits, 'f', 4, 64), strconv.FormatFloat(r.P, 'f', 3, 64)})
	}
	return Markdown([]string{"feature", "in Table 4", "MI (bits)", "shuffled: mean (bits)", "shuffled: 95th percentile (bits)",
		"MI − shuffled mean (bits)", "permutation p"}, out)
}

// BaselineTable lists the premodel on its features, shuffled and none.
func BaselineTable(rows []PremodelBaseline) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{r.Configuration, span(r.AccuracyPct, r.AccuracyLoPct, r.AccuracyHiPct, f1),
			span(r.MinusNonePP, r.MinusNoneLoPP, r.MinusNoneHiPP, f2),
			fmt.Sprintf("%s [%s, %s]", f1(r.SelectionPct), f1(r.SelectionMinPct), f1(r.SelectionMaxPct))})
	}
	return Markdown([]string{"premodel input", "premodel accuracy (%) [95%]", "minus no features (points) [95%]",
		"selection accuracy (%) [seeds' range]"}, out)
}

// LearningFigure draws the premodel's accuracy against the number of
// training images (log scale), one line per feature set with its
// intervals, and the best single model and the oracle as lines.
func LearningFigure(title string, rows []LearningPoint) (Figure, error) {
	if len(rows) == 0 {
		return Figure{}, errors.New("learning curve: no rows")
	}
	p := bare()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, "training images (log scale)", "accuracy (%) (bars: 95% interval)"
	setLog(&p.X)
	var sets []string
	by := map[string][]LearningPoint{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		if _, ok := by[r.Features]; !ok {
			sets = append(sets, r.Features)
		}
		by[r.Features] = append(by[r.Features], r)
		lo, hi = math.Min(lo, r.TrainImages), math.Max(hi, r.TrainImages)
	}
	for k, s := range sets {
		rs := by[s]
		sort.Slice(rs, func(i, j int) bool { return rs[i].TrainImages < rs[j].TrainImages })
		xys := make(plotter.XYs, len(rs))
		errs := make(plotter.YErrors, len(rs))
		for i, r := range rs {
			xys[i] = plotter.XY{X: r.TrainImages, Y: r.AccuracyPct}
			errs[i].Low, errs[i].High = r.AccuracyPct-r.AccuracyLoPct, r.AccuracyHiPct-r.AccuracyPct
		}
		l, sc, err := plotter.NewLinePoints(xys)
		if err != nil {
			return Figure{}, err
		}
		eb, err := yErrorBars(xys, errs)
		if err != nil {
			return Figure{}, err
		}
		l.Color, sc.Color, eb.Color = series(k), series(k), series(k)
		p.Add(l, sc, eb)
		p.Legend.Add("premodel on "+s+" features", l, sc)
	}
	for k, ref := range []struct {
		name string
		v    float64
	}{{"best single model (" + rows[0].BestSingle + ")", rows[0].BestSinglePct}, {"oracle", rows[0].OraclePct}} {
		l, err := plotter.NewLine(plotter.XYs{{X: lo, Y: ref.v}, {X: hi, Y: ref.v}})
		if err != nil {
			return Figure{}, err
		}
		l.Color = series(2 + k)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(ref.name, l)
	}
	p.Legend.Top, p.Legend.Left = true, true
	legendRoom(p, 100)
	return single(p, 18*vg.Centimeter, 12*vg.Centimeter), nil
}
