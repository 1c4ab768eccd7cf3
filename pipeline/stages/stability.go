package stages

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/selection"
	"github.com/modelpick/modelpick/store"
)

// StabilityIn is the input of the cost-stability check.
type StabilityIn struct {
	Store    pipeline.File `json:"store"`
	Datasets []string      `json:"datasets"`
	Theta    float64       `json:"theta_pp"`
	// Study are Table 1's and Fig 1d's models, ranked among themselves.
	Study []string `json:"study"`
	Draws int      `json:"draws"`
	Seed  uint64   `json:"seed"`
	// ImageMS, when set, are per-image latencies (data set, file, model)
	// of every model on some images: the targets they give are set beside
	// those of the mean latencies (a protocol difference, §3.1).
	ImageMS []ImageLatencyOf `json:"image_ms,omitempty"`
}

// ImageLatencyOf is a per-image latency with its data set.
type ImageLatencyOf struct {
	Dataset string `json:"dataset"`
	ImageLatency
}

// Scenarios of StabilityRow: how each draw moves the recorded latencies.
const (
	// ScenarioInterval draws each model's latency uniformly within its
	// recorded 95% interval.
	ScenarioInterval = "within the recorded interval"
	// ScenarioDrift multiplies each by a factor drawn log-uniformly in
	// [1/√(1+r), √(1+r)], r the tie rule's resolution, so that any two
	// models' latency ratio moves by up to r: the run-to-run drift of
	// a model's latency against the others' measured on this machine (a
	// re-measurement).
	ScenarioDrift = "within the run-to-run drift (ratios ±resolution)"
)

// StabilityRow counts, over the draws of one scenario on one data set and
// criterion, what changed against the recorded latencies, ranked by the
// tie rule ("rule") and by latency alone ("raw", resolution 0).
type StabilityRow struct {
	Dataset   string `json:"dataset"`
	Criterion string `json:"criterion"`
	Scenario  string `json:"scenario"`
	Draws     int    `json:"draws"`
	Images    int    `json:"images"`
	// Draws in which the cost order of the models changed.
	OrderChanged    int `json:"order_changed"`
	OrderRawChanged int `json:"order_raw_changed"`
	// Draws in which any image's target changed, and the most images.
	TargetsChanged       int `json:"targets_changed"`
	MaxTargetsChanged    int `json:"max_targets_changed"`
	TargetsRawChanged    int `json:"targets_raw_changed"`
	MaxTargetsRawChanged int `json:"max_targets_raw_changed"`
	// Draws in which Algorithm 1's chosen models (in order) changed, and
	// the model most often the optimum (Fig 5).
	ChosenChanged    int `json:"chosen_changed"`
	ChosenRawChanged int `json:"chosen_raw_changed"`
	TopChanged       int `json:"top_share_changed"`
	TopRawChanged    int `json:"top_share_raw_changed"`
	// Draws in which the study models' order (Table 1, Fig 1d) changed.
	StudyOrderChanged    int `json:"study_order_changed"`
	StudyOrderRawChanged int `json:"study_order_raw_changed"`
}

// PerImageTargets compares, on images with per-image latencies of every
// model, the targets of those latencies with the targets of the models'
// mean latencies (raw and by the tie rule).
type PerImageTargets struct {
	Dataset   string `json:"dataset"`
	Criterion string `json:"criterion"`
	Images    int    `json:"images"`
	// DifferRaw and DifferRule count images whose target from per-image
	// latency (the fastest correct model on that image) differs from the
	// mean latency's target, ranked by latency alone and by the tie rule.
	DifferRaw  int `json:"differ_from_mean_raw"`
	DifferRule int `json:"differ_from_mean_rule"`
	// OrderDiffers counts images on which the models' per-image latency
	// order differs from the mean latencies' order.
	OrderDiffers int `json:"order_differs"`
}

// StabilityOut is the cost-stability check's records.
type StabilityOut struct {
	Resolution float64           `json:"resolution"`
	Rows       []StabilityRow    `json:"rows"`
	PerImage   []PerImageTargets `json:"per_image"`
	// Models, Cost, CILow, CIHigh, MMACs and Rank are the recorded
	// latencies as ranked (one data set's view; costs do not depend on
	// the images).
	Models []string  `json:"models"`
	Cost   []float64 `json:"cost_ms"`
	CILow  []float64 `json:"ci_low_ms"`
	CIHigh []float64 `json:"ci_high_ms"`
	MMACs  []float64 `json:"mmacs"`
	Rank   []int     `json:"rank"`
	// Cluster numbers each model's cluster under the tie rule (0: the
	// cheapest cluster).
	Cluster []int `json:"cluster"`
}

