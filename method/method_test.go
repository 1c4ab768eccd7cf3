package method

import "testing"

func TestNames(t *testing.T) {
	if m, ok := SingleOf("mobilenet").SingleModel(); !ok || m != "mobilenet" {
		t.Errorf("single: %q %v", m, ok)
	}
	if _, ok := OracleAll.SingleModel(); ok {
		t.Error("the oracle read as a single model")
	}
	if !KnobOf("knn").IsKnob() || CascadeCurve.IsKnob() || !OracleCandidates.IsOracle() || PremodelOf("knn").IsOracle() {
		t.Error("kinds of names")
	}
	if got := PremodelOf("dt").Short(); got != "dt" {
		t.Errorf("short %q", got)
	}
	if got := CascadeMatched.Short(); got != "softmax cascade @lat" {
		t.Errorf("short %q", got)
	}
	if !(Premodel.Rank() < Baseline.Rank() && Baseline.Rank() < Single.Rank() && Single.Rank() < Oracle.Rank()) {
		t.Error("rank order")
	}
}
