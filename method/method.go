// Package method names the ways of classifying a test set that the
// analyses compare and the report draws: the premodel, single models, the
// oracles and the baselines. Analyses write these names into records, and
// the report reads them back, so both use the constants and constructors
// here instead of matching strings by prefix.
package method

import "strings"

// Kind says what a method is.
type Kind string

// The kinds of method, in the order tables list them.
const (
	Premodel Kind = "premodel"
	Baseline Kind = "baseline"
	Single   Kind = "single"
	Oracle   Kind = "oracle"
)

// Rank orders kinds for tables: the premodel, baselines, single models,
// oracles.
func (k Kind) Rank() int {
	switch k {
	case Premodel:
		return 0
	case Baseline:
		return 1
	case Single:
		return 2
	}
	return 3
}

// Name is a method's name in records.
type Name string

// The fixed names.
const (
	// OracleAll runs each image's cheapest correct model among all
	// models; OracleCandidates among the premodel's candidates.
	OracleAll        Name = "oracle (all models)"
	OracleCandidates Name = "oracle (candidates)"
	// CascadeMatched and RandomMatched are the rivals at the premodel's
	// mean latency.
	CascadeMatched Name = "softmax cascade (matched latency)"
	RandomMatched  Name = "random routing (matched latency)"
	// CascadeCurve is the shared-threshold softmax cascade's curve.
	CascadeCurve Name = "softmax cascade"
)

const (
	premodelPrefix = "premodel "
	singlePrefix   = "single: "
	knobPrefix     = "budget knob ("
	knobSuffix     = " premodel)"
)

// PremodelOf names the premodel of a learner ("premodel knn-cascade").
func PremodelOf(learner string) Name { return Name(premodelPrefix + learner) }

// SingleOf names a single model's point on a curve ("single: m").
func SingleOf(model string) Name { return Name(singlePrefix + model) }

// KnobOf names the budget knob's curve of a learner's premodel.
func KnobOf(learner string) Name { return Name(knobPrefix + learner + knobSuffix) }

// SingleModel returns the model a single model's curve point names.
func (n Name) SingleModel() (string, bool) { return strings.CutPrefix(string(n), singlePrefix) }

// IsKnob says whether n names a budget knob's curve.
func (n Name) IsKnob() bool { return strings.HasPrefix(string(n), knobPrefix) }

// IsOracle says whether n names an oracle.
func (n Name) IsOracle() bool { return n == OracleAll || n == OracleCandidates }

// Short is n for an axis: the premodel without its prefix, a matched
// rival abbreviated.
func (n Name) Short() string {
	s := strings.TrimPrefix(string(n), premodelPrefix)
	return strings.Replace(s, " (matched latency)", " @lat", 1)
}
