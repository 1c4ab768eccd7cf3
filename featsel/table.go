package featsel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/modelpick/modelpick/selection"
	"github.com/modelpick/modelpick/store"
)

// Table is the data selection works on: raw (unscaled) feature values and
// the optimum model of each image.
type Table struct {
	Names []string    // feature names, one per column, in Table 2 order
	X     [][]float64 // [image][feature]
	Y     []int       // optimum model index, or selection.None
	// Classes is the number of candidate models (targets are 0..Classes-1
	// or selection.None).
	Classes int
}

// Check reports whether t is a usable table.
func (t Table) Check() error {
	if len(t.X) == 0 {
		return errors.New("featsel: table has no rows")
	}
	if len(t.Y) != len(t.X) {
		return fmt.Errorf("featsel: %d rows but %d targets", len(t.X), len(t.Y))
	}
	for i, row := range t.X {
		if len(row) != len(t.Names) {
			return fmt.Errorf("featsel: row %d has %d values for %d names", i, len(row), len(t.Names))
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("featsel: row %d: %s is %v", i, t.Names[j], v)
			}
		}
		if y := t.Y[i]; y < selection.None || y >= t.Classes {
			return fmt.Errorf("featsel: row %d has target %d, want %d..%d", i, y, selection.None, t.Classes-1)
		}
	}
	return nil
}

// columns returns the indices of names in t, in the order given.
func (t Table) columns(names []string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		j := slices.Index(t.Names, n)
		if j < 0 {
			return nil, fmt.Errorf("featsel: no feature %q in the table", n)
		}
		out[i] = j
	}
	return out, nil
}

// Criterion says when a model is correct on an image.
type Criterion string

// The paper's two criteria.
const (
	Top1 Criterion = "top1"
	Top5 Criterion = "top5"
)

// LoadOptions select what LoadTable reads.
type LoadOptions struct {
	Criterion Criterion
	// Datasets to use; empty means every data set that has predictions.
	Datasets []string
	// ConfigKey is the feature configuration (features.Extractor.ConfigKey)
	// whose stored values are read.
	ConfigKey string
	// Names are the features to read, in the order of the table's columns.
	Names []string
}

// LoadInfo describes how a table was built from a store.
type LoadInfo struct {
	Datasets []string `json:"datasets"`
	Models   []string `json:"models"` // class i is Models[i]
	// Cost is the per-model cost the targets were computed with, and
	// CostSource says where it came from.
	Cost       []float64 `json:"cost"`
	CostSource string    `json:"cost_source"`
	Images     int       `json:"images"` // rows of the table
	// Excluded counts images left out, by reason.
	Excluded map[string]int `json:"excluded"`
	// TargetCounts is the number of images whose optimum model is each of
	// Models, and "none".
	TargetCounts map[string]int `json:"target_counts"`
}

type imageKey struct{ dataset, file string }

