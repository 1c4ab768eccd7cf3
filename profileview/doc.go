// Package profileview reads a store's profile one way, for every analysis:
// the images every model was profiled on, each model's correctness under
// top-1 and top-5, its top-1 class and score, and each model's cost with
// where the cost came from ([Load], [View]). [View.Features] joins the
// images, by content hash, with stored feature values (the pivot every
// premodel reads), and [View.Targets] and [View.Oracle] are the one rule
// of the paper (Taylor et al., LCTES 2018): an image's optimum model is the
// cheapest model that is correct on it, or none.
//
// The criterion ([Criterion]: top1 or top5) is chosen when a view is
// loaded; [View.Correct] is its matrix. Cost is the measured mean latency
// from a costs table at one thread count (1 when every model has it, else
// the smallest count that every model has), published latencies named by
// their source, or, when asked and nothing was measured, the specs' MMACs.
//
// # How costs are ranked
//
// Everything that decides which model is cheaper (targets, the oracle,
// Algorithm 1's first pick and its ties, Fig 5's ranks, the order of Table
// 1's and Fig 1d's models, cascades) ranks models by one order,
// [View.Order] ([CostOrder]), never by comparing latencies directly:
// latencies within the device's [Resolution] of each other (10%; single
// linkage on log latency: consecutive models linked when the dearer costs
// at most 1.10 times the cheaper, a gap wider than that separates
// clusters) form a cluster, clusters come in latency order, and within a
// cluster models are ordered by a fixed, hardware-independent key: fewer
// multiply-accumulates (the spec's mmacs) first, then the name. Two
// models that a re-measurement could swap are thus never ordered by the
// measurement. The resolution is the run-to-run drift measured on this
// project's machine (see [Resolution]); published figures and MMACs are
// exact as given (resolution 0). Times (a method's mean latency, speed
// ratios, overhead shares) still use the measured mean latency, Cost; only
// the order follows the rule. [View.Ranks] is the order as a cost vector
// for package selection.
package profileview
