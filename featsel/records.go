package featsel

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/modelpick/modelpick/profileview"
)

// Report is everything one selection run computed, as plain data.
type Report struct {
	Manifest    Manifest     `json:"manifest"`
	Load        LoadInfo     `json:"load"`
	Filter      FilterResult `json:"filter"`
	AllAccuracy Score        `json:"all_features"`
	// Elimination is the path on all images (Fig 13's curve).
	Elimination Elimination `json:"elimination"`
	// Resampling is elimination on each bootstrap resample (Table 4).
	Resampling Resampling `json:"resampling"`
	// Importance is Fig 7's (Table 4's set), FilteredImportance Fig 12's
	// (every feature the filter left, by median drop).
	Importance         []Importance `json:"importance"`
	FilteredImportance []Importance `json:"filtered_importance"`
	Sweep              []SweepPoint `json:"sweep"`
	Summary            Summary      `json:"summary"`
}

// Manifest records the inputs, settings and versions of a run.
type Manifest struct {
	Command         string                `json:"command"`
	Store           string                `json:"store"`
	Criterion       profileview.Criterion `json:"criterion"`
	Folds           int                   `json:"folds"`
	Repeats         int                   `json:"repeats"`
	Seed            int64                 `json:"seed"`
	Resamples       int                   `json:"resamples"`
	ResampleSeed    int64                 `json:"resample_seed"`
	KeepShare       float64               `json:"keep_share"`
	Threshold       float64               `json:"threshold"`
	Tolerance       float64               `json:"tolerance_points"`
	Learner         string                `json:"learner"`
	FeaturesVersion string                `json:"features_version"`
	ConfigKey       string                `json:"config_key"`
	Models          map[string]string     `json:"models_files_sha256"`
	TimingImages    int                   `json:"timing_images"`
	TimingReps      int                   `json:"timing_reps"`
	TimingSource    string                `json:"timing_source,omitempty"`
	Revision        string                `json:"modelpick_revision"`
	GoVersion       string                `json:"go"`
	CreatedAt       string                `json:"created_at"`
	ElapsedS        float64               `json:"elapsed_s"`
	Notes           []string              `json:"notes,omitempty"`
	Files           []OutputFile          `json:"files"`
}

// OutputFile is one written record file.
type OutputFile struct {
	File   string `json:"file"`
	Rows   int    `json:"rows"`
	SHA256 string `json:"sha256"`
}

