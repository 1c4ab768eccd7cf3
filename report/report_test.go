package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no golden %s (go test ./report -update): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from its golden (go test ./report -update rewrites it after checking the change)", path)
	}
}

func ptr(v float64) *float64 { return &v }

// TestFiguresGolden draws every figure from fixed records and compares the
// SVG with its golden: a figure is one function from records to a plot.
func TestFiguresGolden(t *testing.T) {
	shares := []OptimumShare{
		{Model: "small", Cost: 1, CostUnit: "ms", AccuracyPct: 60, Images: 60, SharePct: 60, Chosen: true, Order: 1},
		{Model: "large", Cost: 5, CostUnit: "ms", AccuracyPct: 80, Images: 25, SharePct: 25, Chosen: true, Order: 2},
		{Model: "mid", Cost: 2, CostUnit: "ms", AccuracyPct: 70, Images: 5, SharePct: 5},
	}
	subset := []SubsetAccuracy{
		{Panel: "a", Subset: "all images", Images: 100, Model: "small", AccuracyPct: 60, Picked: true},
		{Panel: "a", Subset: "all images", Images: 100, Model: "large", AccuracyPct: 80},
		{Panel: "b", Subset: "images small gets wrong", Images: 40, Model: "small", AccuracyPct: 0},
		{Panel: "b", Subset: "images small gets wrong", Images: 40, Model: "large", AccuracyPct: 62.5, Picked: true},
	}
	times := []ImageTime{
		{Image: 1, Role: "cheap model enough", File: "x.jpg", Model: "small", N: 30, MeanMS: 1, CILowMS: 0.9, CIHighMS: 1.1},
		{Image: 1, Role: "cheap model enough", File: "x.jpg", Model: "large", N: 30, MeanMS: 5, CILowMS: 4.8, CIHighMS: 5.2},
	}
	imp := []Importance{
		{Criterion: "top-1", Feature: "hue1", Rank: 1, InTable4: true, DropMedianPP: 3, DropLoPP: 1.5, DropHiPP: 4, ImportancePct: 70},
		{Criterion: "top-1", Feature: "contrast", Rank: 2, DropMedianPP: 0.5, DropLoPP: -1, DropHiPP: 2, ImportancePct: 30},
		{Criterion: "top-5", Feature: "contrast", Rank: 1, InTable4: true, DropMedianPP: 1, DropLoPP: 0.2, DropHiPP: 1.5, ImportancePct: 60},
		{Criterion: "top-5", Feature: "hue1", Rank: 2, DropMedianPP: -0.5, DropLoPP: -1.5, DropHiPP: 0.5, ImportancePct: 40},
	}
	sweep := []SweepPoint{{NFeatures: 3, Stage: "all", AccuracyPct: 70, ExtractMS: ptr(2)},
		{NFeatures: 2, Stage: "elimination", AccuracyPct: 71, MedianPct: 70, LoPct: 68, HiPct: 72.5, ExtractMS: ptr(1.5)},
		{NFeatures: 1, Stage: "elimination", AccuracyPct: 60, MedianPct: 61, LoPct: 57, HiPct: 63, ExtractMS: ptr(0.7)},
		{NFeatures: 2, Stage: "table4", AccuracyPct: 71, MedianPct: 70.5, LoPct: 69, HiPct: 72, ExtractMS: ptr(1.4)}}
	models := []ModelSummary{{Model: "small", Top1Pct: 70, LatencyMS: 10, Chosen: true, Order: 1},
		{Model: "large", Top1Pct: 85, LatencyMS: 200, Chosen: true, Order: 2}, {Model: "mid", Top1Pct: 75, LatencyMS: 40}}
	methods := []MethodSummary{
		{Dataset: "set", Method: "premodel knn", Kind: "premodel", Top1Pct: 80, Top1LoPct: 78, Top1HiPct: 83, Top5Pct: 90, Top5LoPct: 88,
			Top5HiPct: 92, MeanMS: 3, MeanLoMS: 2.8, MeanHiMS: 3.1, MinImageMS: 1.5, MaxImageMS: 9, OverheadMS: 0.5, PrecisionPct: 70,
			RecallPct: 72, F1Pct: 71, SelectionAccPct: ptr(60)},
		{Dataset: "set", Method: "small", Kind: "single", Top1Pct: 60, Top1LoPct: 58, Top1HiPct: 62, Top5Pct: 80, Top5LoPct: 78, Top5HiPct: 82,
			MeanMS: 1, MeanLoMS: 0.95, MeanHiMS: 1.05, MinImageMS: 1, MaxImageMS: 1, PrecisionPct: 55, RecallPct: 58, F1Pct: 56},
		{Dataset: "set", Method: "oracle (all models)", Kind: "oracle", Top1Pct: 90, Top1LoPct: 88, Top1HiPct: 92, Top5Pct: 95, Top5LoPct: 93,
			Top5HiPct: 97, MeanMS: 2, MeanLoMS: 1.9, MeanHiMS: 2.1, MinImageMS: 1, MaxImageMS: 8},
	}
	curve := []CurvePoint{{Method: "budget knob", Param: 0.2, AccuracyPct: 60, AccuracyLo: 57, AccuracyHi: 63, MeanMS: 1},
		{Method: "budget knob", Param: 0.8, AccuracyPct: 78, AccuracyLo: 75, AccuracyHi: 81, MeanMS: 3},
		{Method: "single: small", Param: 1, AccuracyPct: 60, MeanMS: 1}, {Method: "oracle (candidates)", AccuracyPct: 90, MeanMS: 2}}

	frontier := []FrontierRow{
		{Train: "a", Test: "b", Group: "single", Method: "small", Top1Pct: 60, Ratio: 0.2, Reference: "large"},
		{Train: "a", Test: "b", Group: "single", Method: "large", Top1Pct: 80, Ratio: 1, Reference: "large"},
		{Train: "a", Test: "b", Group: "committee", Method: "small+large", Top1Pct: 82, Ratio: 1.2, Reference: "large"},
		{Train: "a", Test: "b", Group: FrontierThreshold, Knob: 0.6, Top1Pct: 75, Ratio: 0.55, Reference: "large"},
		{Train: "a", Test: "b", Group: FrontierThreshold, Knob: 1, Top1Pct: 81, Ratio: 0.9, Reference: "large"},
		{Train: "b", Test: "a", Group: "single", Method: "large", Top1Pct: 70, Ratio: 1, Reference: "large"},
		{Train: "b", Test: "a", Group: FrontierSoftmax, Knob: 1, Top1Pct: 69, Ratio: 0.8, Reference: "large"},
		{Train: "b", Test: "a", Group: "premodel", Method: "premodel knn-cascade", Top1Pct: 50, Ratio: 0.5, Reference: "large"},
	}
	counts := []MethodSummary{
		{Dataset: "set", Group: "1 models", Method: "premodel knn", Kind: "premodel", Top1Pct: 60, Top1LoPct: 57, Top1HiPct: 63,
			MeanMS: 1.2, MeanLoMS: 1.1, MeanHiMS: 1.3, MinImageMS: 0.9, MaxImageMS: 4, OverheadMS: 0.4, SelectionAccPct: ptr(70)},
		{Dataset: "set", Group: "2 models", Method: "premodel knn", Kind: "premodel", Top1Pct: 70, Top1LoPct: 67, Top1HiPct: 73,
			MeanMS: 2, MeanLoMS: 1.8, MeanHiMS: 2.2, MinImageMS: 0.9, MaxImageMS: 9, OverheadMS: 0.5, SelectionAccPct: ptr(55)},
	}
	wide := append([]MethodSummary{}, methods...) // costs over more than a decade: a log axis
	wide[1].MeanMS, wide[1].MeanLoMS, wide[1].MeanHiMS = 0.1, 0.09, 0.11
	learning := []LearningPoint{
		{Features: "Table 4", TrainImages: 50, AccuracyPct: 55, AccuracyLoPct: 50, AccuracyHiPct: 60, BestSingle: "large", BestSinglePct: 75, OraclePct: 90},
		{Features: "Table 4", TrainImages: 500, AccuracyPct: 62, AccuracyLoPct: 59, AccuracyHiPct: 65, BestSingle: "large", BestSinglePct: 75, OraclePct: 90},
	}
	claim := func(measure string, v float64, words string) Claim {
		return Claim{Measure: measure, Compare: "abs", Expect: v, Section: "§9", Paper: words}
	}
	paper := Paper{Setting: "a board, 3 models", Claims: []Claim{
		claim("top_share_pct", 70, "70%"), claim("step2_subset_accuracy_pct", 45, "45%"),
		claim("top_importance_pct_top1", 18, "18%"), claim("importance_drop_at_top1", 2, "at feature 2"),
		claim("peak_n_features", 2, "2 features"), claim("premodel_top1_set", 87, "87%"), claim("oracle_top1_set", 91, "91%"),
		claim("top1_set_2 models", 85, "≈85%"),
	}}
	figs := map[string]func() (Figure, error){
		"shares":           func() (Figure, error) { return SharesFigure("Fig 5", shares, 10, paper) },
		"subset-accuracy":  func() (Figure, error) { return SubsetAccuracyFigure(subset, paper) },
		"image-times":      func() (Figure, error) { return ImageTimeFigure(times) },
		"importance":       func() (Figure, error) { return ImportanceFigure("Fig 12", imp, paper) },
		"sweep":            func() (Figure, error) { return SweepFigure(sweep, paper) },
		"accuracy-latency": func() (Figure, error) { return AccuracyLatencyFigure("scale", "latency (ms)", models) },
		"overall":          func() (Figure, error) { return OverallFigure("Fig 8", methods, false, paper) },
		"overall-log":      func() (Figure, error) { return OverallFigure("Fig 8", wide, false, Paper{}) },
		"overall-top5":     func() (Figure, error) { return OverallFigure("Fig 8", methods, true, paper) },
		"groups":           func() (Figure, error) { return GroupFigure("Fig 9", methods, false, false, paper) },
		"model-count":      func() (Figure, error) { return GroupFigure("Fig 11", counts, false, true, paper) },
		"curve":            func() (Figure, error) { return CurveFigure("knob", curve) },
		"frontier":         func() (Figure, error) { return FrontierFigure(frontier) },
		"learning-curve":   func() (Figure, error) { return LearningFigure("curve", learning) },
	}
	for name, f := range figs {
		t.Run(name, func(t *testing.T) {
			fig, err := f()
			if err != nil {
				t.Fatal(err)
			}
			svg, err := fig.Encode("svg")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "fig-"+name+".svg", svg)
			png, err := fig.Encode("png")
			if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
				t.Fatalf("png: %v", err)
			}
			// To look at them: MODELPICK_FIGURE_PNGS=DIR go test ./report -run Figures
			if dir := os.Getenv("MODELPICK_FIGURE_PNGS"); dir != "" {
				if err := os.WriteFile(filepath.Join(dir, "fig-"+name+".png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if _, err := SharesFigure("empty", nil, 0, Paper{}); err != nil {
		t.Errorf("a shares figure of no models (only 'none') should draw: %v", err)
	}
	for name, f := range map[string]func() (Figure, error){
		"subset":   func() (Figure, error) { return SubsetAccuracyFigure(nil, Paper{}) },
		"times":    func() (Figure, error) { return ImageTimeFigure(nil) },
		"sweep":    func() (Figure, error) { return SweepFigure(nil, Paper{}) },
		"curve":    func() (Figure, error) { return CurveFigure("", nil) },
		"frontier": func() (Figure, error) { return FrontierFigure(nil) },
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: no records drew a figure", name)
		}
	}
}

func TestMarkdownEscapesAndKeepsHeader(t *testing.T) {
	got := Markdown([]string{"model", "top-1 (%)"}, [][]string{{"a|b", "1.0"}})
	if !strings.Contains(got, "| model ") && !strings.Contains(got, "model") {
		t.Errorf("header lost:\n%s", got)
	}
	if !strings.Contains(got, `a\|b`) || strings.Contains(got, "MODEL") {
		t.Errorf("cell not escaped or header upper-cased:\n%s", got)
	}
}

func writeResult(t *testing.T, dir, name, status string, measures string) {
	t.Helper()
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	st := `{"name":"` + name + `","artifact":"Fig X","title":"t","status":"` + status + `","reason":"waits","command":"bin/modelpick run experiments/` + name + `.yaml"}`
	os.WriteFile(filepath.Join(d, "status.json"), []byte(st), 0o644)
	if measures != "" {
		os.WriteFile(filepath.Join(d, "measures.json"), []byte(measures), 0o644)
		os.WriteFile(filepath.Join(d, "table.md"), []byte("# Fig X: t\n\n| a |\n|---|\n| 1 |\n"), 0o644)
		os.WriteFile(filepath.Join(d, "manifest.json"), []byte(`{"command":"bin/modelpick run experiments/`+name+
			`.yaml","compute_seconds":12.5,"computed_at":"2026-11-29T10:00:00Z","figures":["`+name+`"],"stages":[{"stage":"profile","compute_seconds":12.5}],"platform":{"cpu_model":"cpu","cores":2}}`), 0o644)
	}
}

func TestClaimsAndReproduce(t *testing.T) {
	dir := t.TempDir()
	writeResult(t, dir, "done", "done", `{"n": 3, "share": {"value": 61.5, "lo": 59.5, "hi": 63.5, "method": "paired bootstrap, 2000 resamples, seed 1"},
		"top": "small", "list": ["a", "b"], "gain": {"value": 4.0, "lo": 1.0, "hi": 7.0, "method": "5 x 10-fold CV"}, "ratio": 1.2,
		"kinds": {"edges": 14}, "bad": {"value": 9, "lo": 1, "hi": 2}}`)
	writeResult(t, dir, "waiting", "not attempted", "")
	claims := filepath.Join(dir, "claims.yaml")
	os.WriteFile(claims, []byte(`claims:
  - {id: exact, artifact: done, claim: three models, section: §3.2, quote: "three models here", paper: "3", measure: n, compare: equal, expect: 3}
  - {id: list, artifact: done, claim: order, paper: "a, b", measure: list, compare: equal, expect: [a, b], contradiction: "§4 says b, a"}
  - {id: near, artifact: done, criterion: top1, claim: share, paper: "60%", measure: share, compare: abs, expect: 60, tolerance: 5, why: data}
  - {id: far, artifact: done, criterion: top1, claim: share, paper: "50%", measure: share, compare: abs, expect: 50, tolerance: 2, why: data}
  - {id: straddle, artifact: done, criterion: top5, claim: gain, paper: "+3", measure: gain, compare: at_least, expect: 3, why: models}
  - {id: point, artifact: done, claim: ratio, paper: "1.5x", measure: ratio, compare: between, expect: [1, 1.43]}
  - {id: absent, artifact: done, claim: x, paper: "x", measure: nothing, compare: at_least, expect: 1}
  - {id: malformed, artifact: done, claim: x, paper: "x", measure: bad, compare: at_least, expect: 1}
  - {id: pending, artifact: waiting, claim: y, paper: "y", measure: n, compare: equal, expect: 1}
  - {id: energy, claim: less energy, section: §5.1, quote: "we reduce the energy", not_comparable: no meter here}
  - {id: ours, artifact: done, beyond_paper: true, claim: our question, paper: "none", measure: n, compare: at_most, expect: 2, tolerance: 1}
`), 0o644)
	cl, err := ReadClaims(claims)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ status, reason string }{
		"exact": {Reproduced, ""}, "list": {Reproduced, ""}, "near": {Reproduced, ""}, "far": {Deviates, ""},
		"straddle": {Inconclusive, ""}, "point": {Reproduced, ""}, "ours": {Reproduced, ""},
		"absent":    {NotAttempted, "measure nothing not produced by done"},
		"malformed": {NotAttempted, "does not hold its value"},
		"pending":   {NotAttempted, "waiting not attempted: waits"},
		"energy":    {NotComparable, "no meter here"},
	}
	for _, r := range Evaluate(cl, dir) {
		w := want[r.ID]
		if r.Status != w.status || !strings.Contains(r.Reason, w.reason) {
			t.Errorf("claim %s: %s (reason %q), want %s (reason %q)", r.ID, r.Status, r.Reason, w.status, w.reason)
		}
	}
	if _, err := Reproduce(`{{section "done"}}`, dir, cl); err == nil || !strings.Contains(err.Error(), "1 figures (done) and 0 captions") {
		t.Errorf("a figure without its caption: %v, want an error naming both counts", err)
	}
	out, err := Reproduce("# R\n\n{{section \"done\" \"What it shows; how to read it.\"}}\n{{section \"waiting\" \"never drawn\"}}\n{{claims}}\n{{notcomparable}}\n{{tally}}\n{{timings}}\n"+
		"n = {{measure \"done\" \"n\"}}, share = {{measure \"done\" \"share\"}}\n", dir, cl)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "reproduce.md", []byte(out))
	for _, s := range []string{"61.50 [59.50, 63.50] (a)", "(a) interval: paired bootstrap", "**reproduced** (no interval)",
		"**inconclusive**", "The paper contradicts itself:** §4 says b, a", "§3.2: “three models here”", "no meter here"} {
		if !strings.Contains(out, s) {
			t.Errorf("REPRODUCE.md lacks %q", s)
		}
	}
	// A malformed claims file is refused with the reason.
	for bad, reason := range map[string]string{
		"{id: x, artifact: a, claim: c, paper: p, measure: m, compare: sideways, expect: 1}":             "sideways",
		"{id: x, artifact: a, claim: c, paper: p, measure: m, compare: equal, expect: 1, colour: red}":   "colour",
		"{id: x, artifact: a, claim: c, paper: p, measure: m, compare: between, expect: [2, 1]}":         "lo <= hi",
		"{id: x, artifact: a, claim: c, paper: p, measure: m, compare: abs, expect: 1, tolerance: -1}":   "negative",
		"{id: x, artifact: a, claim: c, paper: p, measure: m, compare: abs, expect: 1, criterion: top3}": "criterion",
		"{id: x, claim: c, measure: m, not_comparable: why}":                                             "no measure",
		"{id: x, claim: c, paper: p, measure: m, compare: equal, expect: 1}":                             "artifact",
		"{id: x, artifact: a, claim: c, paper: p, measure: m, compare: at_least, expect: many}":          "numeric",
	} {
		os.WriteFile(claims, []byte("claims:\n  - "+bad+"\n"), 0o644)
		if _, err := ReadClaims(claims); err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("%s: accepted or wrong reason: %v", bad, err)
		}
	}
}

