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

// premodelNeeds are the fields of the premodel kinds: the chain, feature
// selection (the premodel reads the kept features), and the premodel.
func premodelNeeds(learner string) []string {
	return []string{"images", "models", "criterion", learner, "k", "folds", "seed", "theta", "threshold", "tolerance"}
}

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
		{Name: "overall", Summary: "premodel vs every single model, the oracle and two baselines (Fig 8)",
			Needs: premodelNeeds("learner"), Allows: []string{"latency"}, Run: runOverall},
		{Name: "premodel-learners", Summary: "kNN vs DT vs SVM premodels (Fig 9)",
			Needs: premodelNeeds("learners"), Allows: []string{"latency"}, Run: runLearners},
		{Name: "hierarchies", Summary: "X.Y.Z premodel hierarchies over three candidates (Fig 10)",
			Needs: premodelNeeds("learners"), Allows: []string{"latency"}, Run: runHierarchies},
		{Name: "model-count", Summary: "number of models in the premodel, with min-max inference time (Fig 11)",
			Needs: premodelNeeds("learner"), Allows: []string{"latency"}, Run: runModelCount},
		{Name: "cnn-premodel", Summary: "the CNN premodel (a frozen backbone's embedding + a trained head) beside the kNN premodel (Fig 9)",
			Needs: premodelNeeds("learner"), Allows: []string{"latency"}, Run: runCNNPremodel},
		{Name: "budget-curve", Summary: "cost/accuracy curve of the budget knob and the softmax cascade, single models as points",
			Needs: append(premodelNeeds("learner"), "timing_images"), Allows: []string{"latency"}, Run: runBudgetCurve},
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
