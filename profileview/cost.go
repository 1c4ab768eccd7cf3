package profileview

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/store"
)

// Published is per-model latency from a source other than this device's
// cost profile (published figures), with the source named.
type Published struct {
	Source string             `json:"source"`
	MS     map[string]float64 `json:"ms"`
}

// CostKind says what a view's costs are.
type CostKind string

// The kinds of cost.
const (
	CostMeasured  CostKind = "measured"  // mean latency from a costs table
	CostPublished CostKind = "published" // latency from a named source
	CostMMACs     CostKind = "mmacs"     // the specs' multiply-accumulates
)

// CostSource is where a view's costs came from.
type CostSource struct {
	Kind CostKind `json:"kind"`
	// Threads is the thread count of measured latencies.
	Threads int `json:"threads,omitempty"`
	// Source names the published figures.
	Source string `json:"source,omitempty"`
}

// String describes the source for people and records.
func (c CostSource) String() string {
	switch c.Kind {
	case CostPublished:
		return "published latency (ms): " + c.Source
	case CostMMACs:
		return "spec MMACs (no latency measured for every model)"
	}
	return fmt.Sprintf("measured mean latency (ms) on this device at %d thread(s)", c.Threads)
}

// Unit is the costs' unit: "ms", or "MMACs".
func (c CostSource) Unit() string {
	if c.Kind == CostMMACs {
		return "MMACs"
	}
	return "ms"
}

// loadCost sets one cost per model: published, measured at one thread
// count, or (when allowed) the specs' MMACs.
func (v *View) loadCost(ctx context.Context, st *store.Store, o Options) error {
	v.Cost = make([]float64, len(v.Models))
	if p := o.Published; p != nil {
		for j, m := range v.Models {
			ms, ok := p.MS[m]
			if !ok || !(ms > 0) {
				return fmt.Errorf("latency source %q has no positive latency for model %s", p.Source, m)
			}
			v.Cost[j] = ms
		}
		v.CostFrom = CostSource{Kind: CostPublished, Source: p.Source}
		v.CostLow, v.CostHigh = slices.Clone(v.Cost), slices.Clone(v.Cost)
		return nil
	}
	cst := st
	if o.CostStore != nil {
		cst = o.CostStore
	}
	rows, err := cst.Costs(ctx)
	if err != nil {
		return fmt.Errorf("load profile: %w", err)
	}
	full, missing := coverage(rows, v.Models)
	fix := fmt.Sprintf("run `modelpick profile -models SPEC -data DIR -store %s -correctness=false -cost` on the device", cst.Path())
	th := 0
	switch {
	case o.Threads > 0 && !slices.Contains(full, o.Threads):
		return fmt.Errorf("load profile: store %s has no latency of every model at %d thread(s) (it has %v): %s with -threads %d",
			cst.Path(), o.Threads, full, fix, o.Threads)
	case o.Threads > 0:
		th = o.Threads
	default:
		var ok bool
		if th, _, ok = store.CommonThreads(rows, v.Models); !ok {
			if o.MMACs {
				return v.loadMMACs(ctx, st)
			}
			if len(missing) > 0 {
				return fmt.Errorf("load profile: store %s has no measured latency for %s (the optimum model is the fastest correct one, "+
					"so targets need costs): %s", cst.Path(), strings.Join(missing, ", "), fix)
			}
			return fmt.Errorf("load profile: store %s has no thread count at which every model has a measured latency: %s with one -threads value",
				cst.Path(), fix)
		}
	}
	by := map[string]store.CostRow{}
	for _, c := range rows {
		if c.Threads == th {
			by[c.Model] = c
		}
	}
	v.CostP95 = make([]float64, len(v.Models))
	v.CostLow, v.CostHigh = make([]float64, len(v.Models)), make([]float64, len(v.Models))
	for j, name := range v.Models {
		v.Cost[j], v.CostP95[j] = by[name].MeanMS, by[name].P95MS
		v.CostLow[j], v.CostHigh[j] = min(by[name].CILowMS, by[name].MeanMS), max(by[name].CIHighMS, by[name].MeanMS)
	}
	v.CostFrom = CostSource{Kind: CostMeasured, Threads: th}
	v.Resolution = Resolution
	v.EnergyStatus = energyStatus(rows)
	return nil
}

// energyStatus summarises the costs' energy: measured, or why not.
func energyStatus(rows []store.CostRow) string {
	var status []string
	for _, c := range rows {
		if c.EnergyJ == nil && !slices.Contains(status, c.EnergyStatus) {
			status = append(status, c.EnergyStatus)
		}
	}
	if len(status) == 0 {
		return "measured"
	}
	return strings.Join(status, "; ")
}

// coverage returns the thread counts at which every model has a cost row,
// ascending, and the models with no cost row at all.
func coverage(rows []store.CostRow, models []string) (full []int, missing []string) {
	by := map[int]map[string]bool{}
	seen := map[string]bool{}
	for _, c := range rows {
		if by[c.Threads] == nil {
			by[c.Threads] = map[string]bool{}
		}
		by[c.Threads][c.Model], seen[c.Model] = true, true
	}
	for th, have := range by {
		if !slices.ContainsFunc(models, func(m string) bool { return !have[m] }) {
			full = append(full, th)
		}
	}
	slices.Sort(full)
	for _, m := range models {
		if !seen[m] {
			missing = append(missing, m)
		}
	}
	return full, missing
}

// loadMMACs takes each model's cost from the MMACs of its registered spec.
func (v *View) loadMMACs(ctx context.Context, st *store.Store) error {
	specs, err := st.Models(ctx)
	if err != nil {
		return fmt.Errorf("load profile: %w", err)
	}
	mmacs := map[string]float64{}
	for _, m := range specs {
		mmacs[m.Name] = mmacsOf(m.SpecJSON)
	}
	for j, name := range v.Models {
		if !(mmacs[name] > 0) {
			return fmt.Errorf("load profile: store %s has no latency for every model and model %s has no mmacs in its spec: "+
				"run modelpick profile with -cost on the device, give the spec an mmacs, or name a latency source", st.Path(), name)
		}
		v.Cost[j] = mmacs[name]
	}
	v.CostFrom = CostSource{Kind: CostMMACs}
	v.CostLow, v.CostHigh = slices.Clone(v.Cost), slices.Clone(v.Cost)
	return nil
}
