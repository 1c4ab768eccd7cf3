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
package profileview
