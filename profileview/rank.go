package profileview

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"

	"github.com/modelpick/modelpick/selection"
)

// Resolution is the relative latency difference this project's devices
// cannot resolve from one measurement to the next: the tie rule's width.
//
// Measured on the 2-core x86 VM the recorded profile comes from
// (experiments/device/README.md): five separate runs of
// `go test -run '^$' -bench Ladder -benchtime 300x ./onnxconv`, 20 s
// apart, moved each model's median latency by up to 10.0% between runs
// (mobilenet_v1_0.25_128: 0.40 to 0.44 ms; the others 2.6-6.2%) and its
// latency relative to the run's geometric mean of all seven, the drift
// that can reorder models, by up to 8.9% (0.25_128; the others 1.6-5.3%),
// while each run's own 95% interval was under ±1%. Two models closer than
// that can swap places from one measurement to the next, so their order
// is not a measurement. make measure records the same drift over five
// blocks of its own (device.Drift) and warns when it exceeds this.
const Resolution = 0.10

// RankRule names the ranking rule for the pipeline's cache keys: every
// stage whose output depends on which model is cheaper lists it in its
// Code, so a change of the rule recomputes them.
const RankRule = "profileview cost order: tie rule, resolution 0.10, then MMACs, then name"

// CostOrder returns the columns of cost cheapest first under the project's
// tie rule, the one order in which models are ranked by cost:
//
//  1. sort by cost; consecutive models whose costs differ by at most the
//     relative resolution (cost[b] <= cost[a]·(1+res)) are linked, and
//     linked models form one cluster (single linkage on log cost: a gap
//     wider than the resolution separates clusters);
//  2. clusters come in cost order; within a cluster, models are ordered by
//     a fixed, hardware-independent key: fewer multiply-accumulates first
//     (mmacs; unknown, 0 or absent, last), then the name.
//
// With res 0 only equal costs tie. Costs that are not positive compare by
// value (no ratio to take). The order is a total order: nothing is left to
// the index or to sort stability.
func CostOrder(cost, mmacs []float64, names []string, res float64) []int {
	n := len(cost)
	byCost := make([]int, n)
	for j := range byCost {
		byCost[j] = j
	}
	slices.SortFunc(byCost, func(a, b int) int {
		if c := cmp.Compare(cost[a], cost[b]); c != 0 {
			return c
		}
		return cmp.Compare(at(names, a), at(names, b))
	})
	macs := func(j int) float64 {
		if m := at(mmacs, j); m > 0 {
			return m
		}
		return math.Inf(1)
	}
	out := make([]int, 0, n)
	for start := 0; start < n; {
		end := start + 1
		for end < n && linked(cost[byCost[end-1]], cost[byCost[end]], res) {
			end++
		}
		cluster := slices.Clone(byCost[start:end])
		slices.SortFunc(cluster, func(a, b int) int {
			if c := cmp.Compare(macs(a), macs(b)); c != 0 {
				return c
			}
			return cmp.Compare(at(names, a), at(names, b))
		})
		out = append(out, cluster...)
		start = end
	}
	return out
}

// linked reports whether b (>= a) lies within the resolution of a.
func linked(a, b, res float64) bool {
	if a == b {
		return true
	}
	if !(a > 0) || res <= 0 {
		return false
	}
	return b <= a*(1+res)
}

func at[T any](s []T, j int) T {
	var zero T
	if j < len(s) {
		return s[j]
	}
	return zero
}

// Order returns the view's models, as columns, cheapest first under the
// tie rule (CostOrder with the view's resolution).
func (v *View) Order() []int {
	return CostOrder(v.Cost, v.MMACs, v.Models, v.Resolution)
}

// Ranks returns each column's place in Order (0: the cheapest), as the
// cost vector of package selection: everything that decides which model
// is cheaper (targets, the oracle, Algorithm 1's ties) compares these, so
// it follows the tie rule, while times are still computed from Cost.
func (v *View) Ranks() []float64 {
	r := make([]float64, len(v.Cost))
	for k, j := range v.Order() {
		r[j] = float64(k)
	}
	return r
}

// Cheaper reports whether column a comes before column b in Order.
func (v *View) Cheaper(a, b int) bool {
	r := v.Ranks()
	return r[a] < r[b]
}

// ByCost returns cols sorted cheapest first, in Order.
func (v *View) ByCost(cols []int) []int {
	r := v.Ranks()
	out := slices.Clone(cols)
	slices.SortStableFunc(out, func(a, b int) int { return cmp.Compare(r[a], r[b]) })
	return out
}

// Cheapest returns the first of cols in Order (cols must not be empty).
func (v *View) Cheapest(cols []int) int {
	return v.ByCost(cols)[0]
}

// SelectModels runs Algorithm 1 (selection.SelectModels) on the view
// under its criterion, ranking models by the tie rule.
func (v *View) SelectModels(theta float64) (selection.Trace, error) {
	return selection.SelectModels(v.Correct(), v.Ranks(), theta)
}

// mmacsOf reads a spec's multiply-accumulates (0 when it gives none).
func mmacsOf(specJSON string) float64 {
	var s struct {
		MMACs float64 `json:"mmacs"`
	}
	if json.Unmarshal([]byte(specJSON), &s) != nil {
		return 0
	}
	return s.MMACs
}
