package store

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func openTemp(t *testing.T, name string) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var testModels = []string{"mobilenet_a", "mobilenet_b", "mobilenet_c"}

func registerModels(t *testing.T, s *Store) {
	t.Helper()
	for i, m := range testModels {
		if err := s.RegisterModel(context.Background(), m, fmt.Sprintf(`{"file": "%s.onnx", "input": %d}`, m, 128+32*i), "sha-"+m); err != nil {
			t.Fatal(err)
		}
	}
}

// fixture returns the rows a profiling run of n images would write:
// image i is "img_%04d.jpg"; model k is correct when (i+k)%3 != 0.
func fixture(n int) ([]ImageRow, []PredictionRow) {
	var images []ImageRow
	var preds []PredictionRow
	for i := range n {
		file := fmt.Sprintf("img_%04d.jpg", i)
		im := ImageRow{Dataset: "val", File: file, SHA256: fmt.Sprintf("%064x", i), Label: i % 1000, Width: 227, Height: 227}
		if i%17 == 5 {
			im = ImageRow{Dataset: "val", File: file, SHA256: fmt.Sprintf("%064x", i), Label: i % 1000, Error: "decode: unexpected EOF"}
		}
		images = append(images, im)
		for k, m := range testModels {
			ok := (i+k)%3 != 0
			top := []int{i % 1000, 1, 2, 3, 4}
			if !ok {
				top[0] = (i + 1) % 1000
			}
			preds = append(preds, PredictionRow{Dataset: "val", File: file, Model: m, Top5Idx: top,
				Top5Score: []float64{0.5 + float64(k)/10, 0.2, 0.1, 1.0 / 3, 1e-9}, Correct1: ok, Correct5: ok || k == 0})
		}
	}
	return images, preds
}

func count(t *testing.T, s *Store, table string) int64 {
	t.Helper()
	c, err := s.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c[table]
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "rt.db")
	registerModels(t, s)
	images, preds := fixture(20)
	if err := s.WriteBatch(ctx, images, preds); err != nil {
		t.Fatal(err)
	}
	gotImages, err := s.Images(ctx, "val")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotImages, images) {
		t.Fatalf("images differ:\n got %v\nwant %v", gotImages, images)
	}
	gotPreds, err := s.Predictions(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotPreds, preds) {
		t.Fatalf("predictions differ:\n got %v\nwant %v", gotPreds[:2], preds[:2])
	}
	if other, _ := s.Predictions(ctx, "other"); len(other) != 0 {
		t.Fatalf("dataset filter: %d rows", len(other))
	}
	done, err := s.Done(ctx, "val", "mobilenet_b")
	if err != nil || len(done) != 20 || !done["img_0007.jpg"] {
		t.Fatalf("Done = %d files, %v", len(done), err)
	}
	if done, _ := s.ImagesDone(ctx, "val"); len(done) != 20 {
		t.Fatalf("ImagesDone = %d", len(done))
	}

	models, err := s.Models(ctx)
	if err != nil || len(models) != 3 {
		t.Fatalf("models = %v, %v", models, err)
	}
	if want := (ModelRow{"mobilenet_b", `{"file":"mobilenet_b.onnx","input":160}`, "sha-mobilenet_b"}); models[1] != want {
		t.Fatalf("model = %+v, want %+v", models[1], want)
	}

	energy, idle := 0.125, 1.5
	at := time.Date(2026, 11, 29, 10, 0, 0, 123456789, time.UTC)
	costs := []CostRow{
		{Model: "mobilenet_a", PlatformJSON: `{"cpu":"x86"}`, Threads: 1, N: 50, MeanMS: 2.5, StdMS: 0.1, MedianMS: 2.4,
			P95MS: 2.9, CILowMS: 2.47, CIHighMS: 2.53, Converged: true, EnergyStatus: "not measured: no meter", MeasuredAt: at},
		{Model: "mobilenet_a", PlatformJSON: `{"cpu":"x86"}`, Threads: 4, N: 200, MeanMS: 1.25, StdMS: 0.3, MedianMS: 1.2,
			P95MS: 1.9, CILowMS: 1.2, CIHighMS: 1.3, Warnings: []string{"did not converge", "thermal"},
			EnergyJ: &energy, IdleW: &idle, EnergyStatus: "ok", MeasuredAt: at},
	}
	for _, c := range costs {
		if err := s.PutCost(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	gotCosts, err := s.Costs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotCosts, costs) {
		t.Fatalf("costs differ:\n got %+v\nwant %+v", gotCosts, costs)
	}
	// Re-measuring replaces the row.
	costs[0].MeanMS = 3
	if err := s.PutCost(ctx, costs[0]); err != nil {
		t.Fatal(err)
	}
	if gotCosts, _ = s.Costs(ctx); len(gotCosts) != 2 || gotCosts[0].MeanMS != 3 {
		t.Fatalf("costs after re-measure: %+v", gotCosts)
	}

	features := []FeatureRow{{"aa", "v1", "edge_density", 0.25}, {"aa", "v1", "hue_var", math.NaN()}, {"bb", "v1", "edge_density", -1e300}}
	if err := s.PutFeatures(ctx, features); err != nil {
		t.Fatal(err)
	}
	gotFeatures, err := s.Features(ctx, "v1")
	if err != nil || len(gotFeatures) != 3 {
		t.Fatalf("features = %v, %v", gotFeatures, err)
	}
	for i, f := range gotFeatures {
		w := features[i]
		if f.SHA256 != w.SHA256 || f.Name != w.Name || !(f.Value == w.Value || math.IsNaN(f.Value) && math.IsNaN(w.Value)) {
			t.Fatalf("feature %d = %+v, want %+v", i, f, w)
		}
	}

	id, err := s.StartRun(ctx, "modelpick profile -shard 0/1", `{"seed": 1}`)
	if err != nil {
		t.Fatal(err)
	}
	runs, _ := s.Runs(ctx)
	if len(runs) != 1 || !runs[0].Finished.IsZero() || runs[0].ManifestJSON != `{"seed":1}` {
		t.Fatalf("running: %+v", runs)
	}
	if err := s.FinishRun(ctx, id, `{"seed": 1, "rows": 60}`); err != nil {
		t.Fatal(err)
	}
	runs, _ = s.Runs(ctx)
	if len(runs) != 1 || runs[0].Finished.IsZero() || runs[0].Finished.Before(runs[0].Started) ||
		runs[0].Command != "modelpick profile -shard 0/1" || runs[0].ManifestJSON != `{"rows":60,"seed":1}` {
		t.Fatalf("finished: %+v", runs)
	}
	if err := s.FinishRun(ctx, id+1, ""); err == nil {
		t.Fatal("finishing a missing run succeeded")
	}

	// Everything survives closing and reopening.
	path := s.Path()
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if p, _ := s2.Predictions(ctx, "val"); !reflect.DeepEqual(p, preds) {
		t.Fatal("predictions lost on reopen")
	}
	if err := s2.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestWriteBatchIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "idem.db")
	registerModels(t, s)
	images, preds := fixture(10)
	for range 3 {
		if err := s.WriteBatch(ctx, images, preds); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, s, "images"); n != 10 {
		t.Fatalf("%d image rows, want 10", n)
	}
	if n := count(t, s, "predictions"); n != 30 {
		t.Fatalf("%d prediction rows, want 30", n)
	}
	// A later write of the same key replaces the row.
	preds[0].Top5Idx[0] = 999
	if err := s.WriteBatch(ctx, nil, preds[:1]); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Predictions(ctx, "val")
	if len(got) != 30 || got[0].Top5Idx[0] != 999 {
		t.Fatalf("after rewrite: %d rows, first %v", len(got), got[0].Top5Idx)
	}
}

