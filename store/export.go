package store

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ExportManifest is the manifest.json that ExportCSV writes beside the CSV files.
type ExportManifest struct {
	Store         string       `json:"store"`
	SchemaVersion int          `json:"schema_version"`
	ExportedAt    string       `json:"exported_at"`
	Files         []ExportFile `json:"files"`
}

// ExportFile describes one exported CSV file.
type ExportFile struct {
	Table  string `json:"table"`
	File   string `json:"file"`
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

// ExportCSV writes models.csv, images.csv, predictions.csv, costs.csv and,
// when the store has features (or feature errors), features.csv (and
// feature_errors.csv) into outDir, each with a header
// row and sorted by primary key, plus manifest.json. Columns are the table's
// columns; NULL is an empty cell; floats are written in the shortest form
// that reads back exactly. Each file is written under a temporary name and
// renamed, so a killed export never leaves a truncated CSV behind.
func (s *Store) ExportCSV(ctx context.Context, outDir string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("export %s: %w", s.path, err)
	}
	counts, err := s.Counts(ctx)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	m := ExportManifest{Store: s.path, SchemaVersion: SchemaVersion, ExportedAt: time.Now().UTC().Format(time.RFC3339)}
	for _, t := range dataTables() {
		if (t.name == "features" || t.additive()) && counts[t.name] == 0 {
			continue
		}
		f := ExportFile{Table: t.name, File: t.name + ".csv"}
		f.Rows, f.SHA256, err = s.exportTable(ctx, t, filepath.Join(outDir, f.File))
		if err != nil {
			return fmt.Errorf("export %s from %s: %w", t.name, s.path, err)
		}
		m.Files = append(m.Files, f)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("export %s: %w", s.path, err)
	}
	err = writeAtomic(filepath.Join(outDir, "manifest.json"), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("export %s: %w", s.path, err)
	}
	return nil
}

// exportTable writes one table as CSV and returns its row count and the file's sha256.
func (s *Store) exportTable(ctx context.Context, t table, path string) (int64, string, error) {
	var n int64
	h := sha256.New()
	err := writeAtomic(path, func(w io.Writer) error {
		rows, err := s.db.QueryContext(ctx, `SELECT `+strings.Join(t.cols(), ", ")+` FROM `+t.name+
			` ORDER BY `+strings.Join(t.key, ", "))
		if err != nil {
			return err
		}
		defer rows.Close()
		cw := csv.NewWriter(io.MultiWriter(w, h))
		if err := cw.Write(t.cols()); err != nil {
			return err
		}
		vals := make([]any, len(t.cols()))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		record := make([]string, len(vals))
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for i, v := range vals {
				record[i] = cellText(v)
			}
			if err := cw.Write(record); err != nil {
				return err
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	})
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// writeAtomic writes a file through a temporary name in the same folder and
// renames it into place only when fill succeeded.
func writeAtomic(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
