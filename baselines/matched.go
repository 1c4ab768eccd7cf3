package baselines

import (
	"fmt"

	"github.com/modelpick/modelpick/method"

	"github.com/modelpick/modelpick/profileview"
)

// Rival is a baseline's result on a test set, under its method name.
type Rival struct {
	Name   method.Name
	Result Result
}

// AtLatency evaluates, on test, the rivals of a premodel whose mean
// latency is budgetMS: the max-softmax cascade over the candidates (cost
// order, one shared threshold calibrated on train for a mean latency of at
// most budgetMS; with two candidates or more) and random routing between
// the two candidates bracketing budgetMS (seeded). train and test are rows
// of one profile (the same models and costs).
func AtLatency(train, test *profileview.View, cands []string, budgetMS float64, seed uint64) ([]Rival, error) {
	levels, err := train.Columns(cands)
	if err != nil {
		return nil, fmt.Errorf("baselines: %w", err)
	}
	levels = ByCost(train, levels)
	var out []Rival
	if len(levels) > 1 {
		c, _, err := CalibrateCascade(train, levels, RuleShared, Objective{BudgetMS: budgetMS})
		if err != nil {
			return nil, err
		}
		r, err := c.Evaluate(test)
		if err != nil {
			return nil, err
		}
		out = append(out, Rival{Name: method.CascadeMatched, Result: r})
	}
	_, r, err := RandomMatched(test, levels, budgetMS, seed)
	if err != nil {
		return nil, err
	}
	return append(out, Rival{Name: method.RandomMatched, Result: r}), nil
}
