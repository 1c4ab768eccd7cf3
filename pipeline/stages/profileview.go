package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/modelpick/modelpick/store"
)

// Criterion says when a model is correct on an image: "top1" or "top5".
type Criterion = string

// Latency is per-model latency from a source other than this device's cost
// profile (published figures), with the source named. It overrides the
// store's costs.
type Latency struct {
	Source string             `json:"source"`
	MS     map[string]float64 `json:"ms"`
}

// View is the hardware-independent profile of a store, with a cost per
// model: what Algorithm 1, targets and the oracle read.
type View struct {
	Models []string `json:"models"`
	// Cost is each model's cost (ms, or MMACs when CostSource says so).
	Cost       []float64 `json:"cost"`
	CostSource string    `json:"cost_source"`
	// Images are the images with a prediction by every model, sorted.
	Images []ImageKey `json:"-"`
	// Correct1 and Correct5 are [image][model].
	Correct1 [][]bool `json:"-"`
	Correct5 [][]bool `json:"-"`
	// TopK is the number of classes each model's results carry (1 for
	// imported top-1 results: no top-5 criterion).
	TopK map[string]int `json:"top_k"`
	// Excluded counts images left out, by reason.
	Excluded map[string]int `json:"excluded"`
}

// ImageKey names an image of a store.
type ImageKey struct {
	Dataset, File string
	Label         int
}

// Correct returns the matrix of the criterion.
func (v *View) Correct(c Criterion) [][]bool {
	if c == "top5" {
		return v.Correct5
	}
	return v.Correct1
}

// LoadView reads the predictions of the data sets (all when empty) by the
// models named in only (all when empty) and a cost per model: lat when
// given, else the store's measured latency at one thread, else the specs'
// MMACs (CostSource says which).
func LoadView(ctx context.Context, st *store.Store, sets, only []string, lat *Latency) (*View, error) {
	preds, err := st.Predictions(ctx, "")
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, d := range sets {
		want[d] = true
	}
	type cell struct{ c1, c5 bool }
	byImage := map[ImageKey]map[string]cell{}
	models := map[string]bool{}
	topk := map[string]int{}
	keep := map[string]bool{}
	for _, m := range only {
		keep[m] = true
	}
	for _, p := range preds {
		if (len(want) > 0 && !want[p.Dataset]) || (len(keep) > 0 && !keep[p.Model]) {
			continue
		}
		k := ImageKey{Dataset: p.Dataset, File: p.File}
		if byImage[k] == nil {
			byImage[k] = map[string]cell{}
		}
		byImage[k][p.Model] = cell{p.Correct1, p.Correct5}
		models[p.Model] = true
		if len(p.Top5Idx) > topk[p.Model] {
			topk[p.Model] = len(p.Top5Idx)
		}
	}
	if len(byImage) == 0 {
		return nil, fmt.Errorf("store %s has no predictions for %v: profile or import first", st.Path(), sets)
	}
	for m := range keep {
		if !models[m] {
			return nil, fmt.Errorf("store %s has no predictions by model %s", st.Path(), m)
		}
	}
	v := &View{TopK: topk, Excluded: map[string]int{}}
	for m := range models {
		v.Models = append(v.Models, m)
	}
	sort.Strings(v.Models)
	images, err := st.Images(ctx, "")
	if err != nil {
		return nil, err
	}
	labels := map[ImageKey]int{}
	for _, im := range images {
		k := ImageKey{Dataset: im.Dataset, File: im.File}
		if im.Error != "" {
			v.Excluded["unreadable"]++
			delete(byImage, k)
			continue
		}
		labels[k] = im.Label
	}
	for k, cells := range byImage {
		if len(cells) != len(v.Models) {
			v.Excluded["missing a model's prediction"]++
			continue
		}
		k.Label = labels[k]
		v.Images = append(v.Images, k)
	}
	sort.Slice(v.Images, func(i, j int) bool {
		a, b := v.Images[i], v.Images[j]
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		return a.File < b.File
	})
	for _, k := range v.Images {
		cells := byImage[ImageKey{Dataset: k.Dataset, File: k.File}]
		r1, r5 := make([]bool, len(v.Models)), make([]bool, len(v.Models))
		for j, m := range v.Models {
			r1[j], r5[j] = cells[m].c1, cells[m].c5
		}
		v.Correct1 = append(v.Correct1, r1)
		v.Correct5 = append(v.Correct5, r5)
	}
	if len(v.Images) == 0 {
		return nil, fmt.Errorf("store %s: no image has a prediction by every model (excluded %v)", st.Path(), v.Excluded)
	}
	if err := v.loadCost(ctx, st, lat); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *View) loadCost(ctx context.Context, st *store.Store, lat *Latency) error {
	v.Cost = make([]float64, len(v.Models))
	if lat != nil {
		for i, m := range v.Models {
			ms, ok := lat.MS[m]
			if !ok || !(ms > 0) {
				return fmt.Errorf("latency source %q has no positive latency for model %s", lat.Source, m)
			}
			v.Cost[i] = ms
		}
		v.CostSource = "published latency (ms): " + lat.Source
		return nil
	}
	costs, err := st.Costs(ctx)
	if err != nil {
		return err
	}
	if th, by, ok := store.CommonThreads(costs, v.Models); ok {
		for i, name := range v.Models {
			v.Cost[i] = by[name].MeanMS
		}
		v.CostSource = fmt.Sprintf("measured mean latency (ms) on this device at %d thread(s)", th)
		return nil
	}
	specs, err := st.Models(ctx)
	if err != nil {
		return err
	}
	mmacs := map[string]float64{}
	for _, m := range specs {
		var s struct {
			MMACs float64 `json:"mmacs"`
		}
		if json.Unmarshal([]byte(m.SpecJSON), &s) == nil {
			mmacs[m.Name] = s.MMACs
		}
	}
	for i, name := range v.Models {
		if !(mmacs[name] > 0) {
			return fmt.Errorf("store %s: no latency for model %s and no mmacs in its spec: profile its cost, or name a latency source", st.Path(), name)
		}
		v.Cost[i] = mmacs[name]
	}
	v.CostSource = "spec MMACs (no latency measured for every model)"
	return nil
}

// CheckCriterion fails when a model's results cannot answer c (top-5 on
// imported top-1 results).
func (v *View) CheckCriterion(c Criterion) error {
	switch c {
	case "top1":
		return nil
	case "top5":
		for _, m := range v.Models {
			if v.TopK[m] < 5 {
				return fmt.Errorf("criterion top5: model %s has only its top-%d class stored", m, v.TopK[m])
			}
		}
		return nil
	}
	return fmt.Errorf("criterion %q: want top1 or top5", c)
}
