package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/modelpick/modelpick/bootstrap"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/report"
)

// StabilityParams are the cost-stability check's: the chain, Table 1's
// models, Algorithm 1's theta, the draws and their seed, and how many
// images of the first set get per-image latencies of every model.
type StabilityParams struct {
	Chain    `yaml:",inline"`
	Study    []string `yaml:"study" spec:"required"`
	Theta    float64  `yaml:"theta" spec:"required"`
	Draws    int      `yaml:"draws" spec:"required"`
	Seed     uint64   `yaml:"seed" spec:"required"`
	PerImage int      `yaml:"per_image_images"`
}

func (p *StabilityParams) validate(c checker) error {
	switch {
	case p.Draws < 20:
		return c.errAt("draws", "%d, want at least 20", p.Draws)
	case p.PerImage < 0:
		return c.errAt("per_image_images", "%d, want >= 0", p.PerImage)
	}
	return firstErr(c.theta(p.Theta), p.Chain.validate(c))
}

// runCostStability checks that the verdicts do not follow measurement
// noise: every recorded latency moved within its interval (and, harder,
// within the run-to-run drift), in seeded draws, and what that changes in
// the cost order, the targets, Algorithm 1, Fig 5 and Table 1, with the
// tie rule and without; then every claim whose measure is a ratio or
// share of times (results/*/cost_exprs.json) decided again under the
// draws. It reads the other experiments' results, so it runs after them.
func runCostStability(ctx context.Context, e *Env, s *Spec, p *StabilityParams) (*Result, error) {
	c, err := e.profiled(ctx, s, p.Chain, false)
	if err != nil {
		return nil, err
	}
	in := stages.StabilityIn{Store: c.joined.Store, Datasets: c.datasetNames(), Theta: p.Theta, Study: p.Study,
		Draws: p.Draws, Seed: p.Seed}
	if p.PerImage > 0 {
		lat, err := e.perImageLatency(ctx, c, p.PerImage)
		if err != nil {
			return nil, err
		}
		for _, l := range lat.Latencies {
			in.ImageMS = append(in.ImageMS, stages.ImageLatencyOf{Dataset: c.sets[0].Name, ImageLatency: l})
		}
	}
	out, err := pipeline.Do(ctx, e.R, stages.Stability(), in)
	if err != nil {
		return nil, err
	}
	res := &Result{Records: map[string]any{}, Measures: map[string]any{"resolution": out.Resolution, "draws": p.Draws},
		Settings: map[string]any{"draws": p.Draws, "seed": p.Seed, "theta_pp": p.Theta, "study": p.Study, "per_image_images": p.PerImage}}

	var ranked []report.RankedCost
	for j, m := range out.Models {
		ranked = append(ranked, report.RankedCost{Model: m, MeanMS: out.Cost[j], CILowMS: out.CILow[j], CIHighMS: out.CIHigh[j],
			MMACs: out.MMACs[j], Cluster: out.Cluster[j], Rank: out.Rank[j]})
	}
	slices.SortFunc(ranked, func(a, b report.RankedCost) int { return a.Rank - b.Rank })
	res.Records["ranked_costs"] = ranked

	var rows []report.CostStability
	maxRule, maxRaw := map[string]int{}, map[string]int{}
	for _, r := range out.Rows {
		rows = append(rows, report.CostStability(r))
		maxRule[r.Scenario] = max(maxRule[r.Scenario], r.MaxTargetsChanged)
		maxRaw[r.Scenario] = max(maxRaw[r.Scenario], r.MaxTargetsRawChanged)
	}
	res.Records["cost_stability"] = rows
	res.Measures["max_target_changes_interval"] = maxRule[stages.ScenarioInterval]
	res.Measures["max_target_changes_interval_raw"] = maxRaw[stages.ScenarioInterval]
	res.Measures["max_target_changes_drift"] = maxRule[stages.ScenarioDrift]
	res.Measures["max_target_changes_drift_raw"] = maxRaw[stages.ScenarioDrift]
	res.Tables = append(res.Tables, "ranked-costs", "cost-stability")

	if len(out.PerImage) > 0 {
		var pi []report.PerImageTarget
		for _, r := range out.PerImage {
			pi = append(pi, report.PerImageTarget(r))
			res.Measures["per_image_targets_differ_raw_"+r.Dataset+"_"+r.Criterion] = r.DifferRaw
			res.Measures["per_image_targets_differ_rule_"+r.Dataset+"_"+r.Criterion] = r.DifferRule
		}
		res.Records["per_image_targets"] = pi
		res.Tables = append(res.Tables, "per-image-targets")
	}
	if dec := e.decodeShares(); len(dec) > 0 {
		res.Records["decode_share"] = dec
		res.Tables = append(res.Tables, "decode-share")
		// Per data set, pooled over its feature sets (by images); the
		// interval spans the sets' intervals.
		type pool struct{ d, x, lo, hi float64 }
		by := map[string]*pool{}
		for _, r := range dec {
			p := by[r.Dataset]
			if p == nil {
				p = &pool{lo: r.LoPct, hi: r.HiPct}
				by[r.Dataset] = p
			}
			n := float64(r.Images)
			p.d, p.x, p.lo, p.hi = p.d+n*r.DecodeMS, p.x+n*r.ExtractMS, min(p.lo, r.LoPct), max(p.hi, r.HiPct)
		}
		for ds, p := range by {
			v := 100 * p.d / p.x
			res.Measures["decode_share_pct_"+ds] = report.Interval{Value: v, Lo: min(p.lo, v), Hi: max(p.hi, v),
				Method: "share of the recorded feature-extraction time that is the decode alone, pooled over the premodel's feature sets; " +
					"interval: the feature sets' percentile bootstrap intervals over the images (2000 resamples, seed 1), spanned"}
		}
	}

	cs, flips, err := e.claimStability(s, c, p)
	if err != nil {
		return nil, err
	}
	if len(cs) > 0 {
		res.Records["claim_stability"] = cs
		res.Tables = append(res.Tables, "claim-stability")
	}
	res.Measures["claims_rechecked"] = len(cs)
	res.Measures["claim_flips"] = flips
	res.Notes = append(res.Notes,
		fmt.Sprintf("Tie rule: latencies within %.0f%% of each other (single linkage on log latency) form a cluster, ordered by MMACs "+
			"then name (profileview.CostOrder). \"rule\" ranks by it, \"raw\" by latency alone.", 100*out.Resolution),
		fmt.Sprintf("%d seeded draws (seed %d) per scenario: each model's latency drawn uniformly within its recorded 95%% interval; "+
			"or multiplied by a factor drawn log-uniformly so that any two models' latency ratio moves by up to %.0f%%, the run-to-run drift "+
			"of a model against the others measured on this machine.", p.Draws, p.Seed, 100*out.Resolution),
		"Claims rechecked: every claim whose measure is a ratio or share of times (its cost expression, results/*/cost_exprs.json), "+
			"with every cost it uses drawn within its interval; its interval moves with its value, and its status is decided again (report.Decide).")
	return res, nil
}

