package experiments

import (
	"context"
	"sort"
)

// Kind is one analysis a spec can ask for.
type Kind struct {
	Name    string
	Summary string
	// Needs are the spec fields the kind requires; Allows those it may
	// read. Any other field in a spec of this kind is an error.
	Needs, Allows []string
	// Pending, when set, says why the kind cannot run yet (its building
	// blocks have not landed): its specs validate, and Run records them
	// as not attempted with this reason.
	Pending string
	Run     func(ctx context.Context, e *Env, s *Spec) (*Result, error)
}

// premodelPending is the reason the premodel experiments wait.
const premodelPending = "needs the premodel core and baselines (issue 4: training-set assembly, premodel " +
	"train/evaluate, softmax cascade, budget knob, random routing, CNN premodel), which have not landed yet"

// Kinds is the explicit registry of kinds.
func Kinds() map[string]Kind {
	ks := []Kind{
		{Name: "feature-list", Summary: "the candidate features (Table 2)", Run: runFeatureList},
		{Name: "motivation-correctness", Summary: "three images and which models get them right (Table 1)",
			Needs: []string{"images", "models", "only"}, Allows: []string{"latency"}, Run: runMotivationCorrectness},
		{Name: "motivation-latency", Summary: "inference time of the motivation study's models on its images (Fig 1d)",
			Needs: []string{"images", "models", "only"}, Allows: []string{"latency"}, Run: runMotivationLatency},
		{Name: "optimum-shares", Summary: "share of images for which each model is the optimum (Fig 5)",
			Needs: []string{"images", "models", "criterion", "theta"}, Allows: []string{"only", "latency"}, Run: runOptimumShares},
		{Name: "selection-trace", Summary: "Algorithm 1's trace: accuracy on the images the chosen set fails (Fig 6)",
			Needs: []string{"images", "models", "criterion", "theta"}, Allows: []string{"only", "latency"}, Run: runSelectionTrace},
		{Name: "correlation-filter", Summary: "features removed as correlated (Table 3)",
			Needs: featselNeeds(), Allows: []string{"latency"}, Run: runCorrelationFilter},
		{Name: "kept-features", Summary: "the features the premodel keeps (Table 4)",
			Needs: featselNeeds(), Allows: []string{"latency"}, Run: runKeptFeatures},
		{Name: "importance", Summary: "feature importance per criterion (Figs 7, 12)",
			Needs: append(featselCommon(), "criteria"), Allows: []string{"latency"}, Run: runImportance},
		{Name: "feature-sweep", Summary: "accuracy and extraction time against the number of features (Fig 13)",
			Needs: append(featselNeeds(), "timing_images"), Allows: []string{"latency"}, Run: runFeatureSweep},
		{Name: "paper-scale", Summary: "Algorithm 1, oracle and optimum shares on imported per-image results",
			Needs: []string{"import", "criterion", "theta", "latency"}, Run: runPaperScale},
		{Name: "overall", Summary: "premodel vs every single model and the oracle (Fig 8)", Pending: premodelPending,
			Needs: []string{"images", "models", "criterion", "learner", "folds", "seed", "theta"}, Allows: []string{"k", "only", "latency"}},
		{Name: "premodel-learners", Summary: "kNN vs DT vs SVM vs CNN premodels (Fig 9)", Pending: premodelPending,
			Needs: []string{"images", "models", "criterion", "folds", "seed", "theta"}, Allows: []string{"k", "only", "learner", "latency"}},
		{Name: "hierarchies", Summary: "X.Y.Z premodel hierarchies (Fig 10)", Pending: premodelPending,
			Needs: []string{"images", "models", "criterion", "folds", "seed", "theta"}, Allows: []string{"k", "only", "learner", "latency"}},
		{Name: "model-count", Summary: "number of models in the premodel, with min-max inference time (Fig 11)", Pending: premodelPending,
			Needs: []string{"images", "models", "criterion", "learner", "folds", "seed"}, Allows: []string{"k", "only", "latency"}},
		{Name: "baselines", Summary: "softmax cascade and random routing at matched latency, beside the premodel", Pending: premodelPending,
			Needs: []string{"images", "models", "criterion", "learner", "folds", "seed", "theta"}, Allows: []string{"k", "only", "latency"}},
		{Name: "budget-curve", Summary: "cost/accuracy curve of the budget knob, single models as points", Pending: premodelPending,
			Needs: []string{"images", "models", "criterion", "learner", "folds", "seed", "theta"}, Allows: []string{"k", "only", "latency"}},
	}
	out := make(map[string]Kind, len(ks))
	for _, k := range ks {
		out[k.Name] = k
	}
	return out
}

// KindNames lists the registered kinds, sorted.
func KindNames() []string {
	var out []string
	for n := range Kinds() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func featselNeeds() []string { return append(featselCommon(), "criterion") }

func featselCommon() []string {
	return []string{"images", "models", "learner", "k", "folds", "seed", "threshold", "tolerance"}
}