func TestWriteBatchValidates(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "v.db")
	registerModels(t, s)
	images, preds := fixture(2)
	bad := preds[0]
	bad.Model = "unregistered"
	err := s.WriteBatch(ctx, images, []PredictionRow{preds[1], bad})
	if err == nil || !strings.Contains(err.Error(), "model unregistered is not registered") {
		t.Fatalf("err = %v", err)
	}
	if n := count(t, s, "images"); n != 0 {
		t.Fatalf("a failed batch left %d image rows", n)
	}
	bad = preds[0]
	bad.Top5Score = bad.Top5Score[:2]
	if err := s.WriteBatch(ctx, nil, []PredictionRow{bad}); err == nil || !strings.Contains(err.Error(), "5 indices but 2 scores") {
		t.Fatalf("err = %v", err)
	}
	if err := s.PutCost(ctx, CostRow{Model: "unregistered", EnergyStatus: "x", MeasuredAt: time.Now()}); err == nil {
		t.Fatal("cost of an unregistered model accepted")
	}
	if err := s.PutCost(ctx, CostRow{Model: "mobilenet_a", MeasuredAt: time.Now()}); err == nil ||
		!strings.Contains(err.Error(), "not measured") {
		t.Fatalf("cost without energy status: err = %v", err)
	}
	if err := s.PutCost(ctx, CostRow{Model: "mobilenet_a", StdMS: math.NaN(), EnergyStatus: "x", MeasuredAt: time.Now()}); err == nil {
		t.Fatal("NaN cost accepted")
	}
}

