// Package featsel chooses the premodel's features (§4.3 of Taylor et al.,
// "Adaptive Selection of Deep Learning Models on Embedded Systems", LCTES
// 2018) and produces the records behind Table 3, Table 4, Figs 7 and 12
// (feature importance) and Fig 13 (accuracy and extraction time against the
// number of features).
//
// The input is a Table: one row of raw feature values per image and the
// image's target, the optimum model (profileview's rule: the cheapest model
// that is correct, or selection.None). [Run], the front door, builds it from
// a store's profile joined with its features (profileview.Table, [TableOf])
// and selects.
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
// # Backward elimination (Table 4, Figs 7, 12, 13)
//
// Starting from the filtered set, every step evaluates, by k-fold
// cross-validation of the premodel, the set without each feature in turn,
// and removes the feature whose removal leaves the highest accuracy (ties
// remove the feature later in Table 2 order). Elimination continues down to
// one feature so the whole accuracy curve is recorded (Fig 13). Accuracy
// "holds" for a set on that path when it is within Tolerance (0.5
// percentage points) of the best accuracy anywhere on the path, and the
// kept set (Table 4) is the smallest set that holds. 0.5 points is the
// paper's own tolerance for the model set (θ of Algorithm 1). Measuring
// against the best of the whole path, rather than stopping at the first
// step that falls short, keeps one noisy evaluation from ending the search
// early: on a few thousand images a CV accuracy moves by about a point from
// one random split to another (Repeats averages several splits), and
// removing a useless feature is as likely to raise it as to lower it.
//
// A feature's importance is the drop in CV accuracy when it alone is
// removed from the kept set; drops are clamped at zero and normalised to
// sum to 100% (Figs 7 and 12). With no features the premodel predicts the
// training folds' most frequent target, so a one-feature set still has an
// importance.
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
// here. Accuracy is the share of all images whose predicted target equals
// their target, pooled over the folds, in percent.
package featsel
