package report

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
	"reflect"
	"strconv"
	"strings"
)

// OutputFile is one file an experiment wrote, for its manifest.
type OutputFile struct {
	File   string `json:"file"`
	Rows   int    `json:"rows,omitempty"`
	SHA256 string `json:"sha256"`
}

// WriteRecords writes rows (a slice of one of the record structs) as
// dir/name.json and dir/name.csv, the CSV header being the JSON names.
func WriteRecords(dir, name string, rows any) ([]OutputFile, error) {
	v := reflect.ValueOf(rows)
	if v.Kind() != reflect.Slice || v.Type().Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("records %s: want a slice of structs, got %T", name, rows)
	}
	js, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("records %s: %w", name, err)
	}
	if v.Len() == 0 {
		js = []byte("[]")
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	t := v.Type().Elem()
	var header []string
	var fields []int
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("json"), ",")[0]
		if !f.IsExported() || tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		header = append(header, tag)
		fields = append(fields, i)
	}
	_ = w.Write(header) // a bytes.Buffer cannot fail
	for r := 0; r < v.Len(); r++ {
		row := make([]string, len(fields))
		for k, i := range fields {
			row[k] = cell(v.Index(r).Field(i))
		}
		_ = w.Write(row)
	}
	w.Flush()
	a, err := WriteFile(dir, name+".json", append(js, '\n'))
	if err != nil {
		return nil, err
	}
	b, err := WriteFile(dir, name+".csv", buf.Bytes())
	if err != nil {
		return nil, err
	}
	a.Rows, b.Rows = v.Len(), v.Len()
	return []OutputFile{a, b}, nil
}

func cell(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return cell(v.Elem())
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return ""
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = cell(v.Index(i))
		}
		return strings.Join(parts, " ")
	default:
		return fmt.Sprint(v.Interface())
	}
}

// WriteFile writes data to dir/name through a temporary file, so a killed
// run never leaves a truncated record.
func WriteFile(dir, name string, data []byte) (OutputFile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return OutputFile{}, err
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p+".tmp", data, 0o644); err != nil {
		return OutputFile{}, err
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return OutputFile{}, err
	}
	h := sha256.Sum256(data)
	return OutputFile{File: name, SHA256: hex.EncodeToString(h[:])}, nil
}

// ReadRecords reads dir/name.json into a slice of T.
func ReadRecords[T any](dir, name string) ([]T, error) {
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	var out []T
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("read records %s/%s.json: %w", dir, name, err)
	}
	return out, nil
}
