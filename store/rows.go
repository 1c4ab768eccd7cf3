package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ImageRow is one image of a data set. An image that failed to decode is
// recorded with Error set (and zero size) so that a resumed run does not
// retry it forever and the failure is visible in the results.
type ImageRow struct {
	Dataset, File string
	SHA256        string // hex sha256 of the file's bytes
	Label         int    // 0..999, or -1 when unknown
	Width, Height int
	Error         string // "" when the image decoded
}

// ModelRow is a registered model.
type ModelRow struct {
	Name        string
	SpecJSON    string // canonical JSON: compact, object keys sorted
	FilesSHA256 string // hash over the model's files
}

// PredictionRow is one model's answer on one image (hardware independent).
type PredictionRow struct {
	Dataset, File, Model string
	Top5Idx              []int     // class indices, best first (usually five)
	Top5Score            []float64 // their scores, same length
	Correct1, Correct5   bool
}

// CostRow is one model's measured cost on this store's device.
type CostRow struct {
	Model        string
	PlatformJSON string // description of the device and runtime
	Threads      int
	N            int // number of timed runs
	MeanMS       float64
	StdMS        float64
	MedianMS     float64
	P95MS        float64
	CILowMS      float64 // 95% confidence interval of the mean
	CIHighMS     float64
	Converged    bool // the interval reached the target width
	Warnings     []string
	EnergyJ      *float64 // nil when not measured
	IdleW        *float64 // nil when not measured
	EnergyStatus string   // e.g. "ok", or "not measured: no meter"; required when EnergyJ is nil
	MeasuredAt   time.Time
}

// FeatureRow is one feature value of one image, keyed by the image's content
// hash and the feature code's version so a code change never reuses stale values.
type FeatureRow struct {
	SHA256, Version, Name string
	Value                 float64 // NaN is stored as NULL and read back as NaN
}

// FeatureErrorRow records that the features of an image (by content hash)
// could not be computed under a feature configuration (Version as in
// FeatureRow): the stage stores it once and a resumed run skips the image.
type FeatureErrorRow struct {
	SHA256, Version, Error string
}

// RunRow is one command run against the store.
type RunRow struct {
	ID           int64
	Started      time.Time
	Finished     time.Time // zero while running, or when the run was killed
	Command      string
	ManifestJSON string
}

