package experiments

import (
	"context"
	"sort"
)

// Kind is one analysis a spec can ask for.
type Kind struct {
	Name    string
	Summary string
	// Pending, when set, says why the kind cannot run yet (its building
	// blocks have not landed): its specs validate, and Run records them
	// as not attempted with this reason.
	Pending string
	// Params returns a fresh value of the kind's parameters: the spec
	// fields it requires and reads (params.go), with their validation.
	Params func() Params
	Run    func(ctx context.Context, e *Env, s *Spec) (*Result, error)
	// ReadsResults marks a kind that reads the other experiments'
	// results: ParseAll puts its specs last.
	ReadsResults bool
}

func readsResults(k Kind) Kind {
	k.ReadsResults = true
	return k
}

// kind registers an analysis with its parameters' type P.
func kind[P any, PP interface {
	*P
	Params
}](name, summary string, run func(ctx context.Context, e *Env, s *Spec, p PP) (*Result, error)) Kind {
	return Kind{Name: name, Summary: summary, Params: func() Params { return PP(new(P)) },
		Run: func(ctx context.Context, e *Env, s *Spec) (*Result, error) { return run(ctx, e, s, s.Params.(PP)) }}
}

// Kinds is the explicit registry of kinds.
func Kinds() map[string]Kind {
	ks := []Kind{
		kind("feature-list", "the candidate features (Table 2)", runFeatureList),
		kind("motivation-correctness", "three images and which models get them right (Table 1)", runMotivationCorrectness),
		kind("motivation-latency", "inference time of the motivation study's models on its images (Fig 1d)", runMotivationLatency),
		kind("optimum-shares", "share of images for which each model is the optimum (Fig 5)", runOptimumShares),
		kind("selection-trace", "Algorithm 1's trace: accuracy on the images the chosen set fails (Fig 6)", runSelectionTrace),
		kind("correlation-filter", "features removed as correlated (Table 3)", runCorrelationFilter),
		kind("kept-features", "the features the premodel keeps (Table 4)", runKeptFeatures),
		kind("importance", "feature importance per criterion (Figs 7, 12)", runImportance),
		kind("feature-sweep", "accuracy and extraction time against the number of features (Fig 13)", runFeatureSweep),
		kind("paper-scale", "Algorithm 1, oracle and optimum shares on imported per-image results", runPaperScale),
		kind("overall", "premodel vs every single model, the oracle and two baselines (Fig 8)", runOverall),
		kind("premodel-learners", "kNN vs DT vs SVM premodels (Fig 9)", runLearners),
		kind("hierarchies", "X.Y.Z premodel hierarchies over three candidates (Fig 10)", runHierarchies),
		kind("model-count", "number of models in the premodel, with min-max inference time (Fig 11)", runModelCount),
		kind("cnn-premodel", "the CNN premodel (a frozen backbone's embedding + a trained head) beside the kNN premodel (Fig 9)", runCNNPremodel),
		kind("learning-curve", "premodel accuracy against the number of training images (repeated CV, image sets pooled)", runLearningCurve),
		kind("feature-information", "what the features say about the target: premodel on features, shuffled, none; mutual information", runFeatureInfo),
		kind("budget-curve", "cost/accuracy curve of the budget knob and the softmax cascade, single models as points", runBudgetCurve),
		kind("frontier", "committee cascades, committees, softmax cascade, premodel, random and oracle on unseen images, with paired intervals", runFrontier),
		readsResults(kind("cost-stability", "do the verdicts follow measurement noise? latencies moved within their intervals", runCostStability)),
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
