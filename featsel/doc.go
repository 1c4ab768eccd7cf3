// Package featsel chooses the premodel's features (§3.4 of Taylor et al.,
// "Adaptive Selection of Deep Learning Models on Embedded Systems", LCTES
// 2018) and produces the records behind Table 3, Table 4, Figs 7 and 12
// (feature importance) and Fig 13 (accuracy and extraction time against the
// number of features).
//
// The input is a Table: one row of raw feature values per image, the
// image's target, the optimum model (profileview's rule: the cheapest model
// that is correct, or selection.None), and which models are right on it.
// [Run], the front door, builds it from a store's profile joined with its
// features (profileview.Table, [TableOf]) and selects.
//
// # What elimination tracks
//
// The premodel's accuracy under the criterion (§5.4: "the impact on
// premodel execution time and top-1 accuracy"): the share of images whose
// chosen model is right, top-1 for top-1 targets and top-5 for top-5
// targets. An image the premodel sends to none runs the Table's Fallback,
// the cheapest model, as premodel.Train's default fallback does, so it
// counts as right when that model is. The selection accuracy (naming the
// optimum model, none a class of its own) is recorded beside it ([Score]).
//
// # Correlation filter (Table 3)
//
// Pearson's r is computed for every pair of features (gonum's
// stat.Correlation). Zero-variance features are dropped first (r is
// undefined for them and they cannot help). The remaining features are
// ranked by their mutual information with the target (feature discretised
// into 10 equal-frequency bins; ties keep Table 2 order) and visited in that
// order: a feature is kept unless |r| > threshold (0.75, the paper's) with a
// feature already kept, in which case it is removed against the kept feature
// it is most correlated with. The rule keeps, of two redundant features, the
// one that says more about the target; the paper does not state its rule,
// and Table 2 order alone would keep whichever the authors happened to list
// first. No two kept features are correlated above the threshold.
//
// # Backward elimination (Fig 13)
//
// Starting from the filtered set, every step evaluates, by k-fold
// cross-validation of the premodel, the set without each feature in turn,
// and removes the feature whose removal leaves the highest accuracy (ties
// remove the feature later in Table 2 order). Elimination continues down to
// one feature so the whole accuracy curve is recorded (Fig 13). Accuracy
// "holds" for a set on that path when it is within Tolerance (0.5
// percentage points, the paper's θ for the model set) of the best accuracy
// anywhere on the path, and a path's kept set is the smallest set that
// holds.
//
// # Bootstrap resamples (Table 4, every interval)
//
// One elimination path on a few hundred images is mostly noise: removing a
// useless feature is as likely to raise CV accuracy as to lower it. So
// elimination is repeated on Resamples (20) bootstrap resamples of the
// images (seeded; an image drawn several times has all its copies in one
// fold, so it never trains the premodel that answers it). Table 4 lists
// each feature the filter left with the share of resamples that kept it,
// and keeps those kept by at least KeepShare (half) of them; if none is,
// the most often kept. Every other figure is a statistic computed on each
// resample, reported as its median and 95% percentile interval ([Spread]):
// the number of features kept, the importance of Table 4's features
// (Fig 7) and of every filtered feature (Fig 12), the path's accuracy at
// each number of features and where it peaks (Fig 13).
//
// A feature's importance is the accuracy lost when it alone is removed from
// its set (Table 4's for Fig 7, the filtered set for Fig 12); the shares
// clamp losses at zero and normalise them to 100%. With no features the
// premodel predicts the training folds' most frequent target, so a
// one-feature set still has an importance.
//
// # Information
//
// [Information] measures each feature's mutual information with the target
// against the same estimate with the targets shuffled across the images,
// which keeps the estimator's bias at this many images.
//
// # The premodel inside
//
// Cross-validation uses the same folds for every evaluation (stratified by
// target, seeded). In each fold the run-time min-max scaler
// (learners.Scaler) is fitted on the training rows only and applied to both
// parts, test values clipped to [0, 1] as at run time; the scaled rows go to
// a learners.Learner made by a Factory, so any premodel (the kNN cascade, a
// tree, an X.Y.Z hierarchy) replaces the default (learners' kNN, K = 5,
// Euclidean, majority vote with None a class of its own) without any change
// here. Figures are pooled over the folds, in percent of the images.
package featsel
