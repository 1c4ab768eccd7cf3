package report

import (
	"fmt"
	"math"
)

// CostTerm is one recorded cost in a CostExpr, by its key in the device
// profile: "model:NAME" (a model's mean latency), "image:DATASET/FILE/MODEL"
// (a model's latency on one image, Fig 1d), "features:DATASET/NAMES"
// (the premodel's mean feature-extraction time per image on a data set).
type CostTerm struct {
	Key    string  `json:"key"`
	Weight float64 `json:"weight"`
}

// CostExpr writes a measure as a function of recorded costs:
//
//	(Σ num weight·cost + NumConst) / (Σ den weight·cost + DenConst)
//
// (an empty Den with DenConst 0 is 1), so that the stability experiment
// can recompute the measure with every cost moved within its interval and
// decide the claim again. A kind attaches one to each measure that is a
// ratio or share of times (results/NAME/cost_exprs.json).
type CostExpr struct {
	Num      []CostTerm `json:"num"`
	NumConst float64    `json:"num_const,omitempty"`
	Den      []CostTerm `json:"den,omitempty"`
	DenConst float64    `json:"den_const,omitempty"`
	// Scale multiplies the ratio (100 for a share in percent).
	Scale float64 `json:"scale,omitempty"`
}

// Eval computes the expression with the costs given by key.
func (e CostExpr) Eval(cost func(key string) (float64, bool)) (float64, error) {
	sum := func(ts []CostTerm, c float64) (float64, error) {
		for _, t := range ts {
			x, ok := cost(t.Key)
			if !ok {
				return 0, fmt.Errorf("no cost %q", t.Key)
			}
			c += t.Weight * x
		}
		return c, nil
	}
	num, err := sum(e.Num, e.NumConst)
	if err != nil {
		return 0, err
	}
	den := 1.0
	if len(e.Den) > 0 || e.DenConst != 0 {
		if den, err = sum(e.Den, e.DenConst); err != nil {
			return 0, err
		}
	}
	if den == 0 || math.IsNaN(num/den) {
		return 0, fmt.Errorf("cost expression: %g / %g", num, den)
	}
	scale := e.Scale
	if scale == 0 {
		scale = 1
	}
	return scale * num / den, nil
}

// ModelKey, ImageKey and FeaturesKey are CostTerm keys.
func ModelKey(model string) string { return "model:" + model }

// ImageKey is the key of a model's latency on one image.
func ImageKey(dataset, file, model string) string {
	return "image:" + dataset + "/" + file + "/" + model
}

// FeaturesKey is the key of a feature set's mean extraction time per
// image on a data set.
func FeaturesKey(dataset string, names []string) string {
	k := "features:" + dataset + "/"
	for i, n := range names {
		if i > 0 {
			k += ","
		}
		k += n
	}
	return k
}

// CostExprsFile is results/NAME/cost_exprs.json: an experiment's
// CostExprs and the terms they use beyond the device profile.
const CostExprsFile = "cost_exprs.json"

// CostExprs is the content of CostExprsFile.
type CostExprs struct {
	Exprs map[string]CostExpr `json:"exprs"`
	// Terms are costs the exprs use that the device profile does not
	// hold (e.g. a premodel's overhead), with their intervals.
	Terms map[string]Interval `json:"terms,omitempty"`
}