// RegisterModel records a model's spec and file hash. Registering the same
// name again is fine when both are unchanged and an error otherwise: the
// store's predictions would silently mix two different models.
func (s *Store) RegisterModel(ctx context.Context, name, specJSON, filesSHA256 string) error {
	if name == "" {
		return errors.New("register model: empty name")
	}
	spec, err := canonicalJSON(specJSON)
	if err != nil {
		return fmt.Errorf("register model %s: spec is not JSON: %w", name, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("register model %s: %w", name, err)
	}
	defer tx.Rollback()
	var old ModelRow
	err = tx.QueryRowContext(ctx, `SELECT spec_json, files_sha256 FROM models WHERE name=?`, name).
		Scan(&old.SpecJSON, &old.FilesSHA256)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO models(name, spec_json, files_sha256) VALUES(?,?,?)`,
			name, spec, filesSHA256); err != nil {
			return fmt.Errorf("register model %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("register model %s: %w", name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("register model %s: %w", name, err)
	}
	if old.SpecJSON != spec || old.FilesSHA256 != filesSHA256 {
		return fmt.Errorf("register model %s: store %s already holds a model of that name with another spec or files "+
			"(spec %s, files %.12s; now spec %s, files %.12s): use a new store or a new model name",
			name, s.path, shortHash(old.SpecJSON), old.FilesSHA256, shortHash(spec), filesSHA256)
	}
	return nil
}

// Models returns the registered models sorted by name.
func (s *Store) Models(ctx context.Context) ([]ModelRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, spec_json, files_sha256 FROM models ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read models from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []ModelRow
	for rows.Next() {
		var m ModelRow
		if err := rows.Scan(&m.Name, &m.SpecJSON, &m.FilesSHA256); err != nil {
			return nil, fmt.Errorf("read models from %s: %w", s.path, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// WriteBatch writes images and predictions in one transaction: after a crash
// either the whole batch is there or none of it. Rows whose key exists are
// replaced, so writing a batch twice leaves one copy. Every prediction's
// model must be registered.
func (s *Store) WriteBatch(ctx context.Context, images []ImageRow, preds []PredictionRow) error {
	for _, im := range images {
		if im.Dataset == "" || im.File == "" {
			return fmt.Errorf("write batch: image row %+v lacks dataset or file", im)
		}
	}
	for _, p := range preds {
		if p.Dataset == "" || p.File == "" || p.Model == "" {
			return fmt.Errorf("write batch: prediction row %s/%s/%s lacks dataset, file or model", p.Dataset, p.File, p.Model)
		}
		if len(p.Top5Idx) != len(p.Top5Score) {
			return fmt.Errorf("write batch: prediction %s/%s by %s has %d indices but %d scores",
				p.Dataset, p.File, p.Model, len(p.Top5Idx), len(p.Top5Score))
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write batch to %s: %w", s.path, err)
	}
	defer tx.Rollback()
	if err := checkModels(ctx, tx, predModels(preds)); err != nil {
		return fmt.Errorf("write batch to %s: %w", s.path, err)
	}
	if len(images) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO images(dataset, file, sha256, label, width, height, error)
			VALUES(?,?,?,?,?,?,?) ON CONFLICT(dataset, file) DO UPDATE SET sha256=excluded.sha256,
			label=excluded.label, width=excluded.width, height=excluded.height, error=excluded.error`)
		if err != nil {
			return fmt.Errorf("write batch to %s: %w", s.path, err)
		}
		defer st.Close()
		for _, im := range images {
			if _, err := st.ExecContext(ctx, im.Dataset, im.File, im.SHA256, im.Label, im.Width, im.Height, im.Error); err != nil {
				return fmt.Errorf("write image %s/%s to %s: %w", im.Dataset, im.File, s.path, err)
			}
		}
	}
	if len(preds) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT INTO predictions(dataset, file, model, top5_idx, top5_score, correct1, correct5)
			VALUES(?,?,?,?,?,?,?) ON CONFLICT(dataset, file, model) DO UPDATE SET top5_idx=excluded.top5_idx,
			top5_score=excluded.top5_score, correct1=excluded.correct1, correct5=excluded.correct5`)
		if err != nil {
			return fmt.Errorf("write batch to %s: %w", s.path, err)
		}
		defer st.Close()
		for _, p := range preds {
			if _, err := st.ExecContext(ctx, p.Dataset, p.File, p.Model, joinInts(p.Top5Idx), joinFloats(p.Top5Score),
				p.Correct1, p.Correct5); err != nil {
				return fmt.Errorf("write prediction %s/%s by %s to %s: %w", p.Dataset, p.File, p.Model, s.path, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write batch to %s: %w", s.path, err)
	}
	return nil
}

func predModels(preds []PredictionRow) []string {
	var names []string
	for _, p := range preds {
		names = append(names, p.Model)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// checkModels fails unless every named model is registered.
func checkModels(ctx context.Context, tx *sql.Tx, names []string) error {
	for _, name := range names {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM models WHERE name=?`, name).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("model %s is not registered: call RegisterModel with its spec first", name)
		}
	}
	return nil
}

// Done returns the files of dataset that already have a prediction by model.
func (s *Store) Done(ctx context.Context, dataset, model string) (map[string]bool, error) {
	return s.fileSet(ctx, `SELECT file FROM predictions WHERE dataset=? AND model=?`, dataset, model)
}

// ImagesDone returns the files of dataset that already have an image row.
func (s *Store) ImagesDone(ctx context.Context, dataset string) (map[string]bool, error) {
	return s.fileSet(ctx, `SELECT file FROM images WHERE dataset=?`, dataset)
}

func (s *Store) fileSet(ctx context.Context, query string, args ...any) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.path, err)
	}
	defer rows.Close()
	out := make(map[string]bool)
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, fmt.Errorf("read %s: %w", s.path, err)
		}
		out[f] = true
	}
	return out, rows.Err()
}

