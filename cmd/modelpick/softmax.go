package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelpick/modelpick/baselines"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/selection"
	"github.com/modelpick/modelpick/store"
)

// learnerSoftmax is the -learner value of the max-softmax cascade.
const learnerSoftmax = "softmax"

// softmaxArgs are train's settings for -learner softmax.
type softmaxArgs struct {
	store, out, models, labels, command string
	crit                                premodel.Criterion
	theta                               float64
	candidates, datasets                []string
	threads                             int
	obj                                 baselines.Objective
	rule                                baselines.Rule
}

// trainSoftmax calibrates a max-softmax cascade on the training store's
// stored top-1 scores and writes it as a "softmax-cascade" bundle.
func trainSoftmax(ctx context.Context, a softmaxArgs, stdout, stderr io.Writer) error {
	if a.obj.BudgetMS < 0 || a.obj.TargetAcc < 0 || (a.obj.BudgetMS > 0 && a.obj.TargetAcc > 0) {
		return fmt.Errorf("%w: train: give at most one of -budget-ms and -target-acc, positive", errUsage)
	}
	if a.rule != baselines.RuleShared && a.rule != baselines.RuleGreedy {
		return fmt.Errorf("%w: train: -rule %q, want shared or greedy", errUsage, a.rule)
	}
	if _, err := os.Stat(a.store); err != nil {
		return fmt.Errorf("train: store %w", err)
	}
	st, err := store.Open(a.store)
	if err != nil {
		return err
	}
	defer st.Close()
	prof, train, err := cascadeProfiles(ctx, st, a.crit, a.datasets, a.threads)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	var levels []int
	for _, name := range a.candidates {
		j, err := train.ModelIndex(name)
		if err != nil {
			return fmt.Errorf("%w: train: -candidates: %v", errUsage, err)
		}
		levels = append(levels, j)
	}
	from := "given"
	if len(levels) == 0 {
		tr, err := selection.SelectModels(train.Hit, train.Cost, a.theta)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		levels, from = tr.Chosen, fmt.Sprintf("Algorithm 1, theta %g pp", a.theta)
	}
	levels = train.ByCost(levels)
	obj := a.obj
	if obj.BudgetMS == 0 && obj.TargetAcc == 0 {
		// As modelpick baselines: the cost of the most accurate level.
		best, bestHits := levels[0], -1
		for _, j := range levels {
			r, err := baselines.Single(train, j)
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			if r.Hits > bestHits || (r.Hits == bestHits && train.Cost[j] < train.Cost[best]) {
				best, bestHits = j, r.Hits
			}
		}
		obj.BudgetMS = train.Cost[best]
	}
	bc, cal, err := baselines.CalibrateCascade(train, levels, a.rule, obj)
	if err != nil {
		return fmt.Errorf("train: calibrate the softmax cascade: %w", err)
	}
	c, err := premodel.CascadeFrom(bc)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	specs, err := bundleSpecs(ctx, st, a.models, c.Models())
	if err != nil {
		return err
	}
	names, source, err := classNames(ctx, st, prof.Datasets, a.labels, specs, stderr)
	if err != nil {
		return err
	}
	if err := premodel.WriteCascadeBundle(a.out, c, premodel.CascadeInput{Profile: prof, Calibration: cal, Specs: specs,
		Labels: names, LabelsSource: source, Revision: revision(), Command: a.command}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "calibrated a softmax cascade on %d images of %s (%s, latency at %d thread(s)), levels (%s): %s, thresholds %v\n",
		len(train.Images), strings.Join(prof.Datasets, ", "), a.crit, prof.CostThreads, from, strings.Join(c.Levels, " > "), c.Thresholds)
	met := "met"
	if !cal.Met {
		met = "not met on the training set"
	}
	fmt.Fprintf(stdout, "objective %s (%s, rule %s): training accuracy %.2f%%, mean %.3f ms\n", obj, met, a.rule, cal.Train.Accuracy, cal.Train.MeanMS)
	fmt.Fprintf(stdout, "bundle written to %s (labels: %s)\n", a.out, source)
	return nil
}

// cascadeProfiles loads a store's profile (costs at the thread count,
// model hashes) and the same images with their stored top-1 scores.
func cascadeProfiles(ctx context.Context, st *store.Store, crit premodel.Criterion, datasets []string, threads int) (*premodel.Profile, baselines.Profile, error) {
	prof, err := premodel.LoadProfile(ctx, st, premodel.ProfileOptions{Criterion: crit, Datasets: datasets, Threads: threads})
	if err != nil {
		return nil, baselines.Profile{}, err
	}
	costs := map[string]float64{}
	for j, m := range prof.Models {
		costs[m] = prof.Cost[j]
	}
	bp, err := baselines.LoadProfile(ctx, st, baselines.LoadOptions{Criterion: string(crit), Datasets: prof.Datasets, Costs: costs})
	if err != nil {
		return nil, bp, fmt.Errorf("%w: profile the models on the images with modelpick profile, which stores their top-1 scores", err)
	}
	return prof, bp, nil
}

// evaluateCascade evaluates a softmax-cascade bundle on a test store from
// its stored top-1 scores and costs.
func evaluateCascade(ctx context.Context, b *premodel.Bundle, st *store.Store, bundle, out string, datasets []string, threads int, stdout io.Writer) error {
	prof, test, err := cascadeProfiles(ctx, st, b.Manifest.Criterion, datasets, threads)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	for _, mi := range b.Manifest.Models {
		if j := prof.ModelIndex(mi.Name); j >= 0 && prof.FilesSHA256[j] != mi.FilesSHA256 {
			return fmt.Errorf("evaluate: test store %s profiled other files for %s (sha256 %.12s) than the bundle holds (%.12s): "+
				"profile the bundle's models on the test images", st.Path(), mi.Name, prof.FilesSHA256[j], mi.FilesSHA256)
		}
	}
	rep, err := premodel.EvaluateCascade(b.Cascade, b.Manifest.Criterion, test)
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(struct {
		Bundle    string `json:"bundle"`
		Router    string `json:"router"`
		TestStore string `json:"test_store"`
		premodel.CascadeReport
	}{bundle, premodel.RouterSoftmaxCascade, st.Path(), rep}, "", "  ")
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if err := os.WriteFile(out, append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	fmt.Fprint(stdout, rep.Markdown())
	fmt.Fprintf(stdout, "\nreport written to %s\n", out)
	return nil
}
