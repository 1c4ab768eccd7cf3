package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Throttles: a terminal's line overwrites itself, so it may change every
// second; a log (CI, make > file) gets whole lines, rarely enough not to
// flood it.
const (
	TerminalEvery = time.Second
	LogEvery      = 10 * time.Second
)

// Line is one stage's progress line over counted work units (images,
// resamples). It is not safe for concurrent use: the goroutine that
// collects results steps it.
type Line struct {
	w           io.Writer
	label, unit string
	total, n    int
	skipped     int // units found already done: counted, but not in the rate
	start, last time.Time
	every       time.Duration
	lines       bool             // whole lines, for logs that are not terminals
	now         func() time.Time // the clock (tests set their own)
}

// New starts a line for total units named unit ("img", "resample"); a nil
// w prints nothing.
func New(w io.Writer, label, unit string, total int) *Line {
	return newLine(w, label, unit, total, time.Now)
}

func newLine(w io.Writer, label, unit string, total int, now func() time.Time) *Line {
	t := now()
	p := &Line{w: w, label: label, unit: unit, total: total, start: t, last: t, every: TerminalEvery, now: now}
	if !Terminal(w) {
		p.lines, p.every = true, LogEvery
	}
	return p
}

// Step counts one finished unit and reprints the line when the throttle
// allows, or on the last unit.
func (p *Line) Step() {
	p.n++
	if p.w == nil {
		return
	}
	if now := p.now(); now.Sub(p.last) >= p.every || p.n == p.total {
		p.last = now
		p.print(now)
	}
}

// Skip counts one unit found already done (a resumed run): it moves the
// count but not the rate, so the rate and the ETA are the work's, not
// "3256641.0 img/s" from units that cost nothing.
func (p *Line) Skip() {
	p.skipped++
	p.Step()
}

func (p *Line) print(now time.Time) {
	el := now.Sub(p.start)
	worked := p.n - p.skipped
	rate := Rate(worked, el, p.unit)
	eta := CountETA(worked, p.total-p.skipped, el)
	if p.skipped > 0 {
		rate = fmt.Sprintf("%d already done, %s", p.skipped, rate)
		if worked == 0 && p.n >= p.total {
			eta = "nothing left to do"
		}
	}
	text := fmt.Sprintf("%s: %d/%d (%.1f%%) %s %s", p.label, p.n, p.total, percent(p.n, p.total), rate, eta)
	if p.lines {
		fmt.Fprintln(p.w, text)
		return
	}
	fmt.Fprintf(p.w, "\r%s   ", text)
}

func percent(n, total int) float64 {
	if total <= 0 {
		return 100
	}
	return 100 * float64(n) / float64(total)
}

// Rate is "12.3 img/s", or "1 resample/40s" when slower than one a second.
func Rate(n int, elapsed time.Duration, unit string) string {
	if n <= 0 || elapsed <= 0 {
		return "0 " + unit + "/s"
	}
	r := float64(n) / elapsed.Seconds()
	if r >= 1 {
		return fmt.Sprintf("%.1f %s/s", r, unit)
	}
	return fmt.Sprintf("1 %s/%s", unit, Duration(time.Duration(float64(time.Second)/r)))
}

// CountETA is the time left at the rate so far: n of total units done in
// elapsed. Before the first unit there is no rate: "ETA unknown".
func CountETA(n, total int, elapsed time.Duration) string {
	if n <= 0 || elapsed <= 0 {
		return "ETA unknown"
	}
	if n >= total {
		return "done in " + Duration(elapsed)
	}
	left := time.Duration(float64(total-n) / float64(n) * float64(elapsed))
	return "ETA " + Duration(left)
}

// TimeETA is the time left of a computation that took expected before
// (0: never seen, "ETA unknown"), elapsed into it now.
func TimeETA(elapsed, expected time.Duration) string {
	switch {
	case expected <= 0:
		return "ETA unknown"
	case elapsed > expected:
		return "ETA unknown (past the " + Duration(expected) + " it took before)"
	}
	return "ETA ~" + Duration(expected-elapsed)
}

