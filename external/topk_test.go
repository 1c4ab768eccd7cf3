package external

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/store"
)

func files(t *testing.T, fs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, body := range fs {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestImportTopK(t *testing.T) {
	dir := files(t, map[string]string{
		"topk_ids_m1.csv": "x2.JPEG,5,5\nx1.JPEG,4,3\nx3.JPEG,7,7\n",
		"topk_ids_m2.csv": "x1.JPEG,3\nx2.JPEG,1\nx3.JPEG,7\n",
		"gt.txt":          "x1.JPEG 3\nx2.JPEG 5\nx3.JPEG 7\nx9.JPEG 1\n",
		"notes.txt":       "not a result file",
	})
	st, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	sum, err := ImportTopK(ctx, st, Options{Dir: dir, Dataset: "val", GroundTruth: filepath.Join(dir, "gt.txt"), Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Images != 2 || len(sum.Models) != 2 || sum.Models[1].TruthFrom != "ground truth" || sum.Models[0].Top1 != 50 {
		t.Errorf("summary %+v", sum)
	}
	preds, _ := st.Predictions(ctx, "val")
	if len(preds) != 4 {
		t.Fatalf("%d predictions, want 2 images x 2 models", len(preds))
	}
	for _, p := range preds {
		if len(p.Top5Idx) != 1 || !math.IsNaN(p.Top5Score[0]) || p.Correct5 {
			t.Errorf("a top-1 import must store one class, no score, no top-5: %+v", p)
		}
	}
	ms, _ := st.Models(ctx)
	if len(ms) != 2 || !strings.Contains(ms[0].SpecJSON, `"k":1`) {
		t.Errorf("models %+v", ms)
	}
}

func TestImportTopKRejects(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no files", map[string]string{"a.csv": "x,1,1\n"}, "no topk_ids_MODEL.csv files"},
		{"columns", map[string]string{"topk_ids_m.csv": "x,1,1,1\n"}, "topk_ids_m.csv line 1: 4 columns"},
		{"mixed columns", map[string]string{"topk_ids_m.csv": "x,1,1\ny,2\n"}, "line 2: 2 columns after 3"},
		{"class", map[string]string{"topk_ids_m.csv": "x,-1,1\n"}, "line 1: PREDICTED -1 is out of range"},
		{"twice", map[string]string{"topk_ids_m.csv": "x,1,1\nx,1,1\n"}, "line 2: image named twice"},
		{"truth disagrees", map[string]string{"topk_ids_m.csv": "x,1,1\ny,2,2\n", "topk_ids_n.csv": "x,1,3\ny,2,2\n"}, "has truth 3 here and 1 in another file"},
		{"empty", map[string]string{"topk_ids_m.csv": "\n"}, "no rows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := files(t, c.files)
			path := filepath.Join(t.TempDir(), "s.db")
			st, err := store.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			_, err = ImportTopK(context.Background(), st, Options{Dir: dir, Dataset: "v"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if n, _ := st.Counts(context.Background()); n["predictions"] != 0 || n["models"] != 0 {
				t.Errorf("a refused import wrote %v", n)
			}
		})
	}
}
