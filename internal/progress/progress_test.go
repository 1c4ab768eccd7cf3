package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// clock is a fake clock the tests move by hand: no test reads the wall clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func lines(s string) []string        { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }
func count(s, sub string) int        { return strings.Count(s, sub) }
func contains(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q lacks %q", s, sub)
	}
}

func TestLine(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, "features x", "img", 3)
	p.Step()
	p.Step()
	p.Finish() // interrupted at 2 of 3: the line shows it
	out := b.String()
	if !strings.Contains(out, "features x: 2/3 (66.7%)") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("progress output %q", out)
	}
	New(nil, "silent", "img", 5).Step() // a nil writer prints nothing and does not panic
}

// A buffer is not a terminal: whole lines, at most one per LogEvery, and
// always the last unit's.
func TestLineThrottlesLogs(t *testing.T) {
	var b bytes.Buffer
	c := newClock()
	p := newLine(&b, "profile x", "img", 100, c.now)
	for range 99 {
		c.add(time.Second) // 99 units in 99 s: 9 lines due (every 10 s), then the last
		p.Step()
	}
	if n := count(b.String(), "\n"); n != 9 {
		t.Fatalf("%d lines in 99 s, want 9 (one per %s):\n%s", n, LogEvery, b.String())
	}
	c.add(time.Second)
	p.Step()
	p.Finish()
	ls := lines(b.String())
	if len(ls) != 10 || strings.Contains(b.String(), "\r") {
		t.Fatalf("want 10 whole lines and no carriage returns, got %q", b.String())
	}
	if ls[0] != "profile x: 10/100 (10.0%) 1.0 img/s ETA 1m30s" {
		t.Fatalf("first line %q", ls[0])
	}
	if ls[9] != "profile x: 100/100 (100.0%) 1.0 img/s done in 1m40s" {
		t.Fatalf("last line %q", ls[9])
	}
}

func TestLinesWhenNotATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if Terminal(f) || Terminal(Watch(f)) {
		t.Fatal("a file is not a terminal")
	}
	p := New(f, "profile x", "img", 2)
	p.Step()
	p.Step()
	p.Finish()
	b, _ := os.ReadFile(f.Name())
	if strings.Contains(string(b), "\r") || strings.Count(string(b), "\n") != 1 || !strings.Contains(string(b), "2/2") {
		t.Fatalf("log output %q: want one whole line, no carriage returns", b)
	}
}

func TestETA(t *testing.T) {
	for _, c := range []struct {
		n, total int
		el       time.Duration
		want     string
	}{
		{0, 10, 0, "ETA unknown"},
		{0, 10, time.Minute, "ETA unknown"}, // no unit done: no rate to go on
		{1, 4, 20 * time.Second, "ETA 1m00s"},
		{3, 4, 3 * time.Hour, "ETA 1h00m"},
		{4, 4, 5 * time.Second, "done in 5.0s"},
	} {
		if got := CountETA(c.n, c.total, c.el); got != c.want {
			t.Errorf("CountETA(%d, %d, %s) = %q, want %q", c.n, c.total, c.el, got, c.want)
		}
	}
	for _, c := range []struct {
		el, exp time.Duration
		want    string
	}{
		{time.Minute, 0, "ETA unknown"},
		{time.Minute, 3 * time.Minute, "ETA ~2m00s"},
		{4 * time.Minute, 3 * time.Minute, "ETA unknown (past the 3m00s it took before)"},
	} {
		if got := TimeETA(c.el, c.exp); got != c.want {
			t.Errorf("TimeETA(%s, %s) = %q, want %q", c.el, c.exp, got, c.want)
		}
	}
	if got := Rate(1, 40*time.Second, "resample"); got != "1 resample/40s" {
		t.Errorf("slow rate %q", got)
	}
}

func TestBeat(t *testing.T) {
	var b bytes.Buffer
	c := newClock()
	w := Watch(&b)
	w.now = c.now
	start := c.now()
	beat := NewBeat(w, "fig8 premodel-cv", 2*time.Minute, start)
	c.add(BeatEvery - time.Second)
	if s := beat.Line(c.now()); s != "" {
		t.Fatalf("beat before %s: %q", BeatEvery, s)
	}
	c.add(time.Second)
	if s := beat.Line(c.now()); s != "fig8 premodel-cv: computing, 30s elapsed, ETA ~1m30s" {
		t.Fatalf("first beat %q", s)
	}
	c.add(time.Second)
	if s := beat.Line(c.now()); s != "" {
		t.Fatalf("a second beat right after the first: %q", s)
	}
	// The stage prints its own progress: the heartbeat stays silent.
	c.add(BeatEvery - 5*time.Second)
	w.Write([]byte("resamples: 3/20\n"))
	c.add(10 * time.Second)
	if s := beat.Line(c.now()); s != "" {
		t.Fatalf("beat while the stage prints: %q", s)
	}
	c.add(2 * BeatEvery)
	contains(t, beat.Line(c.now()), "ETA unknown (past the 2m00s it took before)")
	unknown := NewBeat(w, "x", 0, c.now())
	c.add(BeatEvery)
	contains(t, unknown.Line(c.now()), "computing, 30s elapsed, ETA unknown")
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		400 * time.Millisecond:       "0.4s",
		12 * time.Second:             "12s",
		185 * time.Second:            "3m05s",
		62*time.Minute + time.Second: "1h02m",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestHold(t *testing.T) {
	var b bytes.Buffer
	w := Watch(&b)
	w.Hold("stage x: computing")
	if b.Len() != 0 {
		t.Fatalf("held line printed at once: %q", b.String())
	}
	w.Write([]byte("x: 1/3\n")) // the first write prints it first
	w.Release()                 // nothing more is held
	if b.String() != "stage x: computing\nx: 1/3\n" {
		t.Fatalf("got %q", b.String())
	}
	b.Reset()
	w.Hold("stage y: computing")
	w.Release()
	w.Hold("stage z: computing")
	w.Drop()
	w.Release()
	if b.String() != "stage y: computing\n" {
		t.Fatalf("got %q", b.String())
	}
}

// A resumed run: units already done move the count, not the rate.
func TestLineSkipsDoneUnits(t *testing.T) {
	var b bytes.Buffer
	c := newClock()
	p := newLine(&b, "profile x", "img", 10, c.now)
	for range 8 {
		p.Skip()
	}
	c.add(2 * time.Second)
	p.Step()
	c.add(2 * time.Second)
	p.Step()
	ls := lines(b.String())
	if got, want := ls[len(ls)-1], "profile x: 10/10 (100.0%) 8 already done, 1 img/2.0s done in 4.0s"; got != want {
		t.Fatalf("last line %q, want %q", got, want)
	}
	var all bytes.Buffer
	q := newLine(&all, "profile y", "img", 3, newClock().now)
	for range 3 {
		q.Skip()
	}
	if got := lines(all.String()); got[len(got)-1] != "profile y: 3/3 (100.0%) 3 already done, 0 img/s nothing left to do" {
		t.Fatalf("all done: %q", got)
	}
}