func TestRegisterModelSpecChange(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "m.db")
	if err := s.RegisterModel(ctx, "m", `{"b": 1, "a": [1, 2]}`, "f1"); err != nil {
		t.Fatal(err)
	}
	// The same spec written differently is the same spec.
	if err := s.RegisterModel(ctx, "m", "{\"a\":[1,2],\n \"b\":1}", "f1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ spec, files string }{{`{"a":[1,2],"b":2}`, "f1"}, {`{"a":[1,2],"b":1}`, "f2"}} {
		err := s.RegisterModel(ctx, "m", c.spec, c.files)
		if err == nil || !strings.Contains(err.Error(), "register model m") || !strings.Contains(err.Error(), "new store or a new model name") {
			t.Fatalf("changed spec %s/%s: err = %v", c.spec, c.files, err)
		}
	}
	if err := s.RegisterModel(ctx, "n", `{"a":`, "f"); err == nil {
		t.Fatal("invalid JSON accepted")
	}
}

func TestSchemaVersionRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE meta SET value='999' WHERE key='schema_version'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "schema version 999") ||
		!strings.Contains(err.Error(), "start a new store") {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE x(a)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(other); err == nil || !strings.Contains(err.Error(), "not a modelpick store") {
		t.Fatalf("other SQLite file: err = %v", err)
	}
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte(strings.Repeat("not a database\n", 100)), 0o644)
	if _, err := Open(text); err == nil || !strings.Contains(err.Error(), text) {
		t.Fatalf("text file: err = %v", err)
	}
	// Odd characters in the path do not break the file: URI.
	odd := filepath.Join(dir, "a?b#c%d", "s.db")
	s, err := Open(odd)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(odd); err != nil {
		t.Fatalf("store not at %s: %v", odd, err)
	}
}

// writeShards profiles n images into count shard stores (image i in shard i%count).
func writeShards(t *testing.T, dir string, n, count int) []string {
	t.Helper()
	ctx := context.Background()
	images, preds := fixture(n)
	var paths []string
	for sh := range count {
		p := filepath.Join(dir, fmt.Sprintf("shard-%d.db", sh))
		s, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		registerModels(t, s)
		if _, err := s.StartRun(ctx, fmt.Sprintf("profile -shard %d/%d", sh, count), ""); err != nil {
			t.Fatal(err)
		}
		var im []ImageRow
		var pr []PredictionRow
		for i := sh; i < n; i += count {
			im = append(im, images[i])
			pr = append(pr, preds[3*i:3*i+3]...)
		}
		if err := s.WriteBatch(ctx, im, pr); err != nil {
			t.Fatal(err)
		}
		s.Close()
		paths = append(paths, p)
	}
	return paths
}

func TestMergeEqualsSingleRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	single := openTemp(t, "single.db")
	registerModels(t, single)
	images, preds := fixture(50)
	if err := single.WriteBatch(ctx, images, preds); err != nil {
		t.Fatal(err)
	}
	shards := writeShards(t, dir, 50, 3)
	merged := openTemp(t, "merged.db")
	if err := Merge(ctx, merged, shards...); err != nil {
		t.Fatal(err)
	}
	if d, err := Diff(ctx, single, merged); err != nil || len(d) != 0 {
		t.Fatalf("merged differs from single run: %v %v", d, err)
	}
	// Merging again (identical duplicates) changes nothing.
	if err := Merge(ctx, merged, shards...); err != nil {
		t.Fatal(err)
	}
	if eq, err := Equal(ctx, single, merged); err != nil || !eq {
		t.Fatalf("second merge changed the store: %v", err)
	}
	if n := count(t, merged, "runs"); n != 3 {
		t.Fatalf("%d runs after merging 3 shards twice, want 3", n)
	}
	if n := count(t, merged, "predictions"); n != 150 {
		t.Fatalf("%d predictions, want 150", n)
	}
}

