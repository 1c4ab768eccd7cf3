package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelpick/modelpick/internal/imgtest"
	"github.com/modelpick/modelpick/internal/onnxtest"
	"github.com/modelpick/modelpick/store"
	"github.com/modelpick/modelpick/tflite/tflitetest"
)

// TestMain lets the test binary act as the modelpick command, so the
// end-to-end tests run real child processes without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("MODELPICK_TEST_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// cli runs modelpick in-process and returns stdout, stderr and the error.
func cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

// tinyProject writes two tiny ONNX models, their spec and a labelled set.
func tinyProject(t testing.TB, n int) (dir, spec, data string) {
	t.Helper()
	dir = t.TempDir()
	for name, w := range map[string][][]float32{"a.onnx": nil, "b.onnx": onnxtest.DefaultWeights(11)} {
		if name == "b.onnx" {
			w[0][9], w[2][8] = 0, 20 // b sends red and blue to class 7
		}
		b, err := onnxtest.Classifier{Size: 8, Outputs: 11, Weights: w}.Build()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := onnxtest.Write(dir, name, b); err != nil {
			t.Fatal(err)
		}
	}
	spec = filepath.Join(dir, "models.yaml")
	if err := os.WriteFile(spec, []byte(`models:
  - {name: a, files: [a.onnx], input_size: 8, label_offset: 1, num_classes: 10}
  - {name: b, files: [b.onnx], input_size: 8, label_offset: 1, num_classes: 10}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	data = filepath.Join(dir, "set")
	labels := []int{8, 9, 7, 9}
	if _, err := imgtest.WriteSet(data, n, 16, func(i int) int { return labels[i%4] }); err != nil {
		t.Fatal(err)
	}
	return dir, spec, data
}

func TestProfileExportEndToEnd(t *testing.T) {
	dir, spec, data := tinyProject(t, 10)
	db := filepath.Join(dir, "p.db")
	out, _, err := cli(t, "profile", "-models", spec, "-data", data, "-store", db, "-quiet",
		"-min-runs", "5", "-max-runs", "50", "-ci-width", "0.5", "-meter", "none")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "10 images") || !strings.Contains(out, "20 predictions") || !strings.Contains(out, "not measured") {
		t.Errorf("profile output:\n%s", out)
	}
	exp := filepath.Join(dir, "export")
	if _, _, err := cli(t, "export", "-store", db, "-out", exp); err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join(exp, "predictions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(csv), "\n"); lines != 21 {
		t.Errorf("predictions.csv has %d lines, want header + 20", lines)
	}
	var man map[string]any
	b, err := os.ReadFile(filepath.Join(exp, "manifest.json"))
	if err != nil || json.Unmarshal(b, &man) != nil {
		t.Fatalf("manifest.json unreadable: %v", err)
	}
}

func TestBadInputRejectedBeforeWork(t *testing.T) {
	dir, spec, data := tinyProject(t, 4)
	db := filepath.Join(dir, "p.db")
	bad := filepath.Join(dir, "bad.yaml")
	cases := []struct {
		name string
		args []string
		yaml string
		want string
	}{
		{"no flags", []string{"profile"}, "", "flag -models is required"},
		{"bad shard", []string{"profile", "-models", spec, "-data", data, "-store", db, "-shard", "3/3"}, "", "-shard"},
		{"unknown model", []string{"profile", "-models", spec, "-data", data, "-store", db, "-only", "zzz"}, "", `no model "zzz"`},
		{"wrong type", []string{"profile", "-models", bad, "-data", data, "-store", db}, "models:\n  - {name: a, files: [a.onnx], input_size: [8]}\n", "bad.yaml"},
		{"shape", []string{"profile", "-models", bad, "-data", data, "-store", db}, "models:\n  - {name: a, files: [a.onnx], input_size: 9, label_offset: 1, num_classes: 10}\n", "fix input_size"},
		{"no data", []string{"profile", "-models", spec, "-data", filepath.Join(dir, "nope"), "-store", db}, "", "nope"},
		{"unknown command", []string{"frobnicate"}, "", "unknown command"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.yaml != "" {
				if err := os.WriteFile(bad, []byte(c.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, stderr, err := cli(t, c.args...)
			if err == nil || !strings.Contains(err.Error()+stderr, c.want) {
				t.Fatalf("got %v (stderr %q), want an error mentioning %q", err, stderr, c.want)
			}
		})
	}
	// Nothing was profiled by any rejected run.
	if _, err := os.Stat(db); err == nil {
		st, err := store.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if p, _ := st.Predictions(context.Background(), ""); len(p) > 0 {
			t.Errorf("a rejected run wrote %d predictions", len(p))
		}
	}
}

func TestShardedProfileMergeEqualsSingle(t *testing.T) {
	dir, spec, data := tinyProject(t, 23)
	ctx := context.Background()
	single := filepath.Join(dir, "single.db")
	if _, _, err := cli(t, "profile", "-models", spec, "-data", data, "-store", single, "-quiet", "-cost=false"); err != nil {
		t.Fatal(err)
	}
	// Three shards as separate processes, as a scheduler would run them.
	var shards []string
	for i := 0; i < 3; i++ {
		p := filepath.Join(dir, fmt.Sprintf("shard%d.db", i))
		cmd := child(t, "profile", "-models", spec, "-data", data, "-store", p, "-shard", fmt.Sprintf("%d/3", i), "-quiet")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, out)
		}
		shards = append(shards, p)
	}
	merged := filepath.Join(dir, "merged.db")
	if _, _, err := cli(t, append([]string{"merge", "-out", merged}, shards...)...); err != nil {
		t.Fatal(err)
	}
	a, err := store.Open(single)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(merged)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if diff, err := store.Diff(ctx, a, b); err != nil || len(diff) > 0 {
		t.Fatalf("merge differs from a single run: %v %v", err, diff)
	}
}

func child(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MODELPICK_TEST_AS_MAIN=1")
	return cmd
}

// TestKilledProfileResumes kills a profiling child with SIGKILL once the
// store holds some rows, restarts it with the same arguments, and checks the
// result equals an uninterrupted run: no row lost or doubled.
func TestKilledProfileResumes(t *testing.T) {
	dir, spec, data := tinyProject(t, 400)
	ctx := context.Background()
	ref := filepath.Join(dir, "ref.db")
	if _, _, err := cli(t, "profile", "-models", spec, "-data", data, "-store", ref, "-quiet", "-cost=false"); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "killed.db")
	args := []string{"profile", "-models", spec, "-data", data, "-store", db, "-quiet", "-cost=false"}
	killed := false
	for attempt := 0; attempt < 5 && !killed; attempt++ {
		cmd := child(t, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		// Kill once the first batches are on disk (the child writes 32
		// images per transaction), well before it can finish.
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
			case <-time.After(5 * time.Millisecond):
				if n := predictionCount(t, db); n > 0 {
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
						t.Fatal(err)
					}
					err := <-waited
					if err == nil { // it finished between the count and the kill: try again
						t.Logf("attempt %d: child finished before the kill", attempt)
						break poll
					}
					var ee *exec.ExitError
					if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
						t.Fatalf("child was not killed by SIGKILL: %v", err)
					}
					if after := predictionCount(t, db); after < 800 {
						killed = true
						t.Logf("killed with %d of 800 predictions stored", after)
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
	if out, err := child(t, args...).CombinedOutput(); err != nil {
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

// predictionCount reads the store's prediction rows (0 while it does not
// exist yet or is being created).
func predictionCount(t *testing.T, path string) int64 {
	t.Helper()
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
	return c["predictions"]
}

// addPooledBackbone adds a tiny TFLite classifier with a pooled embedding
// ("pooled", the CNN premodel's backbone) to a tinyProject's spec, and
// writes a second labelled set to test on; it returns that set's folder.
func addPooledBackbone(t *testing.T, dir, spec string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "pooled.tflite"),
		tflitetest.Encode(tflitetest.PooledClassifier(), tflitetest.Options{}), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(spec, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("  - {name: pooled, files: [pooled.tflite], input_size: 8, mean: [128, 128, 128], std: [128, 128, 128], " +
		"crop_fraction: 1, label_offset: 1, num_classes: 10}\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	testData := writeTestSet(t, dir)
	return testData
}

// writeTestSet writes a second labelled set beside a tinyProject's, in
// another image size (other files, other hashes, the same colours), and
// returns its folder.
func writeTestSet(t *testing.T, dir string) string {
	t.Helper()
	labels := []int{8, 9, 7, 9}
	testData := filepath.Join(dir, "test-set")
	if _, err := imgtest.WriteSet(testData, 12, 20, func(i int) int { return labels[i%4] }); err != nil {
		t.Fatal(err)
	}
	return testData
}

// profilePair profiles a train and a test set into train.db and test.db
// with a quick cost profile, for the premodel end-to-end tests.
func profilePair(t *testing.T, dir, spec, data, testData string) (trainDB, testDB string) {
	t.Helper()
	trainDB, testDB = filepath.Join(dir, "train.db"), filepath.Join(dir, "test.db")
	for _, c := range [][2]string{{data, trainDB}, {testData, testDB}} {
		if _, _, err := cli(t, "profile", "-models", spec, "-data", c[0], "-store", c[1], "-quiet",
			"-min-runs", "5", "-max-runs", "20", "-ci-width", "0.5", "-meter", "none"); err != nil {
			t.Fatal(err)
		}
	}
	return trainDB, testDB
}
