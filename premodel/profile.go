package premodel

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/modelpick/modelpick/selection"
	"github.com/modelpick/modelpick/store"
)

// Criterion says when a model counts as correct on an image.
type Criterion string

// The paper's two criteria.
const (
	Top1 Criterion = "top1"
	Top5 Criterion = "top5"
)

// ParseCriterion checks a criterion's name.
func ParseCriterion(s string) (Criterion, error) {
	switch c := Criterion(s); c {
	case Top1, Top5:
		return c, nil
	}
	return "", fmt.Errorf("criterion %q: want top1 or top5", s)
}

// Item is one image of a profile.
type Item struct {
	Dataset string `json:"dataset"`
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	Label   int    `json:"label"`
}

// Profile is the correctness of every model on every image of a store, with
// each model's cost: what Algorithm 1, the targets and the evaluation read.
// Rows are the images every model was profiled on, in store order (data
// set, file).
type Profile struct {
	Store     string    `json:"store"`
	Criterion Criterion `json:"criterion"`
	Datasets  []string  `json:"datasets"`
	// Models are sorted by name; column j of Correct1/Correct5 and Cost[j]
	// are Models[j].
	Models []string `json:"models"`
	// Cost is each model's mean latency in ms, from the costs table at
	// CostThreads ONNX Runtime threads.
	Cost        []float64 `json:"cost_ms"`
	CostP95     []float64 `json:"cost_p95_ms"`
	CostThreads int       `json:"cost_threads"`
	// FilesSHA256 is each model's file hash as registered in the store.
	FilesSHA256 []string `json:"files_sha256"`
	// SpecJSON is each model's spec as registered in the store.
	SpecJSON []string `json:"-"`
	Items    []Item   `json:"-"`
	Correct1 [][]bool `json:"-"`
	Correct5 [][]bool `json:"-"`
	// Excluded counts the images left out, by reason.
	Excluded map[string]int `json:"excluded"`
}

// ProfileOptions select what LoadProfile reads.
type ProfileOptions struct {
	Criterion Criterion
	// Datasets restricts the images to these data sets (empty: all data sets
	// with predictions).
	Datasets []string
	// Threads picks the cost rows measured at this ONNX Runtime thread
	// count (0: 1 when every model has it, else the smallest count that
	// every model has).
	Threads int
}

// Correct returns the correctness matrix under the profile's criterion.
func (p *Profile) Correct() [][]bool {
	if p.Criterion == Top5 {
		return p.Correct5
	}
	return p.Correct1
}

// ModelIndex returns the column of a model, or -1.
func (p *Profile) ModelIndex(name string) int { return slices.Index(p.Models, name) }

// Targets returns the optimum model of each image among all the profile's
// models (selection.Targets under the criterion).
func (p *Profile) Targets() ([]int, error) { return selection.Targets(p.Correct(), p.Cost) }

// Accuracy returns each model's accuracy, in percent, under the criterion.
func (p *Profile) Accuracy() []float64 {
	out := make([]float64, len(p.Models))
	for _, row := range p.Correct() {
		for j, ok := range row {
			if ok {
				out[j]++
			}
		}
	}
	for j := range out {
		out[j] = 100 * out[j] / float64(len(p.Items))
	}
	return out
}

type imageKey struct{ dataset, file string }

