package progress

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Line is one stage's progress line. It is not safe for concurrent use:
// the goroutine that collects results steps it.
type Line struct {
	w           io.Writer
	label       string
	total, n    int
	start, last time.Time
	every       time.Duration
	lines       bool // whole lines, for logs that are not terminals
}

// New starts a line for total items; a nil w prints nothing.
func New(w io.Writer, label string, total int) *Line {
	now := time.Now()
	p := &Line{w: w, label: label, total: total, start: now, last: now, every: time.Second}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice == 0 {
			p.lines, p.every = true, 10*time.Second
		}
	}
	return p
}

// Step counts one finished item and reprints the line when a second has
// passed since the last print, or on the last item.
func (p *Line) Step() {
	p.n++
	if p.w == nil {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= p.every || p.n == p.total {
		p.last = now
		p.print(now)
	}
}

func (p *Line) print(now time.Time) {
	el := now.Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.n) / el
	}
	eta := "?"
	if rate > 0 {
		eta = time.Duration(float64(p.total-p.n) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.n) / float64(p.total)
	}
	if p.lines {
		fmt.Fprintf(p.w, "%s: %d/%d (%.1f%%) %.1f img/s ETA %s\n", p.label, p.n, p.total, pct, rate, eta)
		return
	}
	fmt.Fprintf(p.w, "\r%s: %d/%d (%.1f%%) %.1f img/s ETA %s   ", p.label, p.n, p.total, pct, rate, eta)
}

// Finish ends the line; an interrupted run first shows where it stopped.
func (p *Line) Finish() {
	if p.w == nil || p.total == 0 {
		return
	}
	if p.n != p.total {
		p.print(time.Now())
	}
	if !p.lines {
		fmt.Fprintln(p.w)
	}
}
