package experiments

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/report"
)

// TestClaimStability decides latency-derived claims again under cost
// draws: a claim whose interval carries its costs' uncertainty never
// flips; a value without interval at the edge of its band does.
func TestClaimStability(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "results")
	art := filepath.Join(results, "art")
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, v any) {
		b, _ := json.Marshal(v)
		if err := os.WriteFile(filepath.Join(art, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("status.json", map[string]string{"status": "done"})
	// ratio = b / a = 2 at the recorded costs, a in [0.9, 1.1], b in [1.8, 2.2]:
	// the ratio ranges over [1.64, 2.44].
	write("measures.json", map[string]any{
		"carried": report.Interval{Value: 2, Lo: 1.64, Hi: 2.44, Method: "interval arithmetic"},
		"bare":    2.0,
	})
	ratio := report.CostExpr{Num: []report.CostTerm{{Key: report.ModelKey("b"), Weight: 1}},
		Den: []report.CostTerm{{Key: report.ModelKey("a"), Weight: 1}}}
	write(report.CostExprsFile, report.CostExprs{Exprs: map[string]report.CostExpr{"carried": ratio, "bare": ratio}})
	claims := `claims:
  - {id: far, artifact: art, claim: c, paper: "2x", measure: carried, compare: rel, expect: 2, tolerance: 0.5}
  - {id: edge, artifact: art, claim: c, paper: "2.1x", measure: bare, compare: abs, expect: 2.1, tolerance: 0.1}
`
	if err := os.WriteFile(filepath.Join(dir, ClaimsFile), []byte(claims), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &Env{Opt: Options{Results: results}}
	c := &chain{cost: stages.CostOut{Costs: []stages.Cost{
		{Model: "a", MeanMS: 1, CILowMS: 0.9, CIHighMS: 1.1}, {Model: "b", MeanMS: 2, CILowMS: 1.8, CIHighMS: 2.2}}}}
	rows, flips, err := e.claimStability(&Spec{Path: filepath.Join(dir, "stability.yaml")}, c, &StabilityParams{Draws: 40, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rechecked %d claims, want 2: %+v", len(rows), rows)
	}
	for _, r := range rows {
		switch r.ID {
		case "far":
			if r.Status != report.Reproduced || r.Flips != 0 || r.Min < 1.64-1e-9 || r.Max > 2.44+1e-9 {
				t.Errorf("far: %+v", r)
			}
		case "edge":
			// 2.0 is reproduced in [2.0, 2.2]; a draw below 2 deviates.
			if r.Status != report.Reproduced || r.Flips == 0 || r.Flips == r.Draws {
				t.Errorf("edge: %+v, want some draws to flip", r)
			}
		}
	}
	if flips == 0 {
		t.Error("no flips counted")
	}
}
