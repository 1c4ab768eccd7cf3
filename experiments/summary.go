package experiments

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/modelpick/modelpick/internal/progress"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/report"
)

// Summary is the one screen a run of every experiment ends with: what it
// wrote, the claims by status, the stages computed and cached, the time.
type Summary struct {
	Outcomes []Outcome
	// Claims are the claims evaluated on the results written.
	Claims []report.ClaimResult
	// Results and Figures are the output folders; Reproduce the report
	// written ("" for none).
	Results, Figures, Reproduce string
	// Elapsed is the whole run's wall time.
	Elapsed time.Duration
}

// Write prints the summary (at most about 20 lines).
func (s Summary) Write(w io.Writer) {
	var done, figs int
	by := map[string][]string{}
	for _, o := range s.Outcomes {
		by[o.Status] = append(by[o.Status], o.Name)
		if o.Status == StatusDone {
			done++
			figs += len(o.Figures)
		}
	}
	fmt.Fprintf(w, "── summary: %d experiments in %s ──\n", len(s.Outcomes), progress.Duration(s.Elapsed))
	parts := []string{fmt.Sprintf("%d done", done)}
	for _, st := range []string{StatusPending, StatusFailed} {
		if n := len(by[st]); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s (%s)", n, st, names(by[st], 4)))
		}
	}
	fmt.Fprintf(w, "experiments  %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "stages       %s\n", stageCounts(s.Outcomes))
	fmt.Fprintf(w, "written      %s/: %d experiment folders\n", s.Results, done+len(by[StatusPending]))
	fmt.Fprintf(w, "             %s/: %d figures (SVG and PNG)\n", s.Figures, figs)
	if s.Reproduce != "" {
		fmt.Fprintf(w, "             %s\n", s.Reproduce)
	}
	if len(s.Claims) == 0 {
		return
	}
	label := "claims"
	for _, t := range report.Tally(s.Claims) {
		var parts []string
		for _, st := range report.Statuses {
			if n := t.Counts[st]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, st))
			}
		}
		if len(parts) == 0 {
			parts = []string{"none"}
		}
		fmt.Fprintf(w, "%-12s %s: %s (%d)\n", label, t.Name, strings.Join(parts, ", "), t.All)
		label = ""
	}
}

// stageCounts counts distinct stages (experiments share many) by what
// this run did with them, and the compute time of those it computed.
func stageCounts(outs []Outcome) string {
	status := map[string]string{}
	var order []string
	secs := 0.0
	for _, o := range outs {
		for _, r := range o.Records {
			if _, seen := status[r.Key]; !seen {
				order = append(order, r.Key)
			}
			if status[r.Key] == "" || r.Status != pipeline.StatusHit {
				status[r.Key] = r.Status
			}
			if r.Status == pipeline.StatusRan {
				secs += r.Seconds
			}
		}
	}
	n := map[string]int{}
	for _, k := range order {
		n[status[k]]++
	}
	s := fmt.Sprintf("%d computed (%s of compute), %d cached", n[pipeline.StatusRan], progress.Duration(time.Duration(secs*float64(time.Second))), n[pipeline.StatusHit])
	for _, v := range []string{pipeline.StatusVerified, pipeline.StatusVaries, pipeline.StatusDiffers} {
		if n[v] > 0 {
			s += fmt.Sprintf(", %d verify %s", n[v], v)
		}
	}
	return s
}

// names lists up to most names, then how many more.
func names(ns []string, most int) string {
	if len(ns) <= most {
		return strings.Join(ns, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ns[:most], ", "), len(ns)-most)
}