// perImageLatency times every model on the first n images of the first
// set (a device quantity: recorded, or measured by make measure).
func (e *Env) perImageLatency(ctx context.Context, c *chain, n int) (stages.ImageLatencyOut, error) {
	set, err := c.sets[0].Load()
	if err != nil {
		return stages.ImageLatencyOut{}, err
	}
	var files []string
	for _, i := range c.sets[0].Items(set) {
		if len(files) == n {
			break
		}
		files = append(files, set.Items[i].File)
	}
	timing := e.timing()
	if timing.MaxDuration == 0 || timing.MaxDuration > 3*time.Second {
		timing.MaxDuration = 3 * time.Second
	}
	return e.imageLatency(ctx, stages.ImageLatencyIn{Set: c.sets[0], Files: files, Models: c.models, Runtime: c.rt,
		Timing: timing, Platform: stages.PlatformID()})
}

// decodeShares are the decode's share of the recorded feature overheads
// (none without a profile).
func (e *Env) decodeShares() []report.DecodeShare {
	p := e.Opt.Device
	if p == nil {
		return nil
	}
	var out []report.DecodeShare
	for _, f := range p.FeatureImages {
		var keys []string
		for k := range f.MS {
			if _, ok := f.DecodeMS[k]; ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			continue
		}
		dec, all := make([]float64, len(keys)), make([]float64, len(keys))
		var d, x float64
		for i, k := range keys {
			dec[i], all[i] = f.DecodeMS[k], f.MS[k]
			d, x = d+dec[i], x+all[i]
		}
		iv, err := bootstrap.RatioOfSums(dec, all, stages.BootResamples, stages.BootSeed, stages.BootConfidence)
		if err != nil {
			continue
		}
		n := float64(len(keys))
		out = append(out, report.DecodeShare{Dataset: f.Dataset, Features: strings.Join(f.Names, ","), Images: len(keys),
			ExtractMS: x / n, DecodeMS: d / n, SharePct: 100 * iv.Estimate, LoPct: 100 * iv.Low, HiPct: 100 * iv.High})
	}
	return out
}

