package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestProgressLines: a computed stage says what it does and its ETA (the
// time its key took in an earlier run, else unknown) once it prints or
// has run progress.HoldFor, then its time; one done sooner prints only its
// time; a cached one prints nothing; a runner without Log prints nothing.
func TestProgressLines(t *testing.T) {
	r, data := setup(t)
	var log bytes.Buffer
	r.Log = &log
	runs := 0
	s := countStage(&runs, func() float64 { return 1 })
	s.Describe = func(in countIn) string { return "counting lines" }
	ctx := context.Background()
	in := input(t, r, data, 2)
	r.SetLabel("fig0")
	if _, err := Do(ctx, r, s, in); err != nil {
		t.Fatal(err)
	}
	key, _, _ := Key(s, in)
	want := regexp.MustCompile(`^fig0 count ` + key[:12] + `: ran in \d+\.\ds\n$`)
	if !want.MatchString(log.String()) {
		t.Fatalf("first run printed %q", log.String())
	}
	log.Reset()
	if _, err := Do(ctx, r, s, in); err != nil || log.Len() != 0 {
		t.Fatalf("cached stage printed %q (err %v)", log.String(), err)
	}

	// A stage that prints its own progress is announced first: here the
	// same key computed before in 125 s (an earlier manifest).
	run := s.Run
	s.Run = func(ctx context.Context, w *Work, in countIn) (countOut, error) {
		fmt.Fprintln(w.Log, "counting: 1/1")
		return run(ctx, w, in)
	}
	in2 := in
	in2.Scale = 3
	key2, _, _ := Key(s, in2)
	r.Earlier = map[string]float64{key2[:16]: 125}
	r.SetLabel("")
	if _, err := Do(ctx, r, s, in2); err != nil {
		t.Fatal(err)
	}
	if ls := strings.Split(log.String(), "\n"); len(ls) != 4 || ls[0] != "count "+key2[:12]+": computing: counting lines, ETA ~2m05s (the time it took before)" ||
		ls[1] != "counting: 1/1" || !strings.HasPrefix(ls[2], "count "+key2[:12]+": ran in ") {
		t.Fatalf("lines %q", ls)
	}

	// Quiet: no Log, nothing printed, and the stage still runs.
	r.Log = nil
	in3 := in
	in3.Scale = 4
	if _, err := Do(ctx, r, s, in3); err != nil || runs != 3 {
		t.Fatalf("quiet run: err %v, runs %d", err, runs)
	}
}
