package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The kill test profiles killBatches batches of killBatchSize images; the
// child is killed after it reports killAfter committed batches, well before
// it could finish.
const (
	killEnv       = "MODELPICK_STORE_HELPER_DB"
	killBatches   = 1000
	killBatchSize = 5
	killAfter     = 25
)

// TestHelperWriter is not a test: it is the child process of
// TestSIGKILLResume, writing batches until it is killed.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(killEnv)
	if path == "" {
		t.Skip("helper process for TestSIGKILLResume")
	}
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	registerModels(t, s)
	images, preds := fixture(killBatches * killBatchSize)
	for b := range killBatches {
		lo, hi := b*killBatchSize, (b+1)*killBatchSize
		if err := s.WriteBatch(ctx, images[lo:hi], preds[3*lo:3*hi]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Printf("committed %d\n", b)
	}
	os.Exit(0) // the parent notes that it was not killed in time
}

func TestSIGKILLResume(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "killed.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), killEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lastCommitted := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			lastCommitted, _ = strconv.Atoi(n)
			if lastCommitted+1 >= killAfter {
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed mid-run (wait: %v; committed %d; stderr: %s)", err, lastCommitted, stderr.String())
	}
	if lastCommitted < 0 {
		t.Fatalf("child committed nothing; stderr: %s", stderr.String())
	}

	// Reopen: the file must be sound, every reported batch present, and
	// every batch either whole or absent.
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	done := make([]map[string]bool, len(testModels))
	for k, m := range testModels {
		if done[k], err = s.Done(ctx, "val", m); err != nil {
			t.Fatal(err)
		}
	}
	imagesDone, err := s.ImagesDone(ctx, "val")
	if err != nil {
		t.Fatal(err)
	}
	whole := 0
	for b := range killBatches {
		n := 0
		for i := b * killBatchSize; i < (b+1)*killBatchSize; i++ {
			file := fmt.Sprintf("img_%04d.jpg", i)
			if imagesDone[file] {
				n++
			}
			for k := range testModels {
				if done[k][file] {
					n++
				}
			}
		}
		switch {
		case n == 4*killBatchSize:
			whole++
		case n != 0:
			t.Fatalf("batch %d is half written (%d of %d rows)", b, n, 4*killBatchSize)
		case b <= lastCommitted:
			t.Fatalf("batch %d was reported committed but is missing", b)
		}
	}
	if whole >= killBatches {
		t.Fatalf("all %d batches were written before the kill; nothing left to resume", killBatches)
	}
	t.Logf("killed after %d reported batches; %d batches on disk", lastCommitted+1, whole)

	// Resume as a profiler would: skip what is done, write the rest.
	registerModels(t, s)
	images, preds := fixture(killBatches * killBatchSize)
	var restImages []ImageRow
	var restPreds []PredictionRow
	for i, im := range images {
		if !imagesDone[im.File] {
			restImages = append(restImages, im)
		}
		for k := range testModels {
			if !done[k][im.File] {
				restPreds = append(restPreds, preds[3*i+k])
			}
		}
	}
	start := time.Now()
	for lo := 0; lo < len(restImages); lo += 500 {
		hi := min(lo+500, len(restImages))
		if err := s.WriteBatch(ctx, restImages[lo:hi], nil); err != nil {
			t.Fatal(err)
		}
	}
	for lo := 0; lo < len(restPreds); lo += 1500 {
		hi := min(lo+1500, len(restPreds))
		if err := s.WriteBatch(ctx, nil, restPreds[lo:hi]); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("resumed %d images, %d predictions in %v", len(restImages), len(restPreds), time.Since(start))

	// Every expected row exactly once, and the content is what one
	// uninterrupted run writes.
	var dup int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM predictions
		GROUP BY dataset, file, model HAVING count(*) > 1)`).Scan(&dup); err != nil || dup != 0 {
		t.Fatalf("%d duplicated prediction keys (%v)", dup, err)
	}
	if n := count(t, s, "images"); n != int64(len(images)) {
		t.Fatalf("%d image rows, want %d", n, len(images))
	}
	if n := count(t, s, "predictions"); n != int64(len(preds)) {
		t.Fatalf("%d prediction rows, want %d", n, len(preds))
	}
	ref := openTemp(t, "ref.db")
	registerModels(t, ref)
	if err := ref.WriteBatch(ctx, images, preds); err != nil {
		t.Fatal(err)
	}
	if d, err := Diff(ctx, ref, s); err != nil || len(d) != 0 {
		t.Fatalf("resumed store differs from an uninterrupted run: %v %v", d, err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}
