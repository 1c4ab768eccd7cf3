package store

// SchemaVersion is the version of the tables below, kept in meta.schema_version.
// Bump it on any change to them that an older build could misread: Open
// refuses other versions. A new table that older builds simply never look at
// is added without a bump (see additiveDDL).
const SchemaVersion = 1

// schemaDDL creates the tables. STRICT makes SQLite reject a value of the
// wrong type instead of storing it as given.
func schemaDDL() []string {
	return append([]string{
		`CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT`,
		`CREATE TABLE images(
			dataset TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL,
			label INT NOT NULL, width INT NOT NULL, height INT NOT NULL, error TEXT NOT NULL,
			PRIMARY KEY(dataset, file)) STRICT`,
		`CREATE TABLE models(name TEXT PRIMARY KEY NOT NULL, spec_json TEXT NOT NULL, files_sha256 TEXT NOT NULL) STRICT`,
		`CREATE TABLE predictions(
			dataset TEXT NOT NULL, file TEXT NOT NULL, model TEXT NOT NULL,
			top5_idx TEXT NOT NULL, top5_score TEXT NOT NULL, correct1 INT NOT NULL, correct5 INT NOT NULL,
			PRIMARY KEY(dataset, file, model)) STRICT`,
		`CREATE TABLE costs(
			model TEXT NOT NULL, platform_json TEXT NOT NULL, threads INT NOT NULL, n INT NOT NULL,
			mean_ms REAL NOT NULL, std_ms REAL NOT NULL, median_ms REAL NOT NULL, p95_ms REAL NOT NULL,
			ci_low_ms REAL NOT NULL, ci_high_ms REAL NOT NULL, converged INT NOT NULL, warnings TEXT NOT NULL,
			energy_j REAL, idle_w REAL, energy_status TEXT NOT NULL, measured_at TEXT NOT NULL,
			PRIMARY KEY(model, threads)) STRICT`,
		// value is NULL for NaN: SQLite cannot store NaN.
		`CREATE TABLE features(sha256 TEXT NOT NULL, version TEXT NOT NULL, name TEXT NOT NULL, value REAL,
			PRIMARY KEY(sha256, version, name)) STRICT`,
		`CREATE TABLE runs(id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT,
			command TEXT NOT NULL, manifest_json TEXT NOT NULL) STRICT`,
	}, additiveDDL()...)
}

// additiveDDL creates the tables added to schema version 1 after its first
// release. Open runs these on every store, so a store written by an older
// build gains them, and an older build opening a newer store just ignores
// them: neither needs a version bump. Each must be CREATE ... IF NOT EXISTS.
func additiveDDL() []string {
	return []string{
		// An image whose features could not be computed (corrupt, unsupported,
		// a non-finite value), keyed like its feature rows: the extraction
		// stage records it once and a resumed run does not retry it.
		`CREATE TABLE IF NOT EXISTS feature_errors(sha256 TEXT NOT NULL, version TEXT NOT NULL, error TEXT NOT NULL,
			PRIMARY KEY(sha256, version)) STRICT`,
	}
}

// table describes a data table for the generic Merge, Diff and ExportCSV.
type table struct {
	name string
	key  []string // primary key columns, also the sort order
	vals []string // the other columns
}

// additive reports whether t comes from additiveDDL: a source store that an
// older build wrote may lack it (Merge then skips it), and ExportCSV writes
// it only when it has rows.
func (t table) additive() bool { return t.name == "feature_errors" }

func (t table) cols() []string { return append(append([]string{}, t.key...), t.vals...) }

// dataTables lists the tables with natural keys, in merge order (models
// before the rows that name them). runs, with surrogate ids, is handled apart.
func dataTables() []table {
	return []table{
		{"models", []string{"name"}, []string{"spec_json", "files_sha256"}},
		{"images", []string{"dataset", "file"}, []string{"sha256", "label", "width", "height", "error"}},
		{"predictions", []string{"dataset", "file", "model"}, []string{"top5_idx", "top5_score", "correct1", "correct5"}},
		{"costs", []string{"model", "threads"}, []string{"platform_json", "n", "mean_ms", "std_ms", "median_ms",
			"p95_ms", "ci_low_ms", "ci_high_ms", "converged", "warnings", "energy_j", "idle_w", "energy_status", "measured_at"}},
		{"features", []string{"sha256", "version", "name"}, []string{"value"}},
		{"feature_errors", []string{"sha256", "version"}, []string{"error"}},
	}
}
