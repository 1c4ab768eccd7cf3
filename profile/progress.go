package profile

import (
	"fmt"
	"io"
	"time"
)

// progress prints one self-overwriting line with rate and ETA, at most
// once a second, so long runs show life without flooding logs.
type progress struct {
	w           io.Writer
	label       string
	total, n    int
	start, last time.Time
}

func newProgress(w io.Writer, label string, total int) *progress {
	now := time.Now()
	return &progress{w: w, label: label, total: total, start: now, last: now}
}

func (p *progress) step() {
	p.n++
	if p.w == nil {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= time.Second || p.n == p.total {
		p.last = now
		p.print(now)
	}
}

func (p *progress) print(now time.Time) {
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
	fmt.Fprintf(p.w, "\r%s: %d/%d (%.1f%%) %.1f img/s ETA %s   ", p.label, p.n, p.total, pct, rate, eta)
}

func (p *progress) finish() {
	if p.w == nil || p.total == 0 {
		return
	}
	if p.n != p.total { // an interrupted run: show where it stopped
		p.print(time.Now())
	}
	fmt.Fprintln(p.w)
}