// Images returns the image rows of dataset ("" for all) sorted by dataset and file.
func (s *Store) Images(ctx context.Context, dataset string) ([]ImageRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT dataset, file, sha256, label, width, height, error FROM images
		WHERE ?='' OR dataset=? ORDER BY dataset, file`, dataset, dataset)
	if err != nil {
		return nil, fmt.Errorf("read images from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []ImageRow
	for rows.Next() {
		var r ImageRow
		if err := rows.Scan(&r.Dataset, &r.File, &r.SHA256, &r.Label, &r.Width, &r.Height, &r.Error); err != nil {
			return nil, fmt.Errorf("read images from %s: %w", s.path, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Predictions returns the predictions of dataset ("" for all) sorted by
// dataset, file and model.
func (s *Store) Predictions(ctx context.Context, dataset string) ([]PredictionRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT dataset, file, model, top5_idx, top5_score, correct1, correct5
		FROM predictions WHERE ?='' OR dataset=? ORDER BY dataset, file, model`, dataset, dataset)
	if err != nil {
		return nil, fmt.Errorf("read predictions from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []PredictionRow
	for rows.Next() {
		var r PredictionRow
		var idx, score string
		if err := rows.Scan(&r.Dataset, &r.File, &r.Model, &idx, &score, &r.Correct1, &r.Correct5); err != nil {
			return nil, fmt.Errorf("read predictions from %s: %w", s.path, err)
		}
		if r.Top5Idx, err = splitInts(idx); err != nil {
			return nil, fmt.Errorf("read prediction %s/%s by %s from %s: %w", r.Dataset, r.File, r.Model, s.path, err)
		}
		if r.Top5Score, err = splitFloats(score); err != nil {
			return nil, fmt.Errorf("read prediction %s/%s by %s from %s: %w", r.Dataset, r.File, r.Model, s.path, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutCost records (or replaces) the cost of a registered model at a thread count.
func (s *Store) PutCost(ctx context.Context, c CostRow) error {
	if c.Model == "" {
		return errors.New("put cost: empty model name")
	}
	for name, v := range map[string]float64{"mean_ms": c.MeanMS, "std_ms": c.StdMS, "median_ms": c.MedianMS,
		"p95_ms": c.P95MS, "ci_low_ms": c.CILowMS, "ci_high_ms": c.CIHighMS} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("put cost %s: %s is %v", c.Model, name, v)
		}
	}
	if c.EnergyJ == nil && c.EnergyStatus == "" {
		return fmt.Errorf("put cost %s: no energy and no energy status: say why, e.g. %q", c.Model, "not measured: no meter")
	}
	if c.MeasuredAt.IsZero() {
		return fmt.Errorf("put cost %s: MeasuredAt is not set", c.Model)
	}
	platform, err := canonicalJSON(orEmptyObject(c.PlatformJSON))
	if err != nil {
		return fmt.Errorf("put cost %s: platform is not JSON: %w", c.Model, err)
	}
	warnings, err := json.Marshal(orEmpty(c.Warnings))
	if err != nil {
		return fmt.Errorf("put cost %s: %w", c.Model, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put cost %s: %w", c.Model, err)
	}
	defer tx.Rollback()
	if err := checkModels(ctx, tx, []string{c.Model}); err != nil {
		return fmt.Errorf("put cost: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO costs(model, platform_json, threads, n, mean_ms, std_ms,
		median_ms, p95_ms, ci_low_ms, ci_high_ms, converged, warnings, energy_j, idle_w, energy_status, measured_at)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.Model, platform, c.Threads, c.N, c.MeanMS, c.StdMS, c.MedianMS, c.P95MS, c.CILowMS, c.CIHighMS,
		c.Converged, string(warnings), c.EnergyJ, c.IdleW, c.EnergyStatus, formatTime(c.MeasuredAt))
	if err != nil {
		return fmt.Errorf("put cost %s: %w", c.Model, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("put cost %s: %w", c.Model, err)
	}
	return nil
}

// Costs returns every cost row sorted by model and threads.
func (s *Store) Costs(ctx context.Context) ([]CostRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT model, platform_json, threads, n, mean_ms, std_ms, median_ms, p95_ms,
		ci_low_ms, ci_high_ms, converged, warnings, energy_j, idle_w, energy_status, measured_at
		FROM costs ORDER BY model, threads`)
	if err != nil {
		return nil, fmt.Errorf("read costs from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []CostRow
	for rows.Next() {
		var c CostRow
		var warnings, measured string
		var energy, idle sql.NullFloat64
		if err := rows.Scan(&c.Model, &c.PlatformJSON, &c.Threads, &c.N, &c.MeanMS, &c.StdMS, &c.MedianMS, &c.P95MS,
			&c.CILowMS, &c.CIHighMS, &c.Converged, &warnings, &energy, &idle, &c.EnergyStatus, &measured); err != nil {
			return nil, fmt.Errorf("read costs from %s: %w", s.path, err)
		}
		if err := json.Unmarshal([]byte(warnings), &c.Warnings); err != nil {
			return nil, fmt.Errorf("read cost %s from %s: warnings: %w", c.Model, s.path, err)
		}
		if len(c.Warnings) == 0 {
			c.Warnings = nil
		}
		if energy.Valid {
			c.EnergyJ = &energy.Float64
		}
		if idle.Valid {
			c.IdleW = &idle.Float64
		}
		if c.MeasuredAt, err = parseTime(measured); err != nil {
			return nil, fmt.Errorf("read cost %s from %s: %w", c.Model, s.path, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PutFeatures records (or replaces) feature values in one transaction.
func (s *Store) PutFeatures(ctx context.Context, rows []FeatureRow) error {
	return s.WriteFeatures(ctx, rows, nil)
}

// WriteFeatures records (or replaces) feature values and feature errors in
// one transaction, so a killed extraction run loses at most the batch in
// flight and never leaves part of one.
func (s *Store) WriteFeatures(ctx context.Context, rows []FeatureRow, errs []FeatureErrorRow) error {
	for _, r := range rows {
		if r.SHA256 == "" || r.Version == "" || r.Name == "" {
			return fmt.Errorf("put features to %s: row %+v lacks sha256, version or name", s.path, r)
		}
	}
	for _, e := range errs {
		if e.SHA256 == "" || e.Version == "" || e.Error == "" {
			return fmt.Errorf("put feature errors to %s: row %+v lacks sha256, version or error", s.path, e)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put features to %s: %w", s.path, err)
	}
	defer tx.Rollback()
	if len(rows) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO features(sha256, version, name, value) VALUES(?,?,?,?)`)
		if err != nil {
			return fmt.Errorf("put features to %s: %w", s.path, err)
		}
		defer st.Close()
		for _, r := range rows {
			v := sql.NullFloat64{Float64: r.Value, Valid: !math.IsNaN(r.Value)}
			if _, err := st.ExecContext(ctx, r.SHA256, r.Version, r.Name, v); err != nil {
				return fmt.Errorf("put feature %s of %s to %s: %w", r.Name, r.SHA256, s.path, err)
			}
		}
	}
	if len(errs) > 0 {
		st, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO feature_errors(sha256, version, error) VALUES(?,?,?)`)
		if err != nil {
			return fmt.Errorf("put feature errors to %s: %w", s.path, err)
		}
		defer st.Close()
		for _, e := range errs {
			if _, err := st.ExecContext(ctx, e.SHA256, e.Version, e.Error); err != nil {
				return fmt.Errorf("put feature error of %s to %s: %w", e.SHA256, s.path, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("put features to %s: %w", s.path, err)
	}
	return nil
}

// FeatureErrors returns the feature errors of a version ("" for all) sorted
// by sha256 and version.
func (s *Store) FeatureErrors(ctx context.Context, version string) ([]FeatureErrorRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT sha256, version, error FROM feature_errors
		WHERE ?='' OR version=? ORDER BY sha256, version`, version, version)
	if err != nil {
		return nil, fmt.Errorf("read feature errors from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []FeatureErrorRow
	for rows.Next() {
		var r FeatureErrorRow
		if err := rows.Scan(&r.SHA256, &r.Version, &r.Error); err != nil {
			return nil, fmt.Errorf("read feature errors from %s: %w", s.path, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Features returns the feature rows of a code version ("" for all) sorted by
// sha256, version and name.
func (s *Store) Features(ctx context.Context, version string) ([]FeatureRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT sha256, version, name, value FROM features
		WHERE ?='' OR version=? ORDER BY sha256, version, name`, version, version)
	if err != nil {
		return nil, fmt.Errorf("read features from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []FeatureRow
	for rows.Next() {
		var r FeatureRow
		var v sql.NullFloat64
		if err := rows.Scan(&r.SHA256, &r.Version, &r.Name, &v); err != nil {
			return nil, fmt.Errorf("read features from %s: %w", s.path, err)
		}
		r.Value = math.NaN()
		if v.Valid {
			r.Value = v.Float64
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// StartRun records the start of a command and returns the run's id.
func (s *Store) StartRun(ctx context.Context, command, manifestJSON string) (int64, error) {
	m, err := canonicalJSON(orEmptyObject(manifestJSON))
	if err != nil {
		return 0, fmt.Errorf("start run: manifest is not JSON: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO runs(started, command, manifest_json) VALUES(?,?,?)`,
		formatTime(time.Now()), command, m)
	if err != nil {
		return 0, fmt.Errorf("start run in %s: %w", s.path, err)
	}
	return res.LastInsertId()
}

// FinishRun marks run id finished now, replacing its manifest when
// manifestJSON is not empty (a final manifest can name the outputs).
func (s *Store) FinishRun(ctx context.Context, id int64, manifestJSON string) error {
	var res sql.Result
	var err error
	if manifestJSON == "" {
		res, err = s.db.ExecContext(ctx, `UPDATE runs SET finished=? WHERE id=?`, formatTime(time.Now()), id)
	} else {
		m, jerr := canonicalJSON(manifestJSON)
		if jerr != nil {
			return fmt.Errorf("finish run %d: manifest is not JSON: %w", id, jerr)
		}
		res, err = s.db.ExecContext(ctx, `UPDATE runs SET finished=?, manifest_json=? WHERE id=?`, formatTime(time.Now()), m, id)
	}
	if err != nil {
		return fmt.Errorf("finish run %d in %s: %w", id, s.path, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("finish run %d in %s: no such run", id, s.path)
	}
	return nil
}

// Runs returns every run in id order.
func (s *Store) Runs(ctx context.Context) ([]RunRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, started, finished, command, manifest_json FROM runs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read runs from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []RunRow
	for rows.Next() {
		var r RunRow
		var started string
		var finished sql.NullString
		if err := rows.Scan(&r.ID, &started, &finished, &r.Command, &r.ManifestJSON); err != nil {
			return nil, fmt.Errorf("read runs from %s: %w", s.path, err)
		}
		if r.Started, err = parseTime(started); err != nil {
			return nil, fmt.Errorf("read run %d from %s: %w", r.ID, s.path, err)
		}
		if finished.Valid {
			if r.Finished, err = parseTime(finished.String); err != nil {
				return nil, fmt.Errorf("read run %d from %s: %w", r.ID, s.path, err)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func joinInts(v []int) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, " ")
}

// joinFloats writes the shortest text that reads back to the same float64.
func joinFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(parts, " ")
}

func splitInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Fields(s) {
		x, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func splitFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Fields(s) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func orEmptyObject(s string) string {
	if strings.TrimSpace(s) == "" {
		return "{}"
	}
	return s
}

func orEmpty(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// DatasetDirs returns the image folders that profile and features runs
// recorded for any of the data sets, newest first, that are still folders
// here.
func (s *Store) DatasetDirs(ctx context.Context, datasets ...string) ([]string, error) {
	runs, err := s.Runs(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := len(runs) - 1; i >= 0; i-- {
		var m struct {
			Dataset string `json:"dataset"`
			Dir     string `json:"dataset_dir"`
		}
		if json.Unmarshal([]byte(runs[i].ManifestJSON), &m) != nil || m.Dir == "" || !slices.Contains(datasets, m.Dataset) {
			continue
		}
		if st, err := os.Stat(m.Dir); err == nil && st.IsDir() && !slices.Contains(out, m.Dir) {
			out = append(out, m.Dir)
		}
	}
	return out, nil
}

// AccuracyRow is one model's accuracy on one data set.
type AccuracyRow struct {
	Dataset, Model   string
	Images           int
	Top1Pct, Top5Pct float64
}

// Accuracy returns each model's accuracy on each data set ("" for all),
// over the images it answered, sorted by data set and model.
func (s *Store) Accuracy(ctx context.Context, dataset string) ([]AccuracyRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT dataset, model, count(*), avg(correct1), avg(correct5) FROM predictions
		WHERE ?='' OR dataset=? GROUP BY dataset, model ORDER BY dataset, model`, dataset, dataset)
	if err != nil {
		return nil, fmt.Errorf("read accuracy from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []AccuracyRow
	for rows.Next() {
		var r AccuracyRow
		if err := rows.Scan(&r.Dataset, &r.Model, &r.Images, &r.Top1Pct, &r.Top5Pct); err != nil {
			return nil, fmt.Errorf("read accuracy from %s: %w", s.path, err)
		}
		r.Top1Pct, r.Top5Pct = 100*r.Top1Pct, 100*r.Top5Pct
		out = append(out, r)
	}
	return out, rows.Err()
}