// Stability moves the recorded latencies in seeded draws (within their
// intervals; within the run-to-run drift) and counts what the moves
// change in the cost order, the targets, Algorithm 1's choice, Fig 5's top
// model and the study's model order, with the tie rule and without it.
func Stability() pipeline.Stage[StabilityIn, StabilityOut] {
	return pipeline.Stage[StabilityIn, StabilityOut]{
		Name: "cost-stability", Version: "1", Code: []string{profileview.RankRule},
		Run: func(ctx context.Context, w *pipeline.Work, in StabilityIn) (StabilityOut, error) {
			st, err := store.Open(in.Store.Path)
			if err != nil {
				return StabilityOut{}, err
			}
			defer st.Close()
			return StabilityOf(ctx, st, in)
		},
	}
}

// StabilityOf is the stage's computation on an open store.
func StabilityOf(ctx context.Context, st *store.Store, in StabilityIn) (StabilityOut, error) {
	out := StabilityOut{Resolution: profileview.Resolution}
	rows, err := st.Costs(ctx)
	if err != nil {
		return out, err
	}
	for _, ds := range in.Datasets {
		for _, crit := range []profileview.Criterion{profileview.Top1, profileview.Top5} {
			v, err := profileview.Load(ctx, st, profileview.Options{Criterion: crit, Datasets: []string{ds}})
			if err != nil {
				return out, err
			}
			lo, hi := make([]float64, len(v.Models)), make([]float64, len(v.Models))
			for j, m := range v.Models {
				lo[j], hi[j] = v.Cost[j], v.Cost[j]
				for _, r := range rows {
					if r.Model == m && r.Threads == v.CostFrom.Threads {
						lo[j], hi[j] = r.CILowMS, r.CIHighMS
					}
				}
			}
			if out.Models == nil {
				out.Models, out.Cost, out.CILow, out.CIHigh, out.MMACs = v.Models, v.Cost, lo, hi, v.MMACs
				out.Rank, out.Cluster = ranksOf(v.Order()), clusters(v)
			}
			for si, sc := range []string{ScenarioInterval, ScenarioDrift} {
				r, err := drawRow(v, in, sc, lo, hi, uint64(si))
				if err != nil {
					return out, err
				}
				r.Dataset, r.Criterion = ds, string(crit)
				out.Rows = append(out.Rows, r)
			}
			if pi, ok, err := perImageTargets(v, in.ImageMS); err != nil {
				return out, err
			} else if ok {
				pi.Dataset, pi.Criterion = ds, string(crit)
				out.PerImage = append(out.PerImage, pi)
			}
		}
	}
	return out, nil
}

// outcome is what the checks compare between draws.
type outcome struct {
	order, study []int
	targets      []int
	chosen       []int
	top          int
}

func outcomeOf(v *profileview.View, in StabilityIn, res float64) (outcome, error) {
	q := *v
	q.Resolution = res
	var o outcome
	var err error
	o.order = q.Order()
	if o.targets, err = q.Targets(nil); err != nil {
		return o, err
	}
	tr, err := q.SelectModels(in.Theta)
	if err != nil {
		return o, err
	}
	o.chosen = tr.Chosen
	for j := range tr.OptimumShare {
		if tr.OptimumShare[j] > tr.OptimumShare[o.top] {
			o.top = j
		}
	}
	// The study's own view (Table 1, Fig 1d) ranks its models alone.
	var cost, mmacs []float64
	var names []string
	var cols []int
	for j, m := range v.Models {
		if slices.Contains(in.Study, m) {
			mm := 0.0
			if j < len(q.MMACs) {
				mm = q.MMACs[j]
			}
			cost, mmacs, names, cols = append(cost, q.Cost[j]), append(mmacs, mm), append(names, m), append(cols, j)
		}
	}
	for _, k := range profileview.CostOrder(cost, mmacs, names, res) {
		o.study = append(o.study, cols[k])
	}
	return o, nil
}

