package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is an open store file. Its methods are safe for concurrent use; they
// share one connection, so they run one at a time.
type Store struct {
	db   *sql.DB
	path string
}

// Open opens the store at path, creating it (and its folder) when missing.
// A file of another schema version, or a SQLite file that is not a store,
// is refused.
func Open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One connection: SQLite has one writer anyway, and a single connection
	// means no SQLITE_BUSY between our own goroutines.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: abs}
	if err := s.init(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// dsn builds the connection string: WAL so readers never block the writer,
// a busy timeout for other processes on the same file, synchronous=NORMAL
// (durable against a killed process; only a power cut can lose the last
// commits), and BEGIN IMMEDIATE so a transaction takes the write lock at its
// start instead of failing half-way on lock upgrade.
func dsn(abs string) string {
	// In a file: URI these three characters would be read as syntax.
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(abs)
	return "file:" + esc + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
}

func (s *Store) init(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='meta'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&others); err != nil {
			return err
		}
		if others > 0 {
			return errors.New("a SQLite file that is not a modelpick store (no meta table): choose another path")
		}
		for _, stmt := range schemaDDL() {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('schema_version', ?)`,
			strconv.Itoa(SchemaVersion)); err != nil {
			return err
		}
		return tx.Commit()
	}
	var v string
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key='schema_version'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return errors.New("meta table has no schema_version: not a modelpick store, choose another path")
	}
	if err != nil {
		return err
	}
	if v != strconv.Itoa(SchemaVersion) {
		return fmt.Errorf("schema version %s, but this build of modelpick uses version %d: "+
			"start a new store (another path), or export this one with the modelpick version that wrote it", v, SchemaVersion)
	}
	for _, stmt := range additiveDDL() {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("add table: %w", err)
		}
	}
	return tx.Commit()
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Path is the absolute path of the store file.
func (s *Store) Path() string { return s.path }

// IntegrityCheck runs SQLite's PRAGMA integrity_check.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity check %s: %w", s.path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check %s: %w", s.path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check %s: %w", s.path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check %s: %s", s.path, strings.Join(problems, "; "))
	}
	return nil
}

// Counts returns the number of rows of every table.
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64)
	names := []string{"runs"}
	for _, t := range dataTables() {
		names = append(names, t.name)
	}
	for _, name := range names {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+name).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s in %s: %w", name, s.path, err)
		}
		out[name] = n
	}
	return out, nil
}

// canonicalJSON validates a JSON text and returns it compact with sorted
// object keys, so that equal specs compare equal as text.
func canonicalJSON(text string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber() // keep numbers exactly as written
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	if dec.More() {
		return "", errors.New("trailing data after the JSON value")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func shortHash(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:6])
}