// WriteRecords writes the report into dir as one JSON and one CSV file per
// record set (correlation, correlation_removed (Table 3), mi_ranking,
// elimination_path, elimination_candidates, kept_features (Table 4),
// importance (Figs 7, 12), sweep (Fig 13), targets), a markdown summary
// (report.md) and manifest.json listing them with their hashes. NaN (an
// undefined correlation) is null in JSON and empty in CSV.
func WriteRecords(dir string, r Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	w := &writer{dir: dir}
	m := r.Filter.Matrix
	var corr [][]string
	var corrJSON []map[string]any
	for i := range m.Names {
		for j := range m.Names {
			corr = append(corr, []string{m.Names[i], m.Names[j], num(m.R[i][j])})
			corrJSON = append(corrJSON, map[string]any{"a": m.Names[i], "b": m.Names[j], "r": jnum(m.R[i][j])})
		}
	}
	w.records("correlation", []string{"feature_a", "feature_b", "r"}, corr, corrJSON)

	var rem [][]string
	var remJSON []map[string]any
	for _, x := range r.Filter.Removed {
		rem = append(rem, []string{x.Removed, x.Kept, num(x.R), num(math.Abs(x.R)), x.Reason})
		remJSON = append(remJSON, map[string]any{"removed": x.Removed, "kept": x.Kept, "r": jnum(x.R),
			"abs_r": jnum(math.Abs(x.R)), "reason": x.Reason})
	}
	w.records("correlation_removed", []string{"removed", "kept", "r", "abs_r", "reason"}, rem, remJSON)

	var rank [][]string
	for i, s := range r.Filter.Ranking {
		rank = append(rank, []string{strconv.Itoa(i + 1), s.Name, num(s.MI)})
	}
	w.records("mi_ranking", []string{"rank", "feature", "mi_bits"}, rank, r.Filter.Ranking)

	var path, cands [][]string
	for i, s := range r.Elimination.Path {
		path = append(path, []string{strconv.Itoa(i), strconv.Itoa(s.NFeatures), s.Removed, num(s.Accuracy), num(s.Selection),
			strconv.FormatBool(s.Holds), strings.Join(s.Features, " ")})
		for _, c := range s.Candidates {
			cands = append(cands, []string{strconv.Itoa(i), c.Feature, num(c.Accuracy), num(c.Selection)})
		}
	}
	w.records("elimination_path", []string{"step", "n_features", "removed", "premodel_accuracy_pct", "selection_accuracy_pct", "holds", "features"},
		path, r.Elimination.Path)
	w.records("elimination_candidates", []string{"step", "feature_removed", "premodel_accuracy_without_pct", "selection_accuracy_without_pct"}, cands, nil)

	var runs, runPath [][]string
	for _, run := range r.Resampling.Runs {
		runs = append(runs, []string{strconv.Itoa(run.Index), strconv.Itoa(run.Images), strconv.Itoa(len(run.Kept)),
			strings.Join(run.Kept, " "), num(run.Kept4.Accuracy), num(run.All.Accuracy), num(run.None.Accuracy)})
		for _, p := range run.Path {
			runPath = append(runPath, []string{strconv.Itoa(run.Index), strconv.Itoa(p.NFeatures), p.Removed, num(p.Accuracy), num(p.Selection)})
		}
	}
	w.records("resamples", []string{"resample", "distinct_images", "n_kept", "kept", "table4_set_premodel_accuracy_pct",
		"all_features_premodel_accuracy_pct", "no_feature_premodel_accuracy_pct"}, runs, r.Resampling.Runs)
	w.records("resample_paths", []string{"resample", "n_features", "removed", "premodel_accuracy_pct", "selection_accuracy_pct"}, runPath, nil)

	var freq [][]string
	for _, f := range r.Resampling.Frequency {
		freq = append(freq, []string{f.Feature, num(f.Share), strconv.FormatBool(f.Kept)})
	}
	w.records("frequency", []string{"feature", "kept_share", "in_table4"}, freq, r.Resampling.Frequency)

	var kept [][]string
	for _, f := range r.Resampling.Kept {
		kept = append(kept, []string{f})
	}
	var t4 any
	for _, p := range r.Sweep {
		if p.Stage == StageTable4 {
			t4 = Score{Accuracy: p.Accuracy, Selection: p.Selection}
		}
	}
	w.records("kept_features", []string{"feature"}, kept, map[string]any{"kept": r.Resampling.Kept,
		"rule": r.Resampling.Rule, "summary": r.Summary, "table4_set": t4,
		"all_features": r.AllAccuracy, "full_data_path_kept": r.Elimination.Kept, "no_feature": r.Elimination.Baseline,
		"tolerance_points": r.Elimination.Tolerance})

	impRows := func(xs []Importance) [][]string {
		var out [][]string
		for _, x := range xs {
			out = append(out, []string{x.Feature, strconv.FormatBool(x.Kept), num(x.KeptShare), num(x.AccuracyWithout), num(x.Drop),
				num(x.Percent), num(x.DropResampled.Median), num(x.DropResampled.Lo), num(x.DropResampled.Hi),
				num(x.PercentResampled.Median), num(x.PercentResampled.Lo), num(x.PercentResampled.Hi)})
		}
		return out
	}
	impHeader := []string{"feature", "in_table4", "kept_share", "premodel_accuracy_without_pct", "drop_points", "importance_pct",
		"drop_median", "drop_lo", "drop_hi", "importance_pct_median", "importance_pct_lo", "importance_pct_hi"}
	w.records("importance", impHeader, impRows(r.Importance), r.Importance)
	w.records("filtered_importance", impHeader, impRows(r.FilteredImportance), r.FilteredImportance)

	var sw [][]string
	for _, p := range r.Sweep {
		ms := ""
		if p.ExtractMS != nil {
			ms = num(*p.ExtractMS)
		}
		sw = append(sw, []string{p.Stage, strconv.Itoa(p.NFeatures), num(p.Accuracy), num(p.Selection), num(p.Resampled.Median),
			num(p.Resampled.Lo), num(p.Resampled.Hi), ms, strings.Join(p.Features, " ")})
	}
	w.records("sweep", []string{"stage", "n_features", "premodel_accuracy_pct", "selection_accuracy_pct", "resampled_median",
		"resampled_lo", "resampled_hi", "extract_ms_per_image", "features"}, sw, r.Sweep)

	var tg [][]string
	var tgJSON []map[string]any
	for i, name := range r.Load.Models {
		tg = append(tg, []string{name, num(r.Load.Cost[i]), strconv.Itoa(r.Load.TargetCounts[name])})
		tgJSON = append(tgJSON, map[string]any{"model": name, "cost": r.Load.Cost[i], "optimum_for": r.Load.TargetCounts[name]})
	}
	tg = append(tg, []string{"none", "", strconv.Itoa(r.Load.TargetCounts["none"])})
	tgJSON = append(tgJSON, map[string]any{"model": "none", "cost": nil, "optimum_for": r.Load.TargetCounts["none"]})
	w.records("targets", []string{"model", "cost", "optimum_for"}, tg, tgJSON)

	w.file("report.md", []byte(Markdown(r)), 0)
	if w.err != nil {
		return w.err
	}
	r.Manifest.Files = w.files
	b, err := json.MarshalIndent(struct {
		Manifest
		Load LoadInfo `json:"load"`
	}{r.Manifest, r.Load}, "", "  ")
	if err != nil {
		return fmt.Errorf("write records: manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

// writer writes record files and remembers the first error.
type writer struct {
	dir   string
	files []OutputFile
	err   error
}

func (w *writer) records(base string, header []string, rows [][]string, jsonValue any) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write(header) // writes to a bytes.Buffer cannot fail
	_ = cw.WriteAll(rows)
	w.file(base+".csv", buf.Bytes(), len(rows))
	if jsonValue == nil {
		return
	}
	b, err := json.MarshalIndent(jsonValue, "", "  ")
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("write records: %s.json: %w", base, err)
		return
	}
	w.file(base+".json", append(b, '\n'), len(rows))
}

func (w *writer) file(name string, data []byte, rows int) {
	if w.err != nil {
		return
	}
	// Temporary name then rename: a killed run never leaves a truncated file.
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p+".tmp", data, 0o644); err != nil {
		w.err = fmt.Errorf("write records: %w", err)
		return
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		w.err = fmt.Errorf("write records: %w", err)
		return
	}
	h := sha256.Sum256(data)
	w.files = append(w.files, OutputFile{File: name, Rows: rows, SHA256: hex.EncodeToString(h[:])})
}

