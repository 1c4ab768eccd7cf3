package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
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
		{Criterion: "top-1", Feature: "hue1", ImportancePct: 70}, {Criterion: "top-1", Feature: "contrast", ImportancePct: 30},
		{Criterion: "top-5", Feature: "hue1", ImportancePct: 40}, {Criterion: "top-5", Feature: "contrast", ImportancePct: 60},
	}
	sweep := []SweepPoint{{NFeatures: 3, Stage: "all", AccuracyPct: 70, ExtractMS: ptr(2)},
		{NFeatures: 2, Stage: "elimination", AccuracyPct: 71, ExtractMS: ptr(1.5)},
		{NFeatures: 1, Stage: "elimination", AccuracyPct: 60, ExtractMS: ptr(0.7)}}
	models := []ModelSummary{{Model: "small", Top1Pct: 70, LatencyMS: 10, Chosen: true, Order: 1},
		{Model: "large", Top1Pct: 85, LatencyMS: 200, Chosen: true, Order: 2}, {Model: "mid", Top1Pct: 75, LatencyMS: 40}}
	methods := []MethodSummary{
		{Dataset: "set", Method: "premodel knn", Kind: "premodel", Top1Pct: 80, Top1MinPct: 78, Top1MaxPct: 83, MeanMS: 3, MeanMinMS: 2.8,
			MeanMaxMS: 3.1, OverheadMS: 0.5, PrecisionPct: ptr(70), RecallPct: ptr(72), F1Pct: ptr(71), SelectionAccPct: ptr(60)},
		{Dataset: "set", Method: "small", Kind: "single", Top1Pct: 60, Top1MinPct: 58, Top1MaxPct: 62, MeanMS: 1, MeanMinMS: 1, MeanMaxMS: 1,
			PrecisionPct: ptr(55), RecallPct: ptr(58), F1Pct: ptr(56)},
		{Dataset: "set", Method: "oracle (all models)", Kind: "oracle", Top1Pct: 90, Top1MinPct: 88, Top1MaxPct: 92, MeanMS: 2, MeanMinMS: 2, MeanMaxMS: 2},
	}
	curve := []CurvePoint{{Method: "budget knob", Param: 0.2, AccuracyPct: 60, MeanMS: 1}, {Method: "budget knob", Param: 0.8, AccuracyPct: 78, MeanMS: 3},
		{Method: "single: small", Param: 1, AccuracyPct: 60, MeanMS: 1}, {Method: "oracle (candidates)", AccuracyPct: 90, MeanMS: 2}}

	figs := map[string]func() (Figure, error){
		"shares":           func() (Figure, error) { return SharesFigure("Fig 5", shares, 10) },
		"subset-accuracy":  func() (Figure, error) { return SubsetAccuracyFigure(subset) },
		"image-times":      func() (Figure, error) { return ImageTimeFigure(times) },
		"importance":       func() (Figure, error) { return ImportanceFigure("Fig 12", imp) },
		"sweep":            func() (Figure, error) { return SweepFigure(sweep) },
		"accuracy-latency": func() (Figure, error) { return AccuracyLatencyFigure("scale", "latency (ms)", models) },
		"overall":          func() (Figure, error) { return OverallFigure("Fig 8", methods) },
		"groups":           func() (Figure, error) { return GroupFigure("Fig 9", methods) },
		"curve":            func() (Figure, error) { return CurveFigure("knob", curve) },
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
		})
	}
	if _, err := SharesFigure("empty", nil, 0); err != nil {
		t.Errorf("a shares figure of no models (only 'none') should draw: %v", err)
	}
	for name, f := range map[string]func() (Figure, error){
		"subset": func() (Figure, error) { return SubsetAccuracyFigure(nil) },
		"times":  func() (Figure, error) { return ImageTimeFigure(nil) },
		"sweep":  func() (Figure, error) { return SweepFigure(nil) },
		"curve":  func() (Figure, error) { return CurveFigure("", nil) },
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
	writeResult(t, dir, "done", "done", `{"n": 3, "share": 61.5, "top": "small", "list": ["a", "b"], "gain": 4.0}`)
	writeResult(t, dir, "waiting", "not attempted", "")
	claims := filepath.Join(dir, "claims.yaml")
	os.WriteFile(claims, []byte(`claims:
  - {id: exact, artifact: done, claim: three models, paper: "3", measure: n, compare: equal, expect: 3, why: same}
  - {id: list, artifact: done, claim: order, paper: "a, b", measure: list, compare: equal, expect: [a, b], why: same}
  - {id: near, artifact: done, claim: share, paper: "60%", measure: share, compare: abs, expect: 60, tolerance: 2, why: data}
  - {id: far, artifact: done, claim: share, paper: "50%", measure: share, compare: abs, expect: 50, tolerance: 2, why: data}
  - {id: least, artifact: done, claim: gain, paper: "+7.52", measure: gain, compare: at_least, expect: 7.52, tolerance: 5, why: models}
  - {id: absent, artifact: done, claim: x, paper: "x", measure: nothing, compare: at_least, expect: 1, why: x}
  - {id: pending, artifact: waiting, claim: y, paper: "y", measure: n, compare: equal, expect: 1, why: y}
`), 0o644)
	cl, err := ReadClaims(claims)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"exact": Reproduced, "list": Reproduced, "near": WithinTolerance, "far": Deviates,
		"least": WithinTolerance, "absent": NotAttempted, "pending": NotAttempted}
	for _, r := range Evaluate(cl, dir) {
		if r.Status != want[r.ID] {
			t.Errorf("claim %s: %s (ours %q, reason %q), want %s", r.ID, r.Status, r.Ours, r.Reason, want[r.ID])
		}
	}
	out, err := Reproduce("# R\n\n{{section \"done\"}}\n{{section \"waiting\"}}\n{{claims}}\n{{timings}}\nn = {{measure \"done\" \"n\"}}\n", dir, cl)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "reproduce.md", []byte(out))
	// A malformed claims file is refused with the reason.
	os.WriteFile(claims, []byte("claims:\n  - {id: x, artifact: a, claim: c, paper: p, measure: m, compare: sideways, expect: 1}\n"), 0o644)
	if _, err := ReadClaims(claims); err == nil || !strings.Contains(err.Error(), "sideways") {
		t.Errorf("bad compare accepted: %v", err)
	}
	os.WriteFile(claims, []byte("claims:\n  - {id: x, artifact: a, claim: c, paper: p, measure: m, compare: equal, expect: 1, colour: red}\n"), 0o644)
	if _, err := ReadClaims(claims); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown field accepted: %v", err)
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
	if string(csv) != "n_features,stage,accuracy_pct,extract_ms,removed,features\n2,all,50.5,1.25,,a b\n1,e,0,,,\n" {
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
