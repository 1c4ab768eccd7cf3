package store

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestFeatureErrorsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "fe.db")
	rows := []FeatureRow{{"bb", "v1", "f", 0.5}, {"bb", "v1", "g", 2}}
	errs := []FeatureErrorRow{{"cc", "v1", "decode: truncated"}, {"aa", "v2", "1x1"}}
	if err := s.WriteFeatures(ctx, rows, errs); err != nil {
		t.Fatal(err)
	}
	// Writing again replaces, never doubles.
	if err := s.WriteFeatures(ctx, rows, errs); err != nil {
		t.Fatal(err)
	}
	got, err := s.FeatureErrors(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []FeatureErrorRow{{"aa", "v2", "1x1"}, {"cc", "v1", "decode: truncated"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FeatureErrors = %v, want %v", got, want)
	}
	if got, _ := s.FeatureErrors(ctx, "v1"); len(got) != 1 || got[0].SHA256 != "cc" {
		t.Fatalf("FeatureErrors(v1) = %v", got)
	}
	if f, _ := s.Features(ctx, "v1"); len(f) != 2 {
		t.Fatalf("features %v", f)
	}
	if err := s.WriteFeatures(ctx, nil, []FeatureErrorRow{{"dd", "v1", ""}}); err == nil {
		t.Fatal("an error row without its message was accepted")
	}
	out := filepath.Join(t.TempDir(), "csv")
	if err := s.ExportCSV(ctx, out); err != nil {
		t.Fatal(err)
	}
	if recs := readCSV(t, filepath.Join(out, "feature_errors.csv")); len(recs) != 3 || recs[0][2] != "error" {
		t.Fatalf("feature_errors.csv %v", recs)
	}
}

// TestFeatureErrorsAdditive shows the table needs no schema bump: a store
// written before it existed gains it on Open, and merges either way.
func TestFeatureErrorsAdditive(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldPath := filepath.Join(dir, "old.db")
	old, err := Open(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := old.PutFeatures(ctx, []FeatureRow{{"aa", "v1", "f", 1}}); err != nil {
		t.Fatal(err)
	}
	// What a build that predates the table wrote.
	if _, err := old.db.Exec(`DROP TABLE feature_errors`); err != nil {
		t.Fatal(err)
	}
	old.Close()

	dst := openTemp(t, "dst.db")
	if err := dst.WriteFeatures(ctx, nil, []FeatureErrorRow{{"zz", "v1", "corrupt"}}); err != nil {
		t.Fatal(err)
	}
	if err := Merge(ctx, dst, oldPath); err != nil {
		t.Fatalf("merge of a store without feature_errors: %v", err)
	}
	if f, _ := dst.Features(ctx, "v1"); len(f) != 1 {
		t.Fatalf("merged features %v", f)
	}

	reopened, err := Open(oldPath)
	if err != nil {
		t.Fatalf("reopen old store: %v", err)
	}
	defer reopened.Close()
	if err := reopened.WriteFeatures(ctx, nil, []FeatureErrorRow{{"zz", "v1", "corrupt"}}); err != nil {
		t.Fatalf("old store did not gain the table: %v", err)
	}
	if d, err := Diff(ctx, reopened, dst); err != nil || len(d) != 0 {
		t.Fatalf("diff %v %v", d, err)
	}
	if err := reopened.WriteFeatures(ctx, nil, []FeatureErrorRow{{"zz", "v1", "other"}}); err != nil {
		t.Fatal(err)
	}
	if d, _ := Diff(ctx, reopened, dst); len(d) != 1 {
		t.Fatalf("diff after a changed error: %v", d)
	}
	if _, err := os.Stat(oldPath); err != nil {
		t.Fatal(err)
	}
}
