package committee

import (
	"context"
	"fmt"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/store"
)

// ChooseOptions are the inputs of the committee selection: the single
// models' spec, the training set, and the training store holding their
// measured costs.
type ChooseOptions struct {
	Spec  *inference.SpecFile
	Set   *datasets.Set
	Costs *store.Store
	Sizes []int
	Probs ProbsOptions
}

// Choose computes (or reads from the cache) every single model's vectors
// on the training set, reads their costs from the training store, and
// applies Select. The store must have timed the same model files the spec
// names; its stored top-1 answers, where present, are compared with the
// vectors' and the agreement is recorded.
func Choose(ctx context.Context, o ChooseOptions) (*Selection, error) {
	specs := o.Spec.Models
	names := make([]string, len(specs))
	for i, s := range specs {
		if s.IsCommittee() {
			return nil, fmt.Errorf("select committees: %s: model %s is already a committee: give the spec of the single models", o.Spec.Path, s.Name)
		}
		names[i] = s.Name
	}
	costMS, threads, costInputs, err := storeCosts(ctx, o.Costs, specs)
	if err != nil {
		return nil, err
	}
	probs, err := ComputeProbs(ctx, specs, o.Set, o.Probs)
	if err != nil {
		return nil, err
	}
	sel, err := Select(probs, costMS, o.Sizes)
	if err != nil {
		return nil, err
	}
	sel.CostThreads = threads
	agree, err := storeAgreement(ctx, o.Costs, probs)
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	for _, p := range probs {
		keys[p.Model] = CachePath(o.Probs.CacheDir, p)
	}
	common := map[string]string{}
	for k, v := range probs[0].Inputs {
		if k != "spec" && k != "files_sha256" { // per model: in each vector's manifest
			common[k] = v
		}
	}
	sel.Inputs = map[string]any{
		"spec":                    o.Spec.Path,
		"data_set":                o.Set.Dir,
		"data_set_labels_hash":    o.Set.Hash(),
		"images_sha256":           probs[0].Inputs["images_sha256"],
		"limit":                   o.Probs.Limit,
		"cost_store":              o.Costs.Path(),
		"costs":                   costInputs,
		"vectors":                 keys,
		"vector_inputs":           common,
		"store_top1_agreement":    agree,
		"store_top1_agreement_of": "images where the store's stored top-1 correctness equals the cached vectors' (models in the store only)",
	}
	return sel, nil
}

// storeCosts reads each model's mean latency at the store's common thread
// count, refusing a store that timed other files under the same name.
func storeCosts(ctx context.Context, st *store.Store, specs []inference.Spec) (map[string]float64, int, map[string]any, error) {
	rows, err := st.Costs(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	registered, err := st.Models(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	sha := map[string]string{}
	for _, m := range registered {
		sha[m.Name] = m.FilesSHA256
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
		want, err := s.FilesSHA256()
		if err != nil {
			return nil, 0, nil, err
		}
		if got, ok := sha[s.Name]; ok && got != want {
			return nil, 0, nil, fmt.Errorf("select committees: store %s profiled %s with other files (sha256 %.12s…, the spec's hash to %.12s…): profile the spec's models into a new store", st.Path(), s.Name, got, want)
		}
	}
	threads, by, ok := store.CommonThreads(rows, names)
	if !ok {
		return nil, 0, nil, fmt.Errorf("select committees: store %s has no cost rows for every model at one thread count: run `modelpick profile -models SPEC -data SET -store %s` (cost on)", st.Path(), st.Path())
	}
	ms := map[string]float64{}
	detail := map[string]any{"threads": threads}
	for _, n := range names {
		c := by[n]
		ms[n] = c.MeanMS
		detail[n] = map[string]any{"mean_ms": c.MeanMS, "ci_low_ms": c.CILowMS, "ci_high_ms": c.CIHighMS, "n": c.N,
			"measured_at": c.MeasuredAt, "platform": c.PlatformJSON}
	}
	return ms, threads, detail, nil
}

// storeAgreement counts, per model, the images where the store's top-1
// correctness equals the vectors' (a check that both came from the same
// models and images).
func storeAgreement(ctx context.Context, st *store.Store, probs []*Probs) (map[string]string, error) {
	preds, err := st.Predictions(ctx, probs[0].Dataset)
	if err != nil {
		return nil, err
	}
	stored := map[[2]string]bool{}
	for _, p := range preds {
		stored[[2]string{p.Model, p.File}] = p.Correct1
	}
	out := map[string]string{}
	for _, p := range probs {
		t, err := NewTrace([]*Probs{p}, []string{p.Model})
		if err != nil {
			return nil, err
		}
		same, n := 0, 0
		for i, f := range t.Files {
			c, ok := stored[[2]string{p.Model, f}]
			if !ok {
				continue
			}
			n++
			if c == t.Levels[0][i].Correct1 {
				same++
			}
		}
		out[p.Model] = fmt.Sprintf("%d/%d", same, n)
	}
	return out, nil
}
