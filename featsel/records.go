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
	AllAccuracy float64      `json:"all_features_cv_accuracy"`
	Elimination Elimination  `json:"elimination"`
	Sweep       []SweepPoint `json:"sweep"`
}

// Manifest records the inputs, settings and versions of a run.
type Manifest struct {
	Command         string                `json:"command"`
	Store           string                `json:"store"`
	Criterion       profileview.Criterion `json:"criterion"`
	Folds           int                   `json:"folds"`
	Repeats         int                   `json:"repeats"`
	Seed            int64                 `json:"seed"`
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
		path = append(path, []string{strconv.Itoa(i), strconv.Itoa(s.NFeatures), s.Removed, num(s.Accuracy),
			strconv.FormatBool(s.Holds), strings.Join(s.Features, " ")})
		for _, c := range s.Candidates {
			cands = append(cands, []string{strconv.Itoa(i), c.Feature, num(c.Accuracy)})
		}
	}
	w.records("elimination_path", []string{"step", "n_features", "removed", "cv_accuracy", "holds", "features"}, path, r.Elimination.Path)
	w.records("elimination_candidates", []string{"step", "feature_removed", "cv_accuracy_without"}, cands, nil)

	var kept [][]string
	for _, f := range r.Elimination.Kept {
		kept = append(kept, []string{f})
	}
	w.records("kept_features", []string{"feature"}, kept, map[string]any{"kept": r.Elimination.Kept,
		"cv_accuracy": r.Elimination.KeptAccuracy, "best_cv_accuracy": r.Elimination.BestAccuracy,
		"all_features_cv_accuracy": r.AllAccuracy, "no_feature_cv_accuracy": r.Elimination.Baseline,
		"holds":            "cv accuracy within tolerance_points of best_cv_accuracy (the best on the elimination path); kept is the smallest set that holds",
		"tolerance_points": r.Elimination.Tolerance})

	var imp [][]string
	for _, x := range r.Elimination.Importance {
		imp = append(imp, []string{x.Feature, num(x.AccuracyWithout), num(x.Drop), num(x.Percent)})
	}
	w.records("importance", []string{"feature", "cv_accuracy_without", "drop_points", "importance_pct"}, imp, r.Elimination.Importance)

	var sw [][]string
	for _, p := range r.Sweep {
		ms := ""
		if p.ExtractMS != nil {
			ms = num(*p.ExtractMS)
		}
		sw = append(sw, []string{p.Stage, strconv.Itoa(p.NFeatures), num(p.Accuracy), ms, strings.Join(p.Features, " ")})
	}
	w.records("sweep", []string{"stage", "n_features", "cv_accuracy", "extract_ms_per_image", "features"}, sw, r.Sweep)

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
	fmt.Fprintf(&b, "Targets: optimum model per image by %s; %d-fold CV (seed %d, %d repeat(s)) of %s.\n\n",
		r.Load.CostSource, r.Manifest.Folds, r.Manifest.Seed, max(r.Manifest.Repeats, 1), r.Manifest.Learner)
	fmt.Fprintf(&b, "## Correlated features removed (|r| > %g; Table 3 analogue)\n\n| removed | kept | r |\n|---|---|---|\n", r.Filter.Threshold)
	for _, x := range r.Filter.Removed {
		kept := x.Kept
		if kept == "" {
			kept = "(" + x.Reason + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", x.Removed, kept, fmtR(x.R))
	}
	fmt.Fprintf(&b, "\n## Kept features (Table 4 analogue)\n\nCV accuracy: all %d features %.2f%%; after the filter (%d) %.2f%%; kept (%d) %.2f%%; no features %.2f%%.\n\n",
		len(r.Filter.Matrix.Names), r.AllAccuracy, len(r.Filter.Kept), firstAccuracy(r.Elimination),
		len(r.Elimination.Kept), r.Elimination.KeptAccuracy, r.Elimination.Baseline)
	fmt.Fprintf(&b, "| feature | accuracy without (%%) | drop (points) | importance (%%) |\n|---|---|---|---|\n")
	for _, x := range r.Elimination.Importance {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.1f |\n", x.Feature, x.AccuracyWithout, x.Drop, x.Percent)
	}
	fmt.Fprintf(&b, "\n## Accuracy and extraction time against the number of features (Fig 13 analogue)\n\n| n | stage | CV accuracy (%%) | extract ms/image | removed |\n|---|---|---|---|---|\n")
	for i, p := range r.Sweep {
		ms := "-"
		if p.ExtractMS != nil {
			ms = fmt.Sprintf("%.3f", *p.ExtractMS)
		}
		removed := ""
		if i > 0 && i-1 < len(r.Elimination.Path) {
			removed = r.Elimination.Path[i-1].Removed
		}
		fmt.Fprintf(&b, "| %d | %s | %.2f | %s | %s |\n", p.NFeatures, p.Stage, p.Accuracy, ms, removed)
	}
	return b.String()
}

func firstAccuracy(e Elimination) float64 {
	if len(e.Path) == 0 {
		return math.NaN()
	}
	return e.Path[0].Accuracy
}

func fmtR(r float64) string {
	if math.IsNaN(r) {
		return "-"
	}
	return fmt.Sprintf("%+.3f", r)
}