// Duration rounds d for people: "0.4s", "12s", "3m05s", "1h02m".
func Duration(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		s := int(d.Round(time.Second).Seconds())
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	m := int(d.Round(time.Minute).Minutes())
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}

// Finish ends the line; an interrupted run first shows where it stopped.
func (p *Line) Finish() {
	if p.w == nil || p.total == 0 {
		return
	}
	if p.n != p.total {
		p.print(p.now())
	}
	if !p.lines {
		fmt.Fprintln(p.w)
	}
}

// Terminal reports whether w is a terminal (through a [Watch]).
func Terminal(w io.Writer) bool {
	if ww, ok := w.(*Watched); ok {
		w = ww.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Watched is a writer that remembers when it was last written to, so a
// heartbeat can stay silent while a stage prints its own progress. It can
// hold back a line until the first write (see Hold).
type Watched struct {
	w    io.Writer
	mu   sync.Mutex
	last time.Time
	now  func() time.Time
	held string
}

// Watch wraps w.
func Watch(w io.Writer) *Watched { return &Watched{w: w, now: time.Now} }

func (w *Watched) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = w.now()
	w.release()
	return w.w.Write(b)
}

// Hold keeps line back until the first write or Release, so a computation
// that ends at once does not announce itself (Drop forgets it).
func (w *Watched) Hold(line string) {
	w.mu.Lock()
	w.held = line
	w.mu.Unlock()
}

// Release prints the held line, if any.
func (w *Watched) Release() {
	w.mu.Lock()
	w.release()
	w.mu.Unlock()
}

// Drop forgets the held line.
func (w *Watched) Drop() {
	w.mu.Lock()
	w.held = ""
	w.mu.Unlock()
}

func (w *Watched) release() {
	if w.held != "" {
		fmt.Fprintln(w.w, w.held)
		w.held = ""
	}
}

// LastWrite is when w was last written to (zero: never).
func (w *Watched) LastWrite() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// BeatEvery is how often a stage without counted units says it is alive,
// and HoldFor how long its start line is held back (a stage done sooner
// prints only its time).
const (
	BeatEvery = 30 * time.Second
	HoldFor   = 2 * time.Second
)

// Beat is the heartbeat of a computation without counted units: every
// BeatEvery, elapsed time and an ETA from the time the same computation
// took before (when known), unless the computation printed its own
// progress meanwhile.
type Beat struct {
	out      *Watched
	label    string
	expected time.Duration
	start    time.Time
	last     time.Time // last beat or start
}

// NewBeat starts a heartbeat for label on out at start.
func NewBeat(out *Watched, label string, expected time.Duration, start time.Time) *Beat {
	return &Beat{out: out, label: label, expected: expected, start: start, last: start}
}

// Line is the heartbeat due at now ("" when none is: too soon since the
// last beat, or the computation printed within BeatEvery).
func (b *Beat) Line(now time.Time) string {
	if now.Sub(b.last) < BeatEvery || now.Sub(b.out.LastWrite()) < BeatEvery {
		return ""
	}
	b.last = now
	el := now.Sub(b.start)
	return fmt.Sprintf("%s: computing, %s elapsed, %s", b.label, Duration(el), TimeETA(el, b.expected))
}

// Run releases the held start line after HoldFor, then prints the due
// heartbeats, until stop is closed; a start line still held then is
// dropped.
func (b *Beat) Run(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	hold := time.NewTimer(HoldFor)
	defer hold.Stop()
	for {
		select {
		case <-stop:
			b.out.Drop()
			return
		case <-hold.C:
			b.out.Release()
		case now := <-t.C:
			if s := b.Line(now); s != "" {
				fmt.Fprintln(b.out.w, s)
			}
		}
	}
}
