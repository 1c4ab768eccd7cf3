package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type countIn struct {
	Data  File   `json:"data"`
	Scale int    `json:"scale"`
	Note  string `json:"note"`
}

type countOut struct {
	Lines  int     `json:"lines"`
	Scaled int     `json:"scaled"`
	Copy   File    `json:"copy"`
	Ms     float64 `json:"ms"`
}

// countStage counts the lines of a file, writes a copy, and counts its runs.
func countStage(runs *int, ms func() float64) Stage[countIn, countOut] {
	return Stage[countIn, countOut]{
		Name: "count", Version: "1", Code: []string{"test 1"}, Volatile: []string{"ms"},
		Run: func(ctx context.Context, w *Work, in countIn) (countOut, error) {
			*runs++
			b, err := os.ReadFile(in.Data.Path)
			if err != nil {
				return countOut{}, err
			}
			if err := os.WriteFile(w.Path("copy.txt"), b, 0o644); err != nil {
				return countOut{}, err
			}
			f, err := w.Output("copy.txt")
			if err != nil {
				return countOut{}, err
			}
			n := strings.Count(string(b), "\n")
			return countOut{Lines: n, Scaled: n * in.Scale, Copy: f, Ms: ms()}, nil
		},
	}
}

func setup(t *testing.T) (*Runner, string) {
	t.Helper()
	dir := t.TempDir()
	r, err := NewRunner(filepath.Join(dir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(data, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return r, data
}

func input(t *testing.T, r *Runner, path string, scale int) countIn {
	t.Helper()
	f, err := r.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return countIn{Data: f, Scale: scale}
}

func statuses(r *Runner) []string {
	var out []string
	for _, rec := range r.Records() {
		out = append(out, rec.Status)
	}
	return out
}

func TestSecondRunDoesNoWork(t *testing.T) {
	r, data := setup(t)
	ctx := context.Background()
	runs := 0
	s := countStage(&runs, func() float64 { return 1 })
	first, err := Do(ctx, r, s, input(t, r, data, 2))
	if err != nil {
		t.Fatal(err)
	}
	if first.Lines != 3 || first.Scaled != 6 || runs != 1 {
		t.Fatalf("first run: %+v after %d runs", first, runs)
	}
	// A new runner on the same cache, as a second `make reproduce` would be.
	r2, err := NewRunner(r.Root)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Do(ctx, r2, s, input(t, r2, data, 2))
	if err != nil {
		t.Fatal(err)
	}
	if runs != 1 {
		t.Fatalf("second run ran the stage again (%d runs)", runs)
	}
	if second != first {
		t.Errorf("cached output %+v differs from the first %+v", second, first)
	}
	if got := statuses(r2); len(got) != 1 || got[0] != StatusHit {
		t.Errorf("records %v, want one hit", got)
	}
}

func TestKeyCoversSettingsCodeAndContent(t *testing.T) {
	r, data := setup(t)
	runs := 0
	s := countStage(&runs, func() float64 { return 1 })
	base := input(t, r, data, 2)
	k0, _, err := Key(s, base)
	if err != nil {
		t.Fatal(err)
	}
	key := func(s Stage[countIn, countOut], in countIn) string {
		k, _, err := Key(s, in)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	changed := map[string]string{}
	in := base
	in.Scale = 3
	changed["setting"] = key(s, in)
	s2 := s
	s2.Version = "2"
	changed["stage version"] = key(s2, base)
	s3 := s
	s3.Code = []string{"test 2"}
	changed["code version"] = key(s3, base)
	if err := os.WriteFile(data, []byte("a\nb\nX\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed["file content"] = key(s, input(t, r, data, 2))
	for what, k := range changed {
		if k == k0 {
			t.Errorf("changing the %s kept the key", what)
		}
	}
	// The same content elsewhere has the same key: paths are not identity.
	moved := filepath.Join(t.TempDir(), "elsewhere.txt")
	if err := os.WriteFile(moved, []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k := key(s, input(t, r, moved, 2)); k != k0 {
		t.Error("moving the input file changed the key")
	}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		change func(s *Stage[countIn, countOut], ms *float64)
		want   string
	}{
		{"deterministic", func(*Stage[countIn, countOut], *float64) {}, StatusVerified},
		{"measurement varies", func(_ *Stage[countIn, countOut], ms *float64) { *ms = 2 }, StatusVaries},
		{"nondeterministic", func(s *Stage[countIn, countOut], ms *float64) {
			run := s.Run
			s.Run = func(ctx context.Context, w *Work, in countIn) (countOut, error) {
				o, err := run(ctx, w, in)
				o.Scaled++
				return o, err
			}
		}, StatusDiffers},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, data := setup(t)
			runs := 0
			ms := 1.0
			s := countStage(&runs, func() float64 { return ms })
			in := input(t, r, data, 2)
			first, err := Do(ctx, r, s, in)
			if err != nil {
				t.Fatal(err)
			}
			c.change(&s, &ms)
			v, err := NewRunner(r.Root)
			if err != nil {
				t.Fatal(err)
			}
			v.Verify = true
			got, err := Do(ctx, v, s, in)
			if err != nil {
				t.Fatal(err)
			}
			if runs != 2 {
				t.Errorf("verify ran the stage %d times in all, want 2", runs)
			}
			if got != first {
				t.Errorf("verify returned %+v, want the cached %+v", got, first)
			}
			recs := v.Records()
			if len(recs) != 1 || recs[0].Status != c.want {
				t.Fatalf("records %+v, want status %s", recs, c.want)
			}
			if c.want == StatusDiffers && (len(recs[0].Diffs) != 1 || recs[0].Diffs[0].Path != "scaled") {
				t.Errorf("diffs %+v, want one on scaled", recs[0].Diffs)
			}
			// The scratch folder is gone; the cached entry is intact.
			left, _ := filepath.Glob(filepath.Join(r.Root, "count", "verify-*"))
			if len(left) > 0 {
				t.Errorf("verify left %v", left)
			}
		})
	}
}

func TestFailedStageResumesInItsFolder(t *testing.T) {
	r, data := setup(t)
	ctx := context.Background()
	fail := true
	var dirs []string
	s := Stage[countIn, int]{Name: "resume", Version: "1", Run: func(ctx context.Context, w *Work, in countIn) (int, error) {
		dirs = append(dirs, w.Dir)
		part := w.Path("partial")
		if fail {
			if err := os.WriteFile(part, []byte("half"), 0o644); err != nil {
				return 0, err
			}
			return 0, errors.New("killed")
		}
		b, err := os.ReadFile(part)
		if err != nil {
			return 0, err
		}
		return len(b), nil
	}}
	in := input(t, r, data, 1)
	if _, err := Do(ctx, r, s, in); err == nil || !strings.Contains(err.Error(), "stage resume: killed") {
		t.Fatalf("want the stage's error with its name, got %v", err)
	}
	fail = false
	n, err := Do(ctx, r, s, in)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || len(dirs) != 2 || dirs[0] != dirs[1] {
		t.Errorf("resumed run read %d bytes in %v; want 4 in the same folder", n, dirs)
	}
}

func TestMissingOutputFileReruns(t *testing.T) {
	r, data := setup(t)
	ctx := context.Background()
	runs := 0
	s := countStage(&runs, func() float64 { return 1 })
	in := input(t, r, data, 2)
	out, err := Do(ctx, r, s, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(out.Copy.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := Do(ctx, r, s, in); err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Errorf("a deleted output file did not make the stage run again (%d runs)", runs)
	}
}

func TestCompare(t *testing.T) {
	a := []byte(`{"x":1,"y":[{"ms":1,"n":2}],"f":{"$file":"sha256:aa","path":"/a"}}`)
	b := []byte(`{"x":1,"y":[{"ms":3,"n":2}],"f":{"$file":"sha256:aa","path":"/b"},"z":true}`)
	d, err := Compare(a, b, []string{"y[*].ms"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 2 || d[0].Path != "y[0].ms" || !d[0].Volatile || d[1].Path != "z" || d[1].Volatile {
		t.Errorf("diffs %+v", d)
	}
}

func TestHashDir(t *testing.T) {
	r, _ := setup(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("1"), 0o644)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "b"), []byte("2"), 0o644)
	f1, err := r.HashDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "sub", "b"), []byte("3"), 0o644)
	f2, err := r.HashDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !f1.Dir || f1.SHA256 == f2.SHA256 {
		t.Errorf("folder hash did not follow a file's content: %+v %+v", f1, f2)
	}
	if _, err := r.HashDir(filepath.Join(dir, "a")); err == nil {
		t.Error("a file accepted as a folder")
	}
}
