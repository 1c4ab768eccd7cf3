package experiments

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/report"
)

// TestSummary builds the end-of-run screen from a few outcomes and claims.
func TestSummary(t *testing.T) {
	rec := func(key, status string, secs float64) pipeline.Record {
		return pipeline.Record{Stage: "s", Key: key, Status: status, Seconds: secs}
	}
	claim := func(crit, status string, beyond bool) report.ClaimResult {
		return report.ClaimResult{Claim: report.Claim{Criterion: crit, BeyondPaper: beyond}, Status: status}
	}
	s := Summary{
		Outcomes: []Outcome{
			// "a" is computed by fig1 and cached for fig2: counted once, as computed.
			{Name: "fig1", Status: StatusDone, Figures: []string{"fig1"}, Records: []pipeline.Record{rec("a", pipeline.StatusRan, 90), rec("b", pipeline.StatusHit, 0)}},
			{Name: "fig2", Status: StatusDone, Figures: []string{"fig2", "fig2-b"}, Records: []pipeline.Record{rec("a", pipeline.StatusHit, 0), rec("c", pipeline.StatusHit, 0)}},
			{Name: "fig3", Status: StatusPending},
			{Name: "fig4", Status: StatusFailed, Records: []pipeline.Record{rec("d", pipeline.StatusRan, 30)}},
		},
		Claims: []report.ClaimResult{
			claim("top1", report.Reproduced, false), claim("top1", report.Deviates, false),
			claim("top5", report.Inconclusive, false), claim("", report.NotComparable, false),
			claim("top1", report.Reproduced, true),
		},
		Results: "results", Figures: "figures", Reproduce: "REPRODUCE.md",
		Elapsed: 185 * time.Second,
	}
	var b bytes.Buffer
	s.Write(&b)
	out := b.String()
	for _, want := range []string{
		"── summary: 4 experiments in 3m05s ──\n",
		"experiments  2 done, 1 not attempted (fig3), 1 failed (fig4)\n",
		"stages       2 computed (2m00s of compute), 2 cached\n",
		"written      results/: 3 experiment folders\n",
		"             figures/: 3 figures (SVG and PNG)\n",
		"             REPRODUCE.md\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// Claims: one row per criterion, the paper's all, beyond the paper;
	// columns in report.Statuses order, then all.
	for _, want := range []string{
		"claims       the paper's, top-1: 1 reproduced, 1 deviates (2)\n",
		"             the paper's, top-5: 1 inconclusive (1)\n",
		"             the paper's, neither (features, latency): 1 not comparable (1)\n",
		"             the paper's, all: 1 reproduced, 1 inconclusive, 1 deviates, 1 not comparable (4)\n",
		"             beyond the paper: 1 reproduced (1)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n > 25 {
		t.Errorf("summary is %d lines, more than a screen", n)
	}
	// Without claims or a report, those lines are left out.
	b.Reset()
	s.Claims, s.Reproduce = nil, ""
	s.Write(&b)
	if strings.Contains(b.String(), "claims") || strings.Contains(b.String(), "REPRODUCE") {
		t.Errorf("summary without claims or report:\n%s", b.String())
	}
}

// TestEarlierStageTimes reads stage compute times from results' manifests
// (the ETAs of stages computed again); an unreadable manifest is skipped.
func TestEarlierStageTimes(t *testing.T) {
	dir := t.TempDir()
	m := Manifest{Name: "fig1", Stages: []StageTime{{Stage: "profile", Key: "0123456789abcdef", ComputeSeconds: 42.5}, {Stage: "join", Key: "fedcba9876543210"}}}
	if err := os.MkdirAll(filepath.Join(dir, "fig1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(filepath.Join(dir, "fig1"), "manifest.json", m); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "bad"), 0o755)
	os.WriteFile(filepath.Join(dir, "bad", "manifest.json"), []byte("{"), 0o644)
	got := EarlierStageTimes(dir)
	if len(got) != 1 || got["0123456789abcdef"] != 42.5 {
		t.Fatalf("earlier times %v, want profile's 42.5 s only (no time recorded: no ETA)", got)
	}
}
