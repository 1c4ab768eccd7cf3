package committee

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/modelpick/modelpick/bootstrap"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/store"
)

// ModelResult is one model's (or committee's) accuracy and measured
// latency on a profiled set.
type ModelResult struct {
	Name      string   `json:"name"`
	Members   []string `json:"members,omitempty"` // a committee's
	Images    int      `json:"images"`
	Top1      float64  `json:"top1"`
	Top5      float64  `json:"top5"`
	MeanMS    float64  `json:"mean_ms"`
	CILowMS   float64  `json:"ci_low_ms"`
	CIHighMS  float64  `json:"ci_high_ms"`
	N         int      `json:"n"` // timed runs
	Converged bool     `json:"converged"`
	// LatencyRatio is MeanMS over the set's reference single model's,
	// both from the same cost run.
	LatencyRatio float64 `json:"latency_ratio"`
}

// SetResult is every model of a spec on one profiled set, and the gain of
// the chosen committee over the set's most accurate single model.
type SetResult struct {
	Store   string        `json:"store"`
	Dataset string        `json:"dataset"`
	Threads int           `json:"threads"`
	Models  []ModelResult `json:"models"`
	// Reference is the most accurate single model on this set (ties: the
	// first in the spec): the baseline a committee must beat here, and
	// the latency ratios' denominator.
	Reference string `json:"reference"`
	// Gain is the best committee's top-1 minus Reference's (fractions),
	// paired by image.
	Gain bootstrap.Interval `json:"gain_top1"`
	// GainOverTrainReference is the same over the training set's most
	// accurate single model, when that is another model.
	GainOverTrainReference *bootstrap.Interval          `json:"gain_top1_over_train_reference,omitempty"`
	Cost                   map[string]map[string]string `json:"cost_run"` // platform and time of each cost row
}

// Comparison is the committee report: which committee was chosen, on
// which set, and every set's results.
type Comparison struct {
	Command string `json:"command,omitempty"` // set by the caller
	Spec    string `json:"spec"`
	// Best is the most accurate committee and TrainReference the most
	// accurate single model by top-1 on PickedOn (ties: the first in the
	// spec), so on any other set the committee is not chosen on it.
	Best           string      `json:"best_committee"`
	TrainReference string      `json:"train_reference"`
	PickedOn       string      `json:"picked_on"`
	Sets           []SetResult `json:"sets"`
}

// CompareOptions name the spec, the store the choice is made on (the
// training store) and every store to report (the training store may be
// one of them).
type CompareOptions struct {
	Spec      *inference.SpecFile
	Train     *store.Store
	Stores    []*store.Store
	Resamples int
	Seed      uint64
}

// Compare reads each store's correctness and costs for the spec's models.
func Compare(ctx context.Context, o CompareOptions) (*Comparison, error) {
	c := &Comparison{Spec: o.Spec.Path}
	train, err := setResult(ctx, o.Train, o.Spec.Models)
	if err != nil {
		return nil, err
	}
	c.PickedOn = train.Dataset + " (store " + o.Train.Path() + ")"
	c.TrainReference, c.Best = best(train.Models, o.Spec.Models, false), best(train.Models, o.Spec.Models, true)
	if c.TrainReference == "" || c.Best == "" {
		return nil, fmt.Errorf("compare committees: spec %s needs single models and committees", o.Spec.Path)
	}
	for _, st := range o.Stores {
		r, err := setResult(ctx, st, o.Spec.Models)
		if err != nil {
			return nil, err
		}
		r.Reference = best(r.Models, o.Spec.Models, false)
		if err := r.finish(ctx, st, c.Best, c.TrainReference, o.Resamples, o.Seed); err != nil {
			return nil, err
		}
		c.Sets = append(c.Sets, r)
	}
	return c, nil
}

// best names the most accurate committee (or single model) by top-1, the
// first in spec order on ties.
func best(results []ModelResult, specs []inference.Spec, committees bool) string {
	name, top := "", -1.0
	for i, m := range results {
		if specs[i].IsCommittee() == committees && m.Top1 > top {
			name, top = m.Name, m.Top1
		}
	}
	return name
}

