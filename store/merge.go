package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Merge copies the rows of the stores at srcPaths (e.g. the shards of a
// profiling run) into dst, so that dst holds what one unsharded run would
// have written. A row already in dst with identical values is skipped; one
// with the same key and other values is an error naming the table, the key
// and the differing columns, since the two runs disagree and neither can be
// chosen silently. Runs are appended unless an identical run is present.
//
// Each source is merged in its own transaction: after an error, the
// sources before the failing one are in dst. Merging is idempotent, so
// fix the cause and merge all of them again.
func Merge(ctx context.Context, dst *Store, srcPaths ...string) error {
	for _, p := range srcPaths {
		if err := dst.mergeOne(ctx, p); err != nil {
			return fmt.Errorf("merge %s into %s: %w", p, dst.path, err)
		}
	}
	return nil
}

func (s *Store) mergeOne(ctx context.Context, srcPath string) error {
	abs, err := filepath.Abs(srcPath)
	if err != nil {
		return err
	}
	if abs == s.path {
		return errors.New("a store cannot be merged into itself")
	}
	if st, err := os.Stat(abs); err != nil {
		return err
	} else if !st.Mode().IsRegular() {
		return errors.New("not a file")
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// ATTACH cannot run inside a transaction, hence the dedicated connection.
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS src`, abs); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	defer conn.ExecContext(context.Background(), `DETACH DATABASE src`)

	var v string
	if err := conn.QueryRowContext(ctx, `SELECT value FROM src.meta WHERE key='schema_version'`).Scan(&v); err != nil {
		return fmt.Errorf("not a modelpick store (%v)", err)
	}
	if v != strconv.Itoa(SchemaVersion) {
		return fmt.Errorf("schema version %s, but this build uses version %d: merge with the modelpick version that wrote it",
			v, SchemaVersion)
	}

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range dataTables() {
		if t.additive() {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM src.sqlite_schema WHERE type='table' AND name=?`,
				t.name).Scan(&n); err != nil {
				return fmt.Errorf("look for %s: %w", t.name, err)
			}
			if n == 0 { // written by a build that predates the table
				continue
			}
		}
		if err := checkConflicts(ctx, tx, t); err != nil {
			return err
		}
		cols := strings.Join(t.cols(), ", ")
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO main.`+t.name+`(`+cols+`) SELECT `+cols+` FROM src.`+t.name); err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO main.runs(started, finished, command, manifest_json)
		SELECT started, finished, command, manifest_json FROM src.runs AS s WHERE NOT EXISTS (
			SELECT 1 FROM main.runs AS d WHERE d.started=s.started AND d.finished IS s.finished
			AND d.command=s.command AND d.manifest_json=s.manifest_json) ORDER BY id`); err != nil {
		return fmt.Errorf("copy runs: %w", err)
	}
	return tx.Commit()
}

// checkConflicts fails when a row of src.t has the key of a row of main.t
// but other values.
func checkConflicts(ctx context.Context, tx *sql.Tx, t table) error {
	var sel, on, differ []string
	for _, k := range t.key {
		sel = append(sel, "s."+k)
		on = append(on, "s."+k+" = d."+k)
	}
	for _, v := range t.vals {
		sel = append(sel, "s."+v, "d."+v)
		differ = append(differ, "s."+v+" IS NOT d."+v)
	}
	from := ` FROM src.` + t.name + ` AS s JOIN main.` + t.name + ` AS d ON ` + strings.Join(on, " AND ") +
		` WHERE ` + strings.Join(differ, " OR ")
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*)`+from).Scan(&n); err != nil {
		return fmt.Errorf("compare %s: %w", t.name, err)
	}
	if n == 0 {
		return nil
	}
	vals := make([]any, len(sel))
	ptrs := make([]any, len(sel))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := tx.QueryRowContext(ctx, `SELECT `+strings.Join(sel, ", ")+from+` LIMIT 1`).Scan(ptrs...); err != nil {
		return fmt.Errorf("compare %s: %w", t.name, err)
	}
	nk := len(t.key)
	var diffs []string
	for i, v := range t.vals {
		a, b := vals[nk+2*i], vals[nk+2*i+1]
		if !sameValue(a, b) {
			diffs = append(diffs, fmt.Sprintf("%s: %s here vs %s already merged", v, quoteCell(a), quoteCell(b)))
		}
	}
	fix := "the runs disagree, so re-run that shard or merge into a new store"
	if t.name == "models" {
		fix = "the stores hold different models under one name: profile every shard with the same spec, or rename one"
	}
	return fmt.Errorf("%s row %s differs from the row already merged (%s); %d conflicting %s rows in all: %s",
		t.name, keyText(t.key, vals[:nk]), strings.Join(diffs, "; "), n, t.name, fix)
}

// keyText renders a key as (col="value", ...).
func keyText(cols []string, vals []any) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c + "=" + quoteCell(vals[i])
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// quoteCell renders a value for a message, shortened so a long spec stays readable.
func quoteCell(v any) string {
	if v == nil {
		return "NULL"
	}
	s := cellText(v)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return strconv.Quote(s)
}

func sameValue(a, b any) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	return cellText(a) == cellText(b)
}

// cellText formats a value read from SQLite: floats in the shortest form
// that reads back exactly, NULL as "".
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	case []byte:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}
