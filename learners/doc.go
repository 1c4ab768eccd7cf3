// Package learners holds the premodels of the harness: learners that look
// at a few scaled image features and pick the candidate model to run
// (Taylor et al., "Adaptive Selection of Deep Learning Models on Embedded
// Systems", LCTES 2018, §4 and Fig 7, Fig 10).
//
// Every learner implements one small interface, [Learner]: Fit on a
// [Data] set (rows of min-max scaled features, each labelled with its
// optimum class or [None]), Predict one row into a [Decision] (the class,
// a score per class, and for kNN-based learners the mean distance to the
// neighbours), and MarshalBinary/UnmarshalBinary to save and restore it
// with identical predictions. Class ids index the candidate models the
// caller chose (see package selection); None means "no candidate", and the
// caller applies a fallback.
//
// The learners, registered explicitly in registry.go and constructed by
// name with [New]:
//
//   - "knn": multi-class K-nearest neighbours (K = 5, Euclidean) over an
//     exact kd-tree, so a decision at 50,000 training rows costs a few
//     times, not 50 times, one at 1,000;
//   - "knn-cascade": the paper's premodel, one binary kNN per candidate in
//     Algorithm 1's order, sharing a single neighbour search (see
//     [KNNCascade] for the labelling rule);
//   - "dt": a CART decision tree (Gini, maximum depth, minimum leaf);
//   - "svm": an RBF-kernel SVM through LIBSVM (package learners/libsvm);
//   - "cnn": the head of the CNN premodel, multinomial logistic regression
//     on a frozen ladder backbone's pooled embedding (see [CNNHead] for why
//     not a CNN trained on pixels); not a hierarchy level;
//   - "X.Y.Z", e.g. "knn.svm.dt": a [Hierarchy], the cascade of Fig 10 whose
//     levels are any of knn, dt, svm.
//
// One conformance test runs every registered learner, and some
// hierarchies, through the same checks. [Scaler] is the min-max scaler the
// features go through before any learner, fitted on the training rows.
//
// Randomness: none of the learners needs any except the SVM's probability
// fit and the CNN head's choice of penalty (its cross-validation folds),
// which take the seed passed to Fit. Nothing here uses a global
// random generator or keeps package-level state (apart from the lock the
// libsvm package needs around LIBSVM's own global state).
package learners
