// Package premodel trains and evaluates the premodel of Taylor et al.,
// "Adaptive Selection of Deep Learning Models on Embedded Systems" (LCTES
// 2018): the cheap router that looks at a few image features and picks
// which classifier to run.
//
// # Training
//
// [Train] reads a training table (profileview.Table: a store's profile
// joined with the premodel's features; targets are profileview's rule, the
// cheapest model that is correct, or none), runs Algorithm 1
// (selection.SelectModels, theta in percentage points, 0.5 by default) to
// choose the candidate models and their order, restricts the targets to
// those candidates, fits a min-max scaler on the training rows only, and
// fits any learner of package learners by name (knn, knn-cascade, dt, svm,
// cnn, or an X.Y.Z hierarchy with one level per candidate). It also
// calibrates the confidence threshold (see [Confidence]): every decision
// carries the mean distance to its K nearest training rows, and an option
// escalates decisions beyond the threshold to the most accurate model.
// When the learner chooses none, the fallback runs a named model, or
// nothing, with an explicit "no prediction".
//
// # Routing
//
// A [Premodel] is a route.Router: it reads the image features (or, for a
// cnn premodel, its [Backbone]'s embedding) and decides ([Premodel.Decide]).
// Package routers writes it into a bundle and loads it back ([Restore]).
//
// # Evaluation
//
// [Evaluate] routes every image of a test table profiled and featured
// separately, and reports top-1, top-5, mean and p95 latency (model
// latency from the test store's costs plus the premodel's features and
// decision time measured here), the share of images per model and the
// premodel's selection accuracy, beside every single model and the
// oracles, each with its per-image choices. [CrossValidate] does it fold by
// fold, once per seed when asked (repeated k-fold cross-validation, folds
// stratified by target or, as the paper draws them, random and equal),
// adds the macro precision and recall and the paper's F1, 2PR/(P+R)
// ([MacroPRF], [PaperF1]), and pools every method's out-of-fold answers
// image by image ([Truth], [Outcome]). [Pooled] reads them as statistics
// of a resample of the images, averaged over the seeds (accuracy, latency
// at drawn costs, overhead, selection and level accuracies, precision,
// recall and F1), so a bootstrap over the images gives each an interval.
// [SelectModels] and [WriteSelection] give Algorithm 1's trace as records
// for Figs 5 and 6.
package premodel
