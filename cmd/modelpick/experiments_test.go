package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/store"
)

// topkDir writes three models' top-1 answers on 30 images: a's file
// without the TRUTH column (truth from gt.txt).
func topkDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "topk")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var gt strings.Builder
	files := map[string]*strings.Builder{"a": {}, "b": {}, "c": {}}
	for i := 0; i < 30; i++ {
		f := fmt.Sprintf("v_%02d.JPEG", i)
		fmt.Fprintf(&gt, "%s %d\n", f, i%7)
		for rank, m := range []string{"a", "b", "c"} {
			pred := (i + 1) % 7
			if i%3 <= rank {
				pred = i % 7
			}
			if m == "a" {
				fmt.Fprintf(files[m], "%s,%d\n", f, pred)
			} else {
				fmt.Fprintf(files[m], "%s,%d,%d\n", f, pred, i%7)
			}
		}
	}
	os.WriteFile(filepath.Join(dir, "gt.txt"), []byte(gt.String()), 0o644)
	for m, b := range files {
		os.WriteFile(filepath.Join(dir, "topk_ids_"+m+".csv"), []byte(b.String()), 0o644)
	}
	return dir
}

func TestImportCommand(t *testing.T) {
	dir := topkDir(t)
	db := filepath.Join(t.TempDir(), "imp.db")
	out, _, err := cli(t, "import", "-format", "topk", "-dir", dir, "-store", db, "-ground-truth", filepath.Join(dir, "gt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "30 images x 3 models") || !strings.Contains(out, "no latency imported") {
		t.Errorf("output:\n%s", out)
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := st.Counts(t.Context())
	st.Close()
	if c["predictions"] != 90 || c["images"] != 30 || c["costs"] != 0 {
		t.Errorf("counts %v", c)
	}
	// a's file has no TRUTH: without -ground-truth the import is refused
	// before the store is touched, naming the file and line.
	db2 := filepath.Join(t.TempDir(), "imp2.db")
	if _, _, err := cli(t, "import", "-dir", dir, "-store", db2); err == nil || !strings.Contains(err.Error(), "topk_ids_a.csv line 1: no TRUTH") {
		t.Errorf("no ground truth: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "topk_ids_b.csv"), []byte("v_00.JPEG,1,1\nv_01.JPEG,1001,1\n"), 0o644)
	if _, _, err := cli(t, "import", "-dir", dir, "-store", db2, "-ground-truth", filepath.Join(dir, "gt.txt")); err == nil ||
		!strings.Contains(err.Error(), "topk_ids_b.csv line 2: PREDICTED 1001 is out of range") {
		t.Errorf("bad class: %v", err)
	}
	if _, _, err := cli(t, "import", "-format", "logits", "-dir", dir, "-store", db2); err == nil || !strings.Contains(err.Error(), "want topk") {
		t.Errorf("bad format: %v", err)
	}
}

// TestRunAndReproduceCommands runs a small experiments folder (the
// feature list and Algorithm 1 on imported results: no model runs) through
// reproduce, twice: the second run computes nothing; -verify finds no
// difference; a malformed spec stops everything before any stage.
func TestRunAndReproduceCommands(t *testing.T) {
	topk := topkDir(t)
	root := t.TempDir()
	exp := filepath.Join(root, "experiments")
	os.MkdirAll(filepath.Join(exp, "models"), 0o755)
	os.WriteFile(filepath.Join(exp, "table2.yaml"), []byte("name: table2\nartifact: Table 2\ntitle: features\nkind: feature-list\n"), 0o644)
	os.WriteFile(filepath.Join(exp, "models", "lat.yaml"), []byte("source: test figures\nunit: ms\nlatency: {a: 1, b: 3, c: 9}\n"), 0o644)
	os.WriteFile(filepath.Join(exp, "scale.yaml"), []byte("name: scale\nartifact: Scale\ntitle: scale\nkind: paper-scale\n"+
		"import:\n  dir: "+topk+"\n  format: topk\n  dataset: v\n  ground_truth: "+filepath.Join(topk, "gt.txt")+
		"\nlatency: models/lat.yaml\ncriterion: top1\ntheta: 0.5\n"), 0o644)
	os.WriteFile(filepath.Join(exp, "claims.yaml"), []byte("claims:\n  - {id: n, artifact: table2, claim: features, paper: \"29\", "+
		"measure: n_features, compare: equal, expect: 29, why: same}\n"), 0o644)
	os.WriteFile(filepath.Join(exp, "REPRODUCE.tmpl.md"), []byte("# R\n{{section \"scale\" \"accuracy against latency\" \"optimum shares\"}}{{claims}}{{timings}}"), 0o644)
	args := []string{"reproduce", "-dir", exp, "-results", filepath.Join(root, "results"), "-figures", filepath.Join(root, "figures"),
		"-cache", filepath.Join(root, "cache"), "-out", filepath.Join(root, "REPRODUCE.md"), "-quiet"}
	out, errOut, err := cli(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "scale") || !strings.Contains(out, "2 ran") {
		t.Errorf("first run:\n%s", out)
	}
	// The run ends with its summary; -quiet prints no progress.
	for _, want := range []string{"── summary: 2 experiments in ", "stages       2 computed", "figures/: 2 figures",
		"claims       the paper's, top-1: none (0)", "the paper's, neither (features, latency): 1 reproduced (1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if errOut != "" {
		t.Errorf("-quiet printed progress:\n%s", errOut)
	}
	md, err := os.ReadFile(filepath.Join(root, "REPRODUCE.md"))
	if err != nil || !strings.Contains(string(md), "**reproduced**") || !strings.Contains(string(md), "figures/scale.png") {
		t.Errorf("REPRODUCE.md:\n%s (%v)", md, err)
	}
	out, _, err = cli(t, args...)
	if err != nil || strings.Contains(out, "1 ran") || strings.Contains(out, "2 ran") {
		t.Errorf("second run did work: %v\n%s", err, out)
	}
	if out, _, err = cli(t, append(args, "-verify")...); err != nil {
		t.Errorf("verify: %v\n%s", err, out)
	}
	// Without -quiet, each stage computed prints its time (these are too
	// quick to announce themselves; pipeline's tests cover that).
	os.RemoveAll(filepath.Join(root, "cache"))
	_, errOut, err = cli(t, args[:len(args)-1]...)
	if err != nil || !strings.Contains(errOut, "scale import ") || !strings.Contains(errOut, ": ran in ") {
		t.Errorf("progress lines (%v):\n%s", err, errOut)
	}
	// run: one spec; a malformed one stops everything, naming file, line, field.
	out2 := []string{"-results", filepath.Join(root, "results2"), "-figures", filepath.Join(root, "figures2")}
	if _, _, err := cli(t, append(append([]string{"run", "-cache", filepath.Join(root, "cache2")}, out2...), filepath.Join(exp, "table2.yaml"))...); err != nil {
		t.Errorf("run: %v", err)
	}
	bad := filepath.Join(exp, "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\nartifact: X\nkind: feature-list\nseed: x\n"), 0o644)
	_, _, err = cli(t, append(append([]string{"run", "-cache", filepath.Join(root, "cache3")}, out2...), filepath.Join(exp, "table2.yaml"), bad)...)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4: field seed") {
		t.Errorf("bad spec: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "cache3")); err == nil {
		t.Error("a rejected run created its cache")
	}
	if _, _, err := cli(t, "run"); err == nil {
		t.Error("run without specs accepted")
	}
	if _, _, err := cli(t, append(args, "-dir", exp)...); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("reproduce with a bad spec: %v", err)
	}
}

// TestStaleDeviceProfile: a recorded profile measured for another
// importer stops reproduce before any stage, naming make measure; run
// refuses -measure (it would rewrite the profile with part of it).
func TestStaleDeviceProfile(t *testing.T) {
	root := t.TempDir()
	exp := filepath.Join(root, "experiments")
	os.MkdirAll(filepath.Join(exp, "device"), 0o755)
	os.WriteFile(filepath.Join(exp, "table2.yaml"), []byte("name: table2\nartifact: Table 2\ntitle: features\nkind: feature-list\n"), 0o644)
	os.WriteFile(filepath.Join(exp, "claims.yaml"), []byte("claims: []\n"), 0o644)
	os.WriteFile(filepath.Join(exp, "REPRODUCE.tmpl.md"), []byte("# R\n"), 0o644)
	os.WriteFile(filepath.Join(exp, "device", "old.json"), []byte(`{"format": "modelpick device profile 1",
		"valid_for": {"importer": "0", "onnxruntime": "1.30.0", "features": "features-v2"}}`), 0o644)
	cache := filepath.Join(root, "cache")
	_, _, err := cli(t, "reproduce", "-dir", exp, "-results", filepath.Join(root, "results"), "-figures", filepath.Join(root, "figures"),
		"-cache", cache, "-out", "", "-quiet")
	if err == nil || !strings.Contains(err.Error(), "make measure") || !strings.Contains(err.Error(), `importer (onnxconv) "0"`) {
		t.Errorf("stale profile: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "results")); err == nil {
		t.Error("a stale profile let experiments run")
	}
	if _, _, err := cli(t, "run", "-measure", "-cache", cache, filepath.Join(exp, "table2.yaml")); err == nil || !strings.Contains(err.Error(), "make measure") {
		t.Errorf("run -measure: %v", err)
	}
	// -measure-missing amends a profile valid for this code only: the
	// stale one is refused the same way, and so is -measure with it.
	args := []string{"reproduce", "-dir", exp, "-results", filepath.Join(root, "results"), "-figures", filepath.Join(root, "figures"),
		"-cache", cache, "-out", "", "-quiet", "-measure-missing"}
	if _, _, err := cli(t, args...); err == nil || !strings.Contains(err.Error(), "make measure") {
		t.Errorf("-measure-missing on a stale profile: %v", err)
	}
	if _, _, err := cli(t, append(args, "-measure")...); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("-measure with -measure-missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "results")); err == nil {
		t.Error("-measure-missing on a stale profile let experiments run")
	}
}