// setResult reads the store's one data set's accuracy and costs.
func setResult(ctx context.Context, st *store.Store, specs []inference.Spec) (SetResult, error) {
	r := SetResult{Store: st.Path(), Cost: map[string]map[string]string{}}
	preds, err := st.Predictions(ctx, "")
	if err != nil {
		return r, err
	}
	sets := map[string]bool{}
	for _, p := range preds {
		sets[p.Dataset] = true
	}
	if len(sets) != 1 {
		return r, fmt.Errorf("compare committees: store %s holds %d data sets, want one per store", st.Path(), len(sets))
	}
	for d := range sets {
		r.Dataset = d
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	rows, err := st.Costs(ctx)
	if err != nil {
		return r, err
	}
	threads, costs, ok := store.CommonThreads(rows, names)
	if !ok {
		return r, fmt.Errorf("compare committees: store %s has no cost rows for every model of the spec at one thread count: profile them together (cost on)", st.Path())
	}
	r.Threads = threads
	type acc struct{ n, c1, c5 int }
	by := map[string]*acc{}
	for _, p := range preds {
		a := by[p.Model]
		if a == nil {
			a = &acc{}
			by[p.Model] = a
		}
		a.n++
		if p.Correct1 {
			a.c1++
		}
		if p.Correct5 {
			a.c5++
		}
	}
	for i, s := range specs {
		a := by[s.Name]
		if a == nil || a.n == 0 {
			return r, fmt.Errorf("compare committees: store %s has no predictions of %s: profile it", st.Path(), s.Name)
		}
		cr := costs[s.Name]
		r.Models = append(r.Models, ModelResult{Name: names[i], Members: s.Members, Images: a.n,
			Top1: float64(a.c1) / float64(a.n), Top5: float64(a.c5) / float64(a.n),
			MeanMS: cr.MeanMS, CILowMS: cr.CILowMS, CIHighMS: cr.CIHighMS, N: cr.N, Converged: cr.Converged})
		r.Cost[s.Name] = map[string]string{"measured_at": cr.MeasuredAt.UTC().Format("2006-01-02T15:04:05Z"), "platform": cr.PlatformJSON}
	}
	return r, nil
}

// finish adds latency ratios to the set's reference and the paired
// bootstrap of committee's top-1 over it (and over trainRef's when that
// is another model).
func (r *SetResult) finish(ctx context.Context, st *store.Store, committee, trainRef string, resamples int, seed uint64) error {
	var refMS float64
	for _, m := range r.Models {
		if m.Name == r.Reference {
			refMS = m.MeanMS
		}
	}
	for i := range r.Models {
		r.Models[i].LatencyRatio = r.Models[i].MeanMS / refMS
	}
	preds, err := st.Predictions(ctx, r.Dataset)
	if err != nil {
		return err
	}
	correct := map[string]map[string]bool{}
	for _, p := range preds {
		if correct[p.Model] == nil {
			correct[p.Model] = map[string]bool{}
		}
		correct[p.Model][p.File] = p.Correct1
	}
	gain := func(single string) (bootstrap.Interval, error) {
		var files []string
		for f := range correct[committee] {
			if _, ok := correct[single][f]; ok {
				files = append(files, f)
			}
		}
		sort.Strings(files)
		a, b := make([]bool, len(files)), make([]bool, len(files))
		for i, f := range files {
			a[i], b[i] = correct[committee][f], correct[single][f]
		}
		iv, err := bootstrap.PairedDiff(a, b, resamples, seed, 0.95)
		if err != nil {
			return iv, fmt.Errorf("compare committees on %s: %w", r.Dataset, err)
		}
		return iv, nil
	}
	if r.Gain, err = gain(r.Reference); err != nil {
		return err
	}
	if trainRef != r.Reference {
		g, err := gain(trainRef)
		if err != nil {
			return err
		}
		r.GainOverTrainReference = &g
	}
	return nil
}

// Markdown writes one table per set and the gains.
func (c *Comparison) Markdown(w io.Writer) {
	if c.Command != "" {
		fmt.Fprintf(w, "Generated by `%s`.\n\n", c.Command)
	}
	fmt.Fprintf(w, "Spec %s. Best committee (bold): %s, the most accurate committee on %s, where the most accurate single model is %s. "+
		"On each set the reference (bold, latency 1.00x) is that set's most accurate single model.\n",
		c.Spec, c.Best, c.PickedOn, c.TrainReference)
	for _, s := range c.Sets {
		fmt.Fprintf(w, "\n### %s (%d images; store %s; latency at %d thread(s), all models timed in one cost run)\n\n",
			s.Dataset, s.Models[0].Images, s.Store, s.Threads)
		fmt.Fprintln(w, "| model | members | top-1 % | top-5 % | latency ms (95% CI) | n | latency / reference |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---|---:|---:|")
		for _, m := range s.Models {
			name := m.Name
			if name == s.Reference || name == c.Best {
				name = "**" + name + "**"
			}
			members := 1
			if len(m.Members) > 0 {
				members = len(m.Members)
			}
			conv := ""
			if !m.Converged {
				conv = " (CI not converged)"
			}
			fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.2f [%.2f, %.2f]%s | %d | %.2fx |\n",
				name, members, 100*m.Top1, 100*m.Top5, m.MeanMS, m.CILowMS, m.CIHighMS, conv, m.N, m.LatencyRatio)
		}
		gain := func(single string, g bootstrap.Interval) {
			fmt.Fprintf(w, "\nTop-1 of %s minus %s: %+.1f points, %.0f%% interval [%+.1f, %+.1f] (paired bootstrap over %d images, %d resamples, seed %d).\n",
				c.Best, single, 100*g.Estimate, 100*g.Confidence, 100*g.Low, 100*g.High, g.N, g.Resamples, g.Seed)
		}
		gain(s.Reference, s.Gain)
		if s.GainOverTrainReference != nil {
			gain(c.TrainReference, *s.GainOverTrainReference)
		}
	}
}