// num formats a float in the shortest form that reads back exactly; NaN is "".
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// jnum is v for JSON: nil (null) for NaN, which JSON cannot hold.
func jnum(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// Markdown renders the Table 3 and Table 4 analogues, importance and the
// sweep of a report for reading.
func Markdown(r Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Feature selection (%s, %d images of %s)\n\n", r.Manifest.Criterion, r.Load.Images,
		strings.Join(r.Load.Datasets, ", "))
	fmt.Fprintf(&b, "Targets: optimum model per image by %s; %d-fold CV (seed %d, %d repeat(s)) of %s; accuracy is the premodel's "+
		"(the share of images whose chosen model is right, none running the cheapest model); %d bootstrap resamples (seed %d).\n\n",
		r.Load.CostSource, r.Manifest.Folds, r.Manifest.Seed, max(r.Manifest.Repeats, 1), r.Manifest.Learner,
		r.Resampling.Resamples, r.Resampling.Seed)
	fmt.Fprintf(&b, "## Correlated features removed (|r| > %g; Table 3 analogue)\n\n| removed | kept | r |\n|---|---|---|\n", r.Filter.Threshold)
	for _, x := range r.Filter.Removed {
		kept := x.Kept
		if kept == "" {
			kept = "(" + x.Reason + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", x.Removed, kept, fmtR(x.R))
	}
	s := r.Summary
	fmt.Fprintf(&b, "\n## Kept features (Table 4 analogue)\n\n%s.\n\nFeatures kept per resample: median %g [%g, %g]; Table 4's set: %d. "+
		"Premodel accuracy (median over resamples): Table 4's set %.2f%%, all %d features %.2f%%, no feature %.2f%%.\n\n",
		r.Resampling.Rule, s.NKept.Median, s.NKept.Lo, s.NKept.Hi, s.NKeptRule, s.KeptAccuracy.Median, len(r.Filter.Matrix.Names),
		s.AllAccuracy.Median, s.NoFeature.Median)
	fmt.Fprintf(&b, "| feature | kept by (%% of resamples) | in Table 4 | drop (points, median [95%%]) |\n|---|---|---|---|\n")
	for _, x := range r.FilteredImportance {
		fmt.Fprintf(&b, "| %s | %.0f | %v | %.2f [%.2f, %.2f] |\n", x.Feature, 100*x.KeptShare, x.Kept,
			x.DropResampled.Median, x.DropResampled.Lo, x.DropResampled.Hi)
	}
	fmt.Fprintf(&b, "\n## Accuracy and extraction time against the number of features (Fig 13 analogue)\n\n"+
		"| n | stage | premodel accuracy, all images (%%) | over resamples (median [95%%]) | extract ms/image |\n|---|---|---|---|---|\n")
	for _, p := range r.Sweep {
		ms := "-"
		if p.ExtractMS != nil {
			ms = fmt.Sprintf("%.3f", *p.ExtractMS)
		}
		fmt.Fprintf(&b, "| %d | %s | %.2f | %.2f [%.2f, %.2f] | %s |\n", p.NFeatures, p.Stage, p.Accuracy,
			p.Resampled.Median, p.Resampled.Lo, p.Resampled.Hi, ms)
	}
	return b.String()
}

func fmtR(r float64) string {
	if math.IsNaN(r) {
		return "-"
	}
	return fmt.Sprintf("%+.3f", r)
}