// TestStatusRule: an interval within the band is reproduced, wholly
// outside deviates, across a bound inconclusive; a point is either.
func TestStatusRule(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		name           string
		claim          Claim
		bandLo, bandHi float64
		lo, hi         float64
		want           string
	}{
		{"abs inside", Claim{Compare: "abs", Expect: 10, Tolerance: 2}, 8, 12, 8.5, 11.9, Reproduced},
		{"abs on the bounds", Claim{Compare: "abs", Expect: 10, Tolerance: 2}, 8, 12, 8, 12, Reproduced},
		{"abs below", Claim{Compare: "abs", Expect: 10, Tolerance: 2}, 8, 12, 5, 7.9, Deviates},
		{"abs above", Claim{Compare: "abs", Expect: 10, Tolerance: 2}, 8, 12, 12.1, 13, Deviates},
		{"abs straddles low", Claim{Compare: "abs", Expect: 10, Tolerance: 2}, 8, 12, 7, 9, Inconclusive},
		{"abs straddles both", Claim{Compare: "abs", Expect: 10, Tolerance: 2}, 8, 12, 7, 13, Inconclusive},
		{"rel inside", Claim{Compare: "rel", Expect: 2.0, Tolerance: 0.25}, 1.5, 2.5, 1.6, 2.4, Reproduced},
		{"rel straddles", Claim{Compare: "rel", Expect: 2.0, Tolerance: 0.25}, 1.5, 2.5, 1.4, 1.6, Inconclusive},
		{"rel of a negative", Claim{Compare: "rel", Expect: -2.0, Tolerance: 0.5}, -3, -1, -2, -2, Reproduced},
		{"at_least inside", Claim{Compare: "at_least", Expect: 7.52, Tolerance: 2}, 5.52, inf, 6, 30, Reproduced},
		{"at_least outside", Claim{Compare: "at_least", Expect: 7.52, Tolerance: 2}, 5.52, inf, -25, -18, Deviates},
		{"at_least straddles", Claim{Compare: "at_least", Expect: 0}, 0, inf, -1, 2, Inconclusive},
		{"at_most inside", Claim{Compare: "at_most", Expect: 1}, -inf, 1, 0.2, 0.9, Reproduced},
		{"at_most outside", Claim{Compare: "at_most", Expect: 1, Tolerance: 0.5}, -inf, 1.5, 1.6, 2, Deviates},
		{"at_most straddles", Claim{Compare: "at_most", Expect: 1}, -inf, 1, 0.5, 1.5, Inconclusive},
		{"between inside", Claim{Compare: "between", Expect: []any{1, 1.43}}, 1, 1.43, 1.1, 1.3, Reproduced},
		{"between widened", Claim{Compare: "between", Expect: []any{0.78, 0.85}, Tolerance: 0.05}, 0.73, 0.90, 0.74, 0.88, Reproduced},
		{"between outside", Claim{Compare: "between", Expect: []any{1, 1.43}}, 1, 1.43, 0.5, 0.9, Deviates},
		{"equal point", Claim{Compare: "equal", Expect: 7}, 7, 7, 7, 7, Reproduced},
		{"equal point off", Claim{Compare: "equal", Expect: 7}, 7, 7, 8, 8, Deviates},
		{"equal interval holds it", Claim{Compare: "equal", Expect: 7}, 7, 7, 5, 9, Inconclusive},
		{"equal interval misses it", Claim{Compare: "equal", Expect: 7}, 7, 7, 1, 3, Deviates},
	} {
		t.Run(c.name, func(t *testing.T) {
			lo, hi, ok := Band(c.claim)
			if !ok || math.Abs(lo-c.bandLo) > 1e-9 && !math.IsInf(lo, 0) || math.Abs(hi-c.bandHi) > 1e-9 && !math.IsInf(hi, 0) ||
				math.IsInf(lo, 0) != math.IsInf(c.bandLo, 0) || math.IsInf(hi, 0) != math.IsInf(c.bandHi, 0) {
				t.Fatalf("band [%v, %v] (%v), want [%v, %v]", lo, hi, ok, c.bandLo, c.bandHi)
			}
			if got := Decide(lo, hi, c.lo, c.hi); got != c.want {
				t.Errorf("[%v, %v] against [%v, %v]: %s, want %s", c.lo, c.hi, lo, hi, got, c.want)
			}
		})
	}
	if _, _, ok := Band(Claim{Compare: "equal", Expect: "knn.knn.knn"}); ok {
		t.Error("a name has a numeric band")
	}
}