// drawRow runs one scenario's draws.
func drawRow(v *profileview.View, in StabilityIn, scenario string, lo, hi []float64, stream uint64) (StabilityRow, error) {
	row := StabilityRow{Scenario: scenario, Draws: in.Draws, Images: len(v.Items)}
	base, err := outcomeOf(v, in, v.Resolution)
	if err != nil {
		return row, err
	}
	baseRaw, err := outcomeOf(v, in, 0)
	if err != nil {
		return row, err
	}
	rng := rand.New(rand.NewPCG(in.Seed, stream))
	for range in.Draws {
		q := *v
		q.Cost = make([]float64, len(v.Cost))
		for j, c := range v.Cost {
			switch scenario {
			case ScenarioInterval:
				q.Cost[j] = lo[j] + rng.Float64()*(hi[j]-lo[j])
			default:
				r := math.Log1p(profileview.Resolution) / 2
				q.Cost[j] = c * math.Exp((2*rng.Float64()-1)*r)
			}
		}
		o, err := outcomeOf(&q, in, v.Resolution)
		if err != nil {
			return row, err
		}
		oRaw, err := outcomeOf(&q, in, 0)
		if err != nil {
			return row, err
		}
		count := func(changed *int, a, b []int) {
			if !slices.Equal(a, b) {
				*changed++
			}
		}
		count(&row.OrderChanged, o.order, base.order)
		count(&row.OrderRawChanged, oRaw.order, baseRaw.order)
		count(&row.ChosenChanged, o.chosen, base.chosen)
		count(&row.ChosenRawChanged, oRaw.chosen, baseRaw.chosen)
		count(&row.StudyOrderChanged, o.study, base.study)
		count(&row.StudyOrderRawChanged, oRaw.study, baseRaw.study)
		if o.top != base.top {
			row.TopChanged++
		}
		if oRaw.top != baseRaw.top {
			row.TopRawChanged++
		}
		if n := differ(o.targets, base.targets); n > 0 {
			row.TargetsChanged++
			row.MaxTargetsChanged = max(row.MaxTargetsChanged, n)
		}
		if n := differ(oRaw.targets, baseRaw.targets); n > 0 {
			row.TargetsRawChanged++
			row.MaxTargetsRawChanged = max(row.MaxTargetsRawChanged, n)
		}
	}
	return row, nil
}

func differ(a, b []int) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

func ranksOf(order []int) []int {
	r := make([]int, len(order))
	for k, j := range order {
		r[j] = k
	}
	return r
}

// clusters numbers each model's tie-rule cluster: consecutive models in
// Order belong to one cluster while their costs are linked.
func clusters(v *profileview.View) []int {
	out := make([]int, len(v.Models))
	byCost := make([]int, len(v.Models))
	for j := range byCost {
		byCost[j] = j
	}
	slices.SortStableFunc(byCost, func(a, b int) int {
		switch {
		case v.Cost[a] < v.Cost[b]:
			return -1
		case v.Cost[a] > v.Cost[b]:
			return 1
		}
		return 0
	})
	c := 0
	for k, j := range byCost {
		if k > 0 && v.Cost[j] > v.Cost[byCost[k-1]]*(1+v.Resolution) {
			c++
		}
		out[j] = c
	}
	return out
}

// perImageTargets sets the targets of per-image latencies beside those of
// the mean latencies, on the images of the view that have a latency of
// every model (false when none has).
func perImageTargets(v *profileview.View, lat []ImageLatencyOf) (PerImageTargets, bool, error) {
	var pi PerImageTargets
	ms := map[string]map[string]float64{}
	for _, l := range lat {
		if !slices.Contains(v.Datasets, l.Dataset) {
			continue
		}
		if ms[l.File] == nil {
			ms[l.File] = map[string]float64{}
		}
		ms[l.File][l.Model] = l.MeanMS
	}
	meanRule, err := v.Targets(nil)
	if err != nil {
		return pi, false, err
	}
	raw := *v
	raw.Resolution = 0
	meanRaw, err := raw.Targets(nil)
	if err != nil {
		return pi, false, err
	}
	meanOrder := raw.Order()
	correct := v.Correct()
	for i, it := range v.Items {
		byModel := ms[it.File]
		if len(byModel) != len(v.Models) {
			continue
		}
		cost := make([]float64, len(v.Models))
		for j, m := range v.Models {
			cost[j] = byModel[m]
		}
		t, err := selection.Targets([][]bool{correct[i]}, cost)
		if err != nil {
			return pi, false, fmt.Errorf("per-image targets of %s: %w", it.File, err)
		}
		pi.Images++
		if t[0] != meanRaw[i] {
			pi.DifferRaw++
		}
		if t[0] != meanRule[i] {
			pi.DifferRule++
		}
		if !slices.Equal(profileview.CostOrder(cost, nil, v.Models, 0), meanOrder) {
			pi.OrderDiffers++
		}
	}
	return pi, pi.Images > 0, nil
}
