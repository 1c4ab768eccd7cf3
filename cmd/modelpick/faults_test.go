package main

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/modelpick/modelpick/store"
)

// faultSeed fixes the kill points, so a failure can be replayed.
const faultSeed = 20180619

// TestProfileSurvivesTenKills kills `modelpick profile` with SIGKILL at 10
// seeded random points and restarts it after each, then checks the store
// equals an uninterrupted run: same rows (store.Diff), same row counts (none
// lost or doubled) and a clean integrity_check.
//
// The first two kills land during start-up (runtime loading, schema
// creation); the others after a random number of new predictions plus a
// random delay of up to about one write transaction, so they land before,
// inside and between the 32-image transactions.
func TestProfileSurvivesTenKills(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 12 processes")
	}
	const images = 1500 // ~47 write transactions of 32 images (2 models each)
	dir, spec, data := tinyProject(t, images)
	ctx := context.Background()
	ref := filepath.Join(dir, "ref.db")
	args := func(db string) []string {
		return []string{"profile", "-models", spec, "-data", data, "-store", db, "-quiet", "-cost=false"}
	}
	if out, err := child(t, args(ref)...).CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	total := int64(2 * images)

	rng := rand.New(rand.NewPCG(faultSeed, 0))
	db := filepath.Join(dir, "killed.db")
	stored := int64(0)
	for k := range 10 {
		// Two kills during start-up; then each kill waits for a random
		// number of new predictions (on average an even share of what is
		// left below 60% of the total: the 40% left after the last target
		// keeps a starved parent on a loaded machine from missing the
		// child's end) plus up to about one transaction's
		// time, so it may land before, inside or after a commit.
		target := int64(0)
		jitter := time.Duration(rng.Int64N(int64(50 * time.Millisecond)))
		if k >= 2 {
			share := (total*6/10 - stored) / int64(10-k)
			target = stored + 1 + rng.Int64N(max(1, 2*share))
			jitter = time.Duration(rng.Int64N(int64(3 * time.Millisecond)))
		}
		at := killAt(t, db, args(db), target, jitter)
		t.Logf("kill %2d: at >= %4d predictions + %v: killed with %4d of %d stored", k+1, target, jitter.Round(time.Microsecond), at, total)
		if at < stored {
			t.Fatalf("kill %d: the store went from %d to %d predictions", k+1, stored, at)
		}
		stored = at
	}
	if out, err := child(t, args(db)...).CombinedOutput(); err != nil {
		t.Fatalf("final resume: %v\n%s", err, out)
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
		t.Fatalf("store after 10 kills differs from an uninterrupted run: %v %v", err, diff)
	}
	ca, err := a.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := b.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range ca {
		if table == "runs" {
			continue // one run record per start: a log, not data
		}
		if cb[table] != n {
			t.Errorf("table %s: %d rows after kills, %d uninterrupted", table, cb[table], n)
		}
	}
	if ca["predictions"] != total {
		t.Errorf("reference holds %d predictions, want %d", ca["predictions"], total)
	}
}

// killAt starts the child, waits until the store holds at least target
// predictions, then jitter more, and kills it with SIGKILL. It returns the
// prediction count at the kill. A child that finishes first fails the test:
// the targets stay below the total so that cannot happen on a sane run.
func killAt(t *testing.T, db string, args []string, target int64, jitter time.Duration) int64 {
	t.Helper()
	cmd := child(t, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for target > 0 && countPredictionsRO(db) < target {
		select {
		case err := <-waited:
			t.Fatalf("child exited (%v) before %d predictions were stored", err, target)
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-waited
			t.Fatalf("child stored fewer than %d predictions in 60 s", target)
		}
	}
	time.Sleep(jitter)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	err := <-waited
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL (it exited: %v)", err)
	}
	return countPredictionsRO(db)
}

// countPredictionsRO counts stored predictions through a read-only
// connection, which in WAL mode never blocks the writer being observed (a
// store.Open would take the write lock to check the schema). It returns 0
// while the file or its tables do not exist yet.
func countPredictionsRO(path string) int64 {
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(50)")
	if err != nil {
		return 0
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(`SELECT count(*) FROM predictions`).Scan(&n); err != nil {
		return 0
	}
	return n
}