func TestMergeConflict(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	shards := writeShards(t, dir, 6, 2)
	// A third store re-profiles image 3 with another answer.
	p := filepath.Join(dir, "rerun.db")
	s, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	registerModels(t, s)
	_, preds := fixture(6)
	changed := preds[3*3+1] // image 3, model b
	changed.Top5Score = []float64{0.9, 0.05, 0.03, 0.01, 0.01}
	if err := s.WriteBatch(ctx, nil, []PredictionRow{changed}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	merged := openTemp(t, "merged.db")
	err = Merge(ctx, merged, append(shards, p)...)
	if err == nil {
		t.Fatal("conflicting merge succeeded")
	}
	for _, want := range []string{"rerun.db", `predictions row (dataset="val", file="img_0003.jpg", model="mobilenet_b")`, "top5_score", "1 conflicting"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// The conflicting source was not half-merged.
	got, _ := merged.Predictions(ctx, "val")
	for _, r := range got {
		if r.File == "img_0003.jpg" && r.Model == "mobilenet_b" && r.Top5Score[0] == 0.9 {
			t.Fatal("conflicting row was written")
		}
	}

	// A model registered with another spec in a shard is a conflict too.
	q := filepath.Join(dir, "othermodel.db")
	s, err = Open(q)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterModel(ctx, "mobilenet_a", `{"file":"other.onnx"}`, "sha-x"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := Merge(ctx, merged, q); err == nil || !strings.Contains(err.Error(), `models row (name="mobilenet_a")`) {
		t.Fatalf("model conflict: err = %v", err)
	}

	if err := Merge(ctx, merged, filepath.Join(dir, "missing.db")); err == nil || !strings.Contains(err.Error(), "missing.db") {
		t.Fatalf("missing source: err = %v", err)
	}
	if err := Merge(ctx, merged, merged.Path()); err == nil {
		t.Fatal("merging a store into itself succeeded")
	}
}

func TestDiffReports(t *testing.T) {
	ctx := context.Background()
	a := openTemp(t, "a.db")
	b := openTemp(t, "b.db")
	registerModels(t, a)
	registerModels(t, b)
	images, preds := fixture(4)
	if err := a.WriteBatch(ctx, images, preds); err != nil {
		t.Fatal(err)
	}
	preds[5].Correct1 = !preds[5].Correct1
	if err := b.WriteBatch(ctx, images[:3], preds[:9]); err != nil {
		t.Fatal(err)
	}
	d, err := Diff(ctx, a, b)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(d, "\n")
	for _, want := range []string{
		`images (dataset="val", file="img_0003.jpg"): only in ` + a.Path(),
		`predictions (dataset="val", file="img_0001.jpg", model="mobilenet_c"): correct1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("diff lacks %q:\n%s", want, text)
		}
	}
	if len(d) != 5 { // 1 image + 3 predictions only in a, 1 changed prediction
		t.Errorf("%d differences, want 5:\n%s", len(d), text)
	}
}

func TestExportCSV(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, "e.db")
	registerModels(t, s)
	images, preds := fixture(5)
	// Write in reverse to show that the export is sorted regardless.
	for i := len(images) - 1; i >= 0; i-- {
		if err := s.WriteBatch(ctx, images[i:i+1], preds[3*i:3*i+3]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutCost(ctx, CostRow{Model: "mobilenet_a", PlatformJSON: `{}`, Threads: 1, N: 3, MeanMS: 1,
		EnergyStatus: "not measured: no meter", MeasuredAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "results")
	if err := s.ExportCSV(ctx, out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "features.csv")); !os.IsNotExist(err) {
		t.Fatal("features.csv written for a store without features")
	}
	recs := readCSV(t, filepath.Join(out, "predictions.csv"))
	if strings.Join(recs[0], ",") != "dataset,file,model,top5_idx,top5_score,correct1,correct5" || len(recs) != 16 {
		t.Fatalf("predictions.csv: header %v, %d lines", recs[0], len(recs))
	}
	if recs[1][1] != "img_0000.jpg" || recs[1][2] != "mobilenet_a" || recs[1][4] != "0.5 0.2 0.1 0.3333333333333333 1e-09" {
		t.Fatalf("first prediction row %v", recs[1])
	}
	costs := readCSV(t, filepath.Join(out, "costs.csv"))
	if len(costs) != 2 || costs[1][12] != "" || costs[1][14] != "not measured: no meter" {
		t.Fatalf("costs.csv %v", costs)
	}
	var m ExportManifest
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, f := range m.Files {
		rows[f.Table] = f.Rows
	}
	want := map[string]int64{"models": 3, "images": 5, "predictions": 15, "costs": 1}
	if m.Store != s.Path() || m.SchemaVersion != SchemaVersion || !reflect.DeepEqual(rows, want) || m.ExportedAt == "" {
		t.Fatalf("manifest %+v", m)
	}

	if err := s.PutFeatures(ctx, []FeatureRow{{"aa", "v1", "f", 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ExportCSV(ctx, out); err != nil {
		t.Fatal(err)
	}
	if f := readCSV(t, filepath.Join(out, "features.csv")); len(f) != 2 {
		t.Fatalf("features.csv %v", f)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestAccuracy(t *testing.T) {
	s := openTemp(t, "acc.db")
	registerModels(t, s)
	images, preds := fixture(30)
	if err := s.WriteBatch(context.Background(), images, preds); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Accuracy(context.Background(), "val")
	if err != nil || len(rows) != len(testModels) {
		t.Fatalf("%v, %v", rows, err)
	}
	// Model k is right on the 20 of 30 images with (i+k)%3 != 0; model 0
	// (sorted first) is right under top-5 on all of them.
	for _, r := range rows {
		if r.Images != 30 || math.Abs(r.Top1Pct-100*20/30.0) > 1e-9 || r.Dataset != "val" {
			t.Errorf("%+v", r)
		}
	}
	if rows, _ := s.Accuracy(context.Background(), "other"); len(rows) != 0 {
		t.Errorf("another data set: %v", rows)
	}
}
