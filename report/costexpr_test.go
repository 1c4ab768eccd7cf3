package report

import (
	"math"
	"testing"
)

func TestCostExprEval(t *testing.T) {
	cost := map[string]float64{"model:a": 2, "model:b": 6, "image:d/x/a": 1}
	get := func(k string) (float64, bool) { v, ok := cost[k]; return v, ok }
	// b / (0.5 a + 0.5 b + 1) = 6 / 5
	e := CostExpr{Num: []CostTerm{{"model:b", 1}}, Den: []CostTerm{{"model:a", 0.5}, {"model:b", 0.5}}, DenConst: 1}
	if v, err := e.Eval(get); err != nil || math.Abs(v-1.2) > 1e-12 {
		t.Errorf("ratio %v %v, want 1.2", v, err)
	}
	// A share in percent, no denominator terms: 100 (a + 1) / 4.
	e = CostExpr{Num: []CostTerm{{"model:a", 1}}, NumConst: 1, DenConst: 4, Scale: 100}
	if v, err := e.Eval(get); err != nil || v != 75 {
		t.Errorf("share %v %v, want 75", v, err)
	}
	if v, err := (CostExpr{Num: []CostTerm{{ImageKey("d", "x", "a"), 3}}}).Eval(get); err != nil || v != 3 {
		t.Errorf("no denominator: %v %v", v, err)
	}
	if _, err := (CostExpr{Num: []CostTerm{{"model:c", 1}}}).Eval(get); err == nil {
		t.Error("an unknown cost was accepted")
	}
	if _, err := (CostExpr{Num: []CostTerm{{"model:a", 1}}, Den: []CostTerm{{"model:a", 1}}, DenConst: -2}).Eval(get); err == nil {
		t.Error("a zero denominator was accepted")
	}
}