func TestParseMeasure(t *testing.T) {
	for _, c := range []struct {
		in      string
		value   any
		iv      *Interval
		wantErr bool
	}{
		{`3.5`, 3.5, nil, false},
		{`"knn"`, "knn", nil, false},
		{`{"value": 2, "lo": 1, "hi": 3, "method": "m"}`, 2.0, &Interval{Value: 2, Lo: 1, Hi: 3, Method: "m"}, false},
		{`{"value": 2}`, 2.0, nil, false},
		{`{"edges": 14}`, map[string]any{"edges": 14.0}, nil, false},
		{`{"value": 2, "lo": 2.5, "hi": 3}`, nil, nil, true},
		{`{"value": 2, "lo": 1}`, nil, nil, true},
		{`{"value": "x", "lo": 1, "hi": 2}`, nil, nil, true},
	} {
		var v any
		if err := json.Unmarshal([]byte(c.in), &v); err != nil {
			t.Fatal(err)
		}
		m, err := ParseMeasure(v)
		if (err != nil) != c.wantErr {
			t.Errorf("%s: error %v", c.in, err)
			continue
		}
		if !c.wantErr && (!reflect.DeepEqual(m.Value, c.value) || !reflect.DeepEqual(m.Interval, c.iv)) {
			t.Errorf("%s: %+v %+v, want %v %+v", c.in, m.Value, m.Interval, c.value, c.iv)
		}
	}
	// Written by an experiment, read back by the report.
	b, _ := json.Marshal(map[string]any{"x": Interval{Value: 1, Lo: 0.5, Hi: 1.5, Method: "bootstrap"}})
	var ms map[string]any
	json.Unmarshal(b, &ms)
	if m, err := ParseMeasure(ms["x"]); err != nil || m.Interval == nil || m.Interval.Hi != 1.5 {
		t.Errorf("round trip: %+v %v", m, err)
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rows := []SweepPoint{{NFeatures: 2, Stage: "all", AccuracyPct: 50.5, ExtractMS: ptr(1.25), Features: "a b"}, {NFeatures: 1, Stage: "e"}}
	files, err := WriteRecords(dir, "sweep", rows)
	if err != nil || len(files) != 2 || files[0].Rows != 2 {
		t.Fatalf("%v %+v", err, files)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "sweep.csv"))
	if string(csv) != "n_features,stage,accuracy_pct,selection_pct,resampled_median_pct,resampled_lo_pct,resampled_hi_pct,extract_ms,removed,features\n"+
		"2,all,50.5,0,0,0,0,1.25,,a b\n1,e,0,0,0,0,0,,,\n" {
		t.Errorf("csv:\n%s", csv)
	}
	back, err := ReadRecords[SweepPoint](dir, "sweep")
	if err != nil || len(back) != 2 || *back[0].ExtractMS != 1.25 || back[1].ExtractMS != nil {
		t.Errorf("read back %+v %v", back, err)
	}
	if _, err := WriteRecords(dir, "bad", 3); err == nil {
		t.Error("a non-slice was written as records")
	}
}