// LoadProfile reads the predictions and costs of a store. It fails, naming
// the fix, when the store has no predictions, when a model has no cost (the
// targets are "the fastest correct model", so they need latencies measured
// on the device), or when the criterion needs top-5 lists that the store
// does not hold.
func LoadProfile(ctx context.Context, st *store.Store, o ProfileOptions) (*Profile, error) {
	if _, err := ParseCriterion(string(o.Criterion)); err != nil {
		return nil, fmt.Errorf("load profile from %s: %w", st.Path(), err)
	}
	p := &Profile{Store: st.Path(), Criterion: o.Criterion, Excluded: map[string]int{}}
	preds, err := st.Predictions(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("load profile: %w", err)
	}
	want := map[string]bool{}
	for _, d := range o.Datasets {
		want[d] = true
	}
	type cell struct{ c1, c5 bool }
	byImage := map[imageKey]map[string]cell{}
	models, dsets := map[string]bool{}, map[string]bool{}
	short := map[string]int{} // model -> predictions with fewer than 5 classes
	for _, r := range preds {
		if len(want) > 0 && !want[r.Dataset] {
			continue
		}
		k := imageKey{r.Dataset, r.File}
		if byImage[k] == nil {
			byImage[k] = map[string]cell{}
		}
		byImage[k][r.Model] = cell{r.Correct1, r.Correct5}
		models[r.Model], dsets[r.Dataset] = true, true
		if len(r.Top5Idx) < 5 {
			short[r.Model]++
		}
	}
	for d := range want {
		if !dsets[d] {
			return nil, fmt.Errorf("load profile: store %s has no predictions for data set %q (it has: %s)",
				st.Path(), d, strings.Join(datasetsOf(preds), ", "))
		}
	}
	if len(byImage) == 0 {
		return nil, fmt.Errorf("load profile: store %s has no predictions: run `modelpick profile -models SPEC -data DIR -store %s` first",
			st.Path(), st.Path())
	}
	p.Models, p.Datasets = sortedKeys(models), sortedKeys(dsets)
	if o.Criterion == Top5 {
		for _, m := range p.Models {
			if short[m] > 0 {
				return nil, fmt.Errorf("load profile: criterion top5, but store %s holds fewer than 5 classes for %d predictions of %s "+
					"(a top-1-only profile): use -criterion top1, or profile %s again with modelpick profile", st.Path(), short[m], m, m)
			}
		}
	}
	if err := p.loadCosts(ctx, st, o.Threads); err != nil {
		return nil, err
	}
	if err := p.loadSpecs(ctx, st); err != nil {
		return nil, err
	}
	images, err := st.Images(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("load profile: %w", err)
	}
	for _, im := range images {
		cells, ok := byImage[imageKey{im.Dataset, im.File}]
		switch {
		case !ok:
			continue // another data set
		case im.Error != "":
			p.Excluded["unreadable when profiled"]++
			continue
		case len(cells) != len(p.Models):
			p.Excluded["missing a model's prediction"]++
			continue
		}
		r1, r5 := make([]bool, len(p.Models)), make([]bool, len(p.Models))
		for j, m := range p.Models {
			r1[j], r5[j] = cells[m].c1, cells[m].c5
		}
		p.Items = append(p.Items, Item{Dataset: im.Dataset, File: im.File, SHA256: im.SHA256, Label: im.Label})
		p.Correct1, p.Correct5 = append(p.Correct1, r1), append(p.Correct5, r5)
	}
	if len(p.Items) == 0 {
		return nil, fmt.Errorf("load profile: no image of %s in store %s has a prediction by every model (excluded: %v): "+
			"profile every model on the same images", strings.Join(p.Datasets, ", "), st.Path(), p.Excluded)
	}
	return p, nil
}

// loadCosts picks one thread count at which every model has a cost.
func (p *Profile) loadCosts(ctx context.Context, st *store.Store, threads int) error {
	rows, err := st.Costs(ctx)
	if err != nil {
		return fmt.Errorf("load profile: %w", err)
	}
	by := map[int]map[string]store.CostRow{}
	for _, c := range rows {
		if by[c.Threads] == nil {
			by[c.Threads] = map[string]store.CostRow{}
		}
		by[c.Threads][c.Model] = c
	}
	var full []int
	var missing []string
	for th, m := range by {
		ok := true
		for _, name := range p.Models {
			if _, have := m[name]; !have {
				ok = false
			}
		}
		if ok {
			full = append(full, th)
		}
	}
	for _, name := range p.Models {
		found := false
		for _, m := range by {
			if _, have := m[name]; have {
				found = true
			}
		}
		if !found {
			missing = append(missing, name)
		}
	}
	fix := fmt.Sprintf("run `modelpick profile -models SPEC -data DIR -store %s -correctness=false -cost` on the device", st.Path())
	if len(full) == 0 {
		if len(missing) > 0 {
			return fmt.Errorf("load profile: store %s has no measured latency for %s (the optimum model is the fastest correct one, "+
				"so targets need costs): %s", st.Path(), strings.Join(missing, ", "), fix)
		}
		return fmt.Errorf("load profile: store %s has no thread count at which every model has a measured latency: %s with one -threads value",
			st.Path(), fix)
	}
	slices.Sort(full)
	th := full[0]
	switch {
	case threads > 0 && !slices.Contains(full, threads):
		return fmt.Errorf("load profile: store %s has no latency of every model at %d thread(s) (it has %v): %s with -threads %d",
			st.Path(), threads, full, fix, threads)
	case threads > 0:
		th = threads
	case slices.Contains(full, 1):
		th = 1
	}
	p.CostThreads = th
	p.Cost, p.CostP95 = make([]float64, len(p.Models)), make([]float64, len(p.Models))
	for j, name := range p.Models {
		c := by[th][name]
		p.Cost[j], p.CostP95[j] = c.MeanMS, c.P95MS
	}
	return nil
}

func (p *Profile) loadSpecs(ctx context.Context, st *store.Store) error {
	rows, err := st.Models(ctx)
	if err != nil {
		return fmt.Errorf("load profile: %w", err)
	}
	by := map[string]store.ModelRow{}
	for _, r := range rows {
		by[r.Name] = r
	}
	p.FilesSHA256, p.SpecJSON = make([]string, len(p.Models)), make([]string, len(p.Models))
	for j, name := range p.Models {
		r, ok := by[name]
		if !ok { // the store refuses such predictions, so only a corrupt file gets here
			return fmt.Errorf("load profile: store %s has predictions of %s but no registered spec", st.Path(), name)
		}
		p.FilesSHA256[j], p.SpecJSON[j] = r.FilesSHA256, r.SpecJSON
	}
	return nil
}

func datasetsOf(preds []store.PredictionRow) []string {
	m := map[string]bool{}
	for _, r := range preds {
		m[r.Dataset] = true
	}
	return sortedKeys(m)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