// LoadTable builds the table of the stored images that have every model's
// prediction and every named feature, with targets under o.Criterion. The
// cost of a model is its mean latency in the store's costs table (all
// models at one thread count: 1 when present, else the smallest); a store
// without costs for every model falls back to the MMACs of the models'
// specs, and LoadInfo.CostSource says which was used.
func LoadTable(ctx context.Context, st *store.Store, o LoadOptions) (Table, LoadInfo, error) {
	info := LoadInfo{Excluded: map[string]int{}, TargetCounts: map[string]int{}}
	if o.Criterion != Top1 && o.Criterion != Top5 {
		return Table{}, info, fmt.Errorf("featsel: criterion %q, want top1 or top5", o.Criterion)
	}
	if len(o.Names) == 0 || o.ConfigKey == "" {
		return Table{}, info, errors.New("featsel: need feature names and a config key")
	}
	preds, err := st.Predictions(ctx, "")
	if err != nil {
		return Table{}, info, fmt.Errorf("featsel: %w", err)
	}
	want := map[string]bool{}
	for _, d := range o.Datasets {
		want[d] = true
	}
	correct := map[imageKey]map[string]bool{}
	modelSet := map[string]bool{}
	dsSet := map[string]bool{}
	for _, p := range preds {
		if len(want) > 0 && !want[p.Dataset] {
			continue
		}
		k := imageKey{p.Dataset, p.File}
		if correct[k] == nil {
			correct[k] = map[string]bool{}
		}
		ok := p.Correct1
		if o.Criterion == Top5 {
			ok = p.Correct5
		}
		correct[k][p.Model] = ok
		modelSet[p.Model] = true
		dsSet[p.Dataset] = true
	}
	for d := range want {
		if !dsSet[d] {
			return Table{}, info, fmt.Errorf("featsel: store %s has no predictions for data set %q", st.Path(), d)
		}
	}
	if len(correct) == 0 {
		return Table{}, info, fmt.Errorf("featsel: store %s has no predictions: run modelpick profile first", st.Path())
	}
	info.Models = sortedKeys(modelSet)
	info.Datasets = sortedKeys(dsSet)
	info.Cost, info.CostSource, err = modelCosts(ctx, st, info.Models)
	if err != nil {
		return Table{}, info, err
	}

	images, err := st.Images(ctx, "")
	if err != nil {
		return Table{}, info, fmt.Errorf("featsel: %w", err)
	}
	rows, err := st.Features(ctx, o.ConfigKey)
	if err != nil {
		return Table{}, info, fmt.Errorf("featsel: %w", err)
	}
	col := map[string]int{}
	for j, n := range o.Names {
		col[n] = j
	}
	vals := map[string][]float64{}
	have := map[string]int{}
	for _, r := range rows {
		j, ok := col[r.Name]
		if !ok {
			continue
		}
		v := vals[r.SHA256]
		if v == nil {
			v = make([]float64, len(o.Names))
			vals[r.SHA256] = v
		}
		v[j] = r.Value
		have[r.SHA256]++
	}
	ferrs, err := st.FeatureErrors(ctx, o.ConfigKey)
	if err != nil {
		return Table{}, info, fmt.Errorf("featsel: %w", err)
	}
	failed := map[string]bool{}
	for _, e := range ferrs {
		failed[e.SHA256] = true
	}

	t := Table{Names: slices.Clone(o.Names), Classes: len(info.Models)}
	var profile [][]bool
	for _, im := range images {
		c, ok := correct[imageKey{im.Dataset, im.File}]
		switch {
		case !ok:
			continue // another data set, or not profiled
		case im.Error != "":
			info.Excluded["unreadable when profiled"]++
		case len(c) != len(info.Models):
			info.Excluded["missing a model's prediction"]++
		case failed[im.SHA256]:
			info.Excluded["feature error"]++
		case have[im.SHA256] != len(o.Names):
			info.Excluded["features not extracted"]++
		case !allFinite(vals[im.SHA256]):
			info.Excluded["non-finite feature"]++
		default:
			row := make([]bool, len(info.Models))
			for m, name := range info.Models {
				row[m] = c[name]
			}
			profile = append(profile, row)
			t.X = append(t.X, vals[im.SHA256])
		}
	}
	if len(t.X) == 0 {
		return Table{}, info, fmt.Errorf("featsel: no image of %s has both predictions and features under %s (excluded: %v); "+
			"run modelpick features on the profiled data set", strings.Join(info.Datasets, ", "), o.ConfigKey, info.Excluded)
	}
	t.Y, err = selection.Targets(profile, info.Cost)
	if err != nil {
		return Table{}, info, fmt.Errorf("featsel: %w", err)
	}
	info.Images = len(t.X)
	for _, y := range t.Y {
		info.TargetCounts[className(info.Models, y)]++
	}
	return t, info, nil
}

// className names a target.
func className(models []string, y int) string {
	if y == selection.None {
		return "none"
	}
	return models[y]
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// modelCosts returns one cost per model and where it came from.
func modelCosts(ctx context.Context, st *store.Store, models []string) ([]float64, string, error) {
	costs, err := st.Costs(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("featsel: %w", err)
	}
	if th, by, ok := store.CommonThreads(costs, models); ok {
		out := make([]float64, len(models))
		for i, name := range models {
			out[i] = by[name].MeanMS
		}
		return out, fmt.Sprintf("costs table: mean latency (ms) at %d thread(s)", th), nil
	}
	specs, err := st.Models(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("featsel: %w", err)
	}
	mmacs := map[string]float64{}
	for _, m := range specs {
		var s struct {
			MMACs float64 `json:"mmacs"`
		}
		if err := json.Unmarshal([]byte(m.SpecJSON), &s); err != nil {
			return nil, "", fmt.Errorf("featsel: spec of %s: %w", m.Name, err)
		}
		mmacs[m.Name] = s.MMACs
	}
	out := make([]float64, len(models))
	for i, name := range models {
		if mmacs[name] <= 0 {
			return nil, "", fmt.Errorf("featsel: store %s has no latency for every model and model %s has no mmacs in its spec: "+
				"run modelpick profile with -cost, or give the spec an mmacs", st.Path(), name)
		}
		out[i] = mmacs[name]
	}
	return out, "spec mmacs (the store has no latency for every model at one thread count)", nil
}
