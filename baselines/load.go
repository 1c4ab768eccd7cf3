package baselines

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/modelpick/modelpick/store"
)

// LoadOptions select what LoadProfile reads.
type LoadOptions struct {
	// Criterion is "top1" or "top5".
	Criterion string
	// Datasets to read; empty means every data set with predictions.
	Datasets []string
	// Costs gives each model's cost in ms. Nil means the store's own costs
	// table (see CostsOf); a store profiled with -cost=false takes them
	// from the store of the device the costs were measured on.
	Costs map[string]float64
}

// LoadProfile reads the profile of every stored image that has a
// prediction of every model (images that could not be read when profiled
// are left out). Models are sorted by name; images by data set and file.
func LoadProfile(ctx context.Context, st *store.Store, o LoadOptions) (Profile, error) {
	if o.Criterion != "top1" && o.Criterion != "top5" {
		return Profile{}, fmt.Errorf("baselines: criterion %q, want top1 or top5", o.Criterion)
	}
	preds, err := st.Predictions(ctx, "")
	if err != nil {
		return Profile{}, fmt.Errorf("baselines: %w", err)
	}
	want := map[string]bool{}
	for _, d := range o.Datasets {
		want[d] = true
	}
	type key struct{ dataset, file string }
	type answer struct {
		hit   bool
		score float64
	}
	byImage := map[key]map[string]answer{}
	models := map[string]bool{}
	seenDS := map[string]bool{}
	for _, p := range preds {
		if len(want) > 0 && !want[p.Dataset] {
			continue
		}
		k := key{p.Dataset, p.File}
		if byImage[k] == nil {
			byImage[k] = map[string]answer{}
		}
		a := answer{hit: p.Correct1}
		if o.Criterion == "top5" {
			a.hit = p.Correct5
		}
		if len(p.Top5Score) > 0 {
			a.score = p.Top5Score[0]
		}
		byImage[k][p.Model] = a
		models[p.Model] = true
		seenDS[p.Dataset] = true
	}
	for d := range want {
		if !seenDS[d] {
			return Profile{}, fmt.Errorf("baselines: store %s has no predictions for data set %q", st.Path(), d)
		}
	}
	if len(byImage) == 0 {
		return Profile{}, fmt.Errorf("baselines: store %s has no predictions: run modelpick profile first", st.Path())
	}
	p := Profile{Models: sortedKeys(models)}
	costs := o.Costs
	if costs == nil {
		if costs, _, err = CostsOf(ctx, st); err != nil {
			return Profile{}, err
		}
	}
	for _, m := range p.Models {
		c, ok := costs[m]
		if !ok {
			return Profile{}, fmt.Errorf("baselines: no cost for model %s (store %s): profile with -cost on the device, "+
				"or take the costs from the store that has them", m, st.Path())
		}
		p.Cost = append(p.Cost, c)
	}
	images, err := st.Images(ctx, "")
	if err != nil {
		return Profile{}, fmt.Errorf("baselines: %w", err)
	}
	for _, im := range images {
		ans, ok := byImage[key{im.Dataset, im.File}]
		if !ok || im.Error != "" || len(ans) != len(p.Models) {
			continue
		}
		hit := make([]bool, len(p.Models))
		score := make([]float64, len(p.Models))
		for j, m := range p.Models {
			hit[j], score[j] = ans[m].hit, ans[m].score
		}
		p.Images = append(p.Images, Image{Dataset: im.Dataset, File: im.File, SHA256: im.SHA256})
		p.Hit = append(p.Hit, hit)
		p.Score = append(p.Score, score)
	}
	if err := p.Check(); err != nil {
		return Profile{}, fmt.Errorf("store %s: %w", st.Path(), err)
	}
	return p, nil
}

// CostsOf returns each model's mean latency (ms) from a store's costs
// table, at one thread count for all models: 1 when every model has it,
// else the smallest count that every model has; and a note saying which.
func CostsOf(ctx context.Context, st *store.Store) (map[string]float64, string, error) {
	rows, err := st.Costs(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("baselines: %w", err)
	}
	ms, err := st.Models(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("baselines: %w", err)
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	th, by, ok := store.CommonThreads(rows, names)
	if !ok {
		return nil, "", fmt.Errorf("baselines: store %s has no latency for every model at one thread count: "+
			"run modelpick profile -cost on the device, or pass the store that has the costs", st.Path())
	}
	out := make(map[string]float64, len(by))
	for name, c := range by {
		out[name] = c.MeanMS
	}
	return out, fmt.Sprintf("%s: mean latency at %d thread(s)", st.Path(), th), nil
}

// Features returns, for each image of p, the stored values of the named
// features under a configuration key (features.Extractor.ConfigKey, or an
// embedding's key), in the order of names; ok[i] is false when image i
// lacks one of them or has a non-finite value.
func Features(ctx context.Context, st *store.Store, p Profile, configKey string, names []string) (x [][]float64, ok []bool, err error) {
	rows, err := st.Features(ctx, configKey)
	if err != nil {
		return nil, nil, fmt.Errorf("baselines: %w", err)
	}
	col := map[string]int{}
	for j, n := range names {
		col[n] = j
	}
	vals := map[string][]float64{}
	have := map[string]int{}
	for _, r := range rows {
		j, found := col[r.Name]
		if !found {
			continue
		}
		v := vals[r.SHA256]
		if v == nil {
			v = make([]float64, len(names))
			vals[r.SHA256] = v
		}
		if !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
			v[j] = r.Value
			have[r.SHA256]++
		}
	}
	x = make([][]float64, len(p.Images))
	ok = make([]bool, len(p.Images))
	for i, im := range p.Images {
		if have[im.SHA256] == len(names) {
			x[i], ok[i] = vals[im.SHA256], true
		}
	}
	return x, ok, nil
}

// Keep returns the profile restricted to the images where keep is true.
func (p Profile) Keep(keep []bool) Profile {
	out := Profile{Models: p.Models, Cost: p.Cost}
	for i, k := range keep {
		if k {
			out.Images = append(out.Images, p.Images[i])
			out.Hit = append(out.Hit, p.Hit[i])
			out.Score = append(out.Score, p.Score[i])
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