// costValue is a cost with its interval.
type costValue struct{ v, lo, hi float64 }

// claimStability decides again, under every draw, each claim whose
// measure has a cost expression; it returns the records and the number
// of reproduced <-> deviates flips.
func (e *Env) claimStability(s *Spec, c *chain, p *StabilityParams) ([]report.ClaimStability, int, error) {
	claims, err := report.ReadClaims(filepath.Join(filepath.Dir(s.Path), ClaimsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil // a folder of specs without claims
	}
	if err != nil {
		return nil, 0, err
	}
	costs := map[string]costValue{}
	for _, r := range c.cost.Costs {
		costs[report.ModelKey(r.Model)] = costValue{r.MeanMS, r.CILowMS, r.CIHighMS}
	}
	exprs := map[string]map[string]report.CostExpr{} // artifact -> measure -> expr
	for _, cl := range claims {
		if cl.NotComparable != "" || exprs[cl.Artifact] != nil {
			continue
		}
		var f report.CostExprs
		b, err := os.ReadFile(filepath.Join(e.Opt.Results, cl.Artifact, report.CostExprsFile))
		if err != nil {
			exprs[cl.Artifact] = map[string]report.CostExpr{}
			continue
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", filepath.Join(cl.Artifact, report.CostExprsFile), err)
		}
		exprs[cl.Artifact] = f.Exprs
		for k, iv := range f.Terms {
			costs[k] = costValue{iv.Value, iv.Lo, iv.Hi}
		}
	}
	keys := make([]string, 0, len(costs))
	for k := range costs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	draws := make([]map[string]float64, p.Draws)
	rng := rand.New(rand.NewPCG(p.Seed, 0x636c61696d73)) // stream "claims"
	for d := range draws {
		draws[d] = map[string]float64{}
		for _, k := range keys {
			cv := costs[k]
			draws[d][k] = cv.lo + rng.Float64()*(cv.hi-cv.lo)
		}
	}
	base := func(k string) (float64, bool) { cv, ok := costs[k]; return cv.v, ok }
	var out []report.ClaimStability
	flips := 0
	for _, r := range report.Evaluate(claims, e.Opt.Results) {
		ex, ok := exprs[r.Artifact][r.Measure]
		if !ok || r.Ours == nil {
			continue
		}
		bandLo, bandHi, numeric := report.Band(r.Claim)
		v0, err := ex.Eval(base)
		if err != nil || !numeric {
			continue
		}
		x, _ := r.Ours.Value.(float64)
		lo, hi := x, x
		if r.Ours.Interval != nil {
			lo, hi = r.Ours.Interval.Lo, r.Ours.Interval.Hi
		}
		cs := report.ClaimStability{ID: r.ID, Artifact: r.Artifact, Measure: r.Measure, Status: r.Status, Value: x,
			Min: x, Max: x, Draws: p.Draws}
		seen := map[string]int{}
		for _, d := range draws {
			v, err := ex.Eval(func(k string) (float64, bool) { x, ok := d[k]; return x, ok })
			if err != nil {
				return nil, 0, fmt.Errorf("claim %s: %w", r.ID, err)
			}
			delta := v - v0
			st := report.Decide(bandLo, bandHi, lo+delta, hi+delta)
			seen[st]++
			cs.Min, cs.Max = min(cs.Min, x+delta), max(cs.Max, x+delta)
			if (r.Status == report.Reproduced && st == report.Deviates) || (r.Status == report.Deviates && st == report.Reproduced) {
				cs.Flips++
			}
		}
		var parts []string
		for _, st := range report.Statuses {
			if seen[st] > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", st, seen[st]))
			}
		}
		cs.Seen = strings.Join(parts, ", ")
		flips += cs.Flips
		out = append(out, cs)
	}
	return out, flips, nil
}
