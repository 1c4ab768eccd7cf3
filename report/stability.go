package report

import (
	"fmt"
	"strconv"
	"strings"
)

// RankedCost is one model's recorded latency as the tie rule ranks it.
type RankedCost struct {
	Model    string  `json:"model"`
	MeanMS   float64 `json:"mean_ms"`
	CILowMS  float64 `json:"ci_low_ms"`
	CIHighMS float64 `json:"ci_high_ms"`
	MMACs    float64 `json:"mmacs"`
	Cluster  int     `json:"cluster"`
	Rank     int     `json:"rank"`
}

// RankedCostTable lists the models cheapest first under the tie rule.
func RankedCostTable(rows []RankedCost) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{strconv.Itoa(r.Rank + 1), r.Model, f2(r.MeanMS), fmt.Sprintf("[%s, %s]", f2(r.CILowMS), f2(r.CIHighMS)),
			f1(r.MMACs), strconv.Itoa(r.Cluster + 1)})
	}
	return Markdown([]string{"rank", "model", "mean latency (ms)", "95% CI (ms)", "MMACs", "cluster (ties within the resolution)"}, out)
}

// CostStability is what one scenario's draws changed (stages.StabilityRow).
type CostStability struct {
	Dataset              string `json:"dataset"`
	Criterion            string `json:"criterion"`
	Scenario             string `json:"scenario"`
	Draws                int    `json:"draws"`
	Images               int    `json:"images"`
	OrderChanged         int    `json:"order_changed"`
	OrderRawChanged      int    `json:"order_raw_changed"`
	TargetsChanged       int    `json:"targets_changed"`
	MaxTargetsChanged    int    `json:"max_targets_changed"`
	TargetsRawChanged    int    `json:"targets_raw_changed"`
	MaxTargetsRawChanged int    `json:"max_targets_raw_changed"`
	ChosenChanged        int    `json:"chosen_changed"`
	ChosenRawChanged     int    `json:"chosen_raw_changed"`
	TopChanged           int    `json:"top_share_changed"`
	TopRawChanged        int    `json:"top_share_raw_changed"`
	StudyOrderChanged    int    `json:"study_order_changed"`
	StudyOrderRawChanged int    `json:"study_order_raw_changed"`
}

// CostStabilityTable shows, per scenario, how many draws changed each
// result with the tie rule and by latency alone.
func CostStabilityTable(rows []CostStability) string {
	pair := func(rule, raw int) string { return fmt.Sprintf("%d / %d", rule, raw) }
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{r.Dataset + ", " + r.Criterion, r.Scenario, strconv.Itoa(r.Draws),
			pair(r.OrderChanged, r.OrderRawChanged),
			fmt.Sprintf("%d (≤ %d images) / %d (≤ %d images)", r.TargetsChanged, r.MaxTargetsChanged, r.TargetsRawChanged, r.MaxTargetsRawChanged),
			pair(r.ChosenChanged, r.ChosenRawChanged), pair(r.TopChanged, r.TopRawChanged), pair(r.StudyOrderChanged, r.StudyOrderRawChanged)})
	}
	return Markdown([]string{"image set, criterion", "latencies moved", "draws", "cost order changed (rule / raw)",
		"targets changed: draws (rule / raw)", "Algorithm 1's models changed", "Fig 5's top model changed", "Table 1's model order changed"}, out)
}

// ClaimStability is one latency-derived claim decided again under every
// draw of its costs within their intervals.
type ClaimStability struct {
	ID       string  `json:"id"`
	Artifact string  `json:"artifact"`
	Measure  string  `json:"measure"`
	Status   string  `json:"status"`
	Value    float64 `json:"value"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	Draws    int     `json:"draws"`
	// Seen counts the draws by status; Flips those that turned reproduced
	// into deviates or back.
	Seen  string `json:"seen"`
	Flips int    `json:"flips"`
}

// ClaimStabilityTable lists the recomputed claims.
func ClaimStabilityTable(rows []ClaimStability) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{r.Artifact, r.Measure, f2(r.Value), fmt.Sprintf("[%s, %s]", f2(r.Min), f2(r.Max)),
			r.Status, r.Seen, strconv.Itoa(r.Flips)})
	}
	return Markdown([]string{"artifact", "measure", "recorded", "range over the draws", "status", "statuses over the draws",
		"reproduced ↔ deviates"}, out)
}

// PerImageTarget compares per-image-latency targets with mean-latency ones
// (stages.PerImageTargets).
type PerImageTarget struct {
	Dataset      string `json:"dataset"`
	Criterion    string `json:"criterion"`
	Images       int    `json:"images"`
	DifferRaw    int    `json:"differ_from_mean_raw"`
	DifferRule   int    `json:"differ_from_mean_rule"`
	OrderDiffers int    `json:"order_differs"`
}

// PerImageTargetTable is the per-image timing protocol's effect.
func PerImageTargetTable(rows []PerImageTarget) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{r.Dataset + ", " + r.Criterion, strconv.Itoa(r.Images), strconv.Itoa(r.OrderDiffers),
			strconv.Itoa(r.DifferRaw), strconv.Itoa(r.DifferRule)})
	}
	return Markdown([]string{"image set, criterion", "images timed per model", "images whose latency order differs from the means'",
		"targets that differ: from mean latency", "from mean latency, tie rule"}, out)
}

// DecodeShare is the share of the premodel's feature overhead that is its
// JPEG decode, on one data set and feature set.
type DecodeShare struct {
	Dataset   string  `json:"dataset"`
	Features  string  `json:"features"`
	Images    int     `json:"images"`
	ExtractMS float64 `json:"extract_mean_ms"`
	DecodeMS  float64 `json:"decode_mean_ms"`
	SharePct  float64 `json:"decode_share_pct"`
	LoPct     float64 `json:"decode_share_lo_pct"`
	HiPct     float64 `json:"decode_share_hi_pct"`
}

// DecodeShareTable lists the decode's shares.
func DecodeShareTable(rows []DecodeShare) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{r.Dataset, strings.ReplaceAll(r.Features, ",", ", "), strconv.Itoa(r.Images), f2(r.ExtractMS), f2(r.DecodeMS),
			fmt.Sprintf("%s [%s, %s]", f1(r.SharePct), f1(r.LoPct), f1(r.HiPct))})
	}
	return Markdown([]string{"image set", "features", "images", "extraction ms (decode included)", "decode ms", "decode share %"}, out)
}
