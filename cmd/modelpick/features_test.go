package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelpick/modelpick/featsel"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/store"
)

// TestFeaturesSelectEndToEnd profiles two tiny models on a generated set,
// extracts features (and resumes), and runs select-features on the store.
func TestFeaturesSelectEndToEnd(t *testing.T) {
	dir, spec, data := tinyProject(t, 40)
	db := filepath.Join(dir, "p.db")
	if _, _, err := cli(t, "profile", "-models", spec, "-data", data, "-store", db, "-quiet",
		"-min-runs", "5", "-max-runs", "20", "-ci-width", "0.5", "-meter", "none"); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := cli(t, "features", "-data", data, "-store", db, "-workers", "2", "-limit", "30")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "30 images (0 already stored, 30 computed, 0 failed") || !strings.Contains(stderr, "features set: 30/30 (100.0%)") || !strings.Contains(stderr, "done in") {
		t.Fatalf("features output %q, stderr %q", out, stderr)
	}
	// The set cycles through four solid colours, so the last ten images have
	// the content (hence the hash) of images already stored.
	out, _, err = cli(t, "features", "-data", data, "-store", db, "-quiet")
	if err != nil || !strings.Contains(out, "40 images (40 already stored, 0 computed") ||
		!strings.Contains(out, features.Version) {
		t.Fatalf("resumed features: %q %v", out, err)
	}

	res := filepath.Join(dir, "sel")
	out, _, err = cli(t, "select-features", "-store", db, "-criterion", "top1", "-folds", "5", "-seed", "3", "-repeats", "2",
		"-resamples", "3", "-timing-images", "5", "-timing-reps", "1", "-out", res)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Table 3 analogue") || !strings.Contains(out, "Table 4 analogue") {
		t.Errorf("select-features output:\n%s", out)
	}
	var man struct {
		featsel.Manifest
		Load featsel.LoadInfo `json:"load"`
	}
	b, err := os.ReadFile(filepath.Join(res, "manifest.json"))
	if err != nil || json.Unmarshal(b, &man) != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if man.Seed != 3 || man.Folds != 5 || man.Repeats != 2 || man.Resamples != 3 || man.ResampleSeed != 3 || man.Load.Images != 40 || len(man.Load.Models) != 2 ||
		!strings.HasPrefix(man.Load.CostSource, "costs table") || man.TimingImages != 5 || man.ConfigKey == "" {
		t.Errorf("manifest %+v", man)
	}
	for _, f := range []string{"correlation_removed.csv", "kept_features.json", "importance.csv", "sweep.json", "report.md"} {
		if _, err := os.Stat(filepath.Join(res, f)); err != nil {
			t.Error(err)
		}
	}
	var sweep []featsel.SweepPoint
	b, _ = os.ReadFile(filepath.Join(res, "sweep.json"))
	if err := json.Unmarshal(b, &sweep); err != nil || len(sweep) < 2 || sweep[0].NFeatures != 29 || sweep[0].ExtractMS == nil {
		t.Errorf("sweep.json: %v %s", err, b)
	}
	// Solid colours: a premodel on colour features predicts the tiny
	// models' answers perfectly.
	var kept struct {
		Kept []string      `json:"kept"`
		Set  featsel.Score `json:"table4_set"`
	}
	b, _ = os.ReadFile(filepath.Join(res, "kept_features.json"))
	if err := json.Unmarshal(b, &kept); err != nil || len(kept.Kept) == 0 || kept.Set.Selection < 99 {
		t.Errorf("kept_features.json %s %v", b, err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"features", "-data", data, "-store", db, "-only", "contrast,n_pixels"}, "n_pixels"},
		{[]string{"features", "-data", data}, "flag -store is required"},
		{[]string{"features", "-data", data, "-store", db, "-workers", "0"}, "-workers"},
		{[]string{"select-features", "-store", db, "-out", res, "-criterion", "top3"}, "top3"},
		{[]string{"select-features", "-store", filepath.Join(dir, "none.db"), "-out", res}, "none.db"},
		{[]string{"select-features", "-store", db, "-out", res, "-threshold", "1.5"}, "-threshold"},
		{[]string{"select-features", "-store", db, "-out", res, "-learner", "nope"}, "nope"},
	} {
		if _, _, err := cli(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

// TestKilledFeaturesResumes kills an extraction child with SIGKILL once
// some rows are stored, restarts it, and compares with an uninterrupted run.
func TestKilledFeaturesResumes(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "set")
	writeNoiseSet(t, data, 1500)
	ctx := context.Background()
	ref := filepath.Join(dir, "ref.db")
	if _, _, err := cli(t, "features", "-data", data, "-store", ref, "-quiet"); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "killed.db")
	args := []string{"features", "-data", data, "-store", db, "-quiet", "-workers", "1", "-batch", "4"}
	killed := false
	for attempt := 0; attempt < 5 && !killed; attempt++ {
		cmd := child(t, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		deadline := time.After(60 * time.Second)
	poll:
		for {
			select {
			case err := <-waited:
				t.Logf("attempt %d: child finished before the kill (%v)", attempt, err)
				break poll
			case <-deadline:
				cmd.Process.Kill()
				t.Fatal("child wrote nothing in 60 s")
			case <-time.After(2 * time.Millisecond):
				if n := featureCount(db); n > 0 {
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					err := <-waited
					var ee *exec.ExitError
					if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
						t.Fatalf("child was not killed by SIGKILL: %v", err)
					}
					if after := featureCount(db); after < 1500*29 {
						killed = true
						t.Logf("killed with %d of %d feature rows stored", after, 1500*29)
					}
					break poll
				}
			}
		}
		if !killed {
			os.Remove(db)
		}
	}
	if !killed {
		t.Fatal("could not kill the child mid-run in 5 attempts")
	}
	out, err := child(t, args...).CombinedOutput()
	if err != nil || strings.Contains(string(out), " 0 already stored") {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	a, err := store.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	if diff, err := store.Diff(ctx, a, b); err != nil || len(diff) > 0 {
		t.Fatalf("resumed store differs from an uninterrupted run: %v %v", err, diff)
	}
}

// writeNoiseSet writes n distinct 48x48 noise JPEGs with labels.
func writeNoiseSet(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var labels strings.Builder
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 48, 48))
		for p := range img.Pix {
			img.Pix[p] = uint8(rng.IntN(256))
		}
		name := fmt.Sprintf("n%05d.jpg", i)
		if err := imgtest.WriteJPEG(filepath.Join(dir, name), img); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&labels, "%s %d\n", name, i%10)
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.txt"), []byte(labels.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// featureCount reads the store's feature rows (0 while it does not exist).
func featureCount(path string) int64 {
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	st, err := store.Open(path)
	if err != nil {
		return 0
	}
	defer st.Close()
	c, err := st.Counts(context.Background())
	if err != nil {
		return 0
	}
	return c["features"]
}
