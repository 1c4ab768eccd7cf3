// Package premodel trains, stores and evaluates the premodel of Taylor et
// al., "Adaptive Selection of Deep Learning Models on Embedded Systems"
// (LCTES 2018): the cheap router that looks at a few image features and
// picks which classifier to run.
//
// # Training set
//
// [LoadProfile] reads a store's per-image correctness (top-1 and top-5) of
// every model and each model's latency from the costs table; [Load] joins
// each image, by content hash and feature configuration key, with its
// stored features. Targets are selection.Targets under the criterion: the
// fastest model that is correct, or none. A store without latencies, without
// features, without top-5 lists for a top-5 criterion, or with no image that
// has both, is an error that names the command to run.
//
// # Training
//
// [Train] runs Algorithm 1 (selection.SelectModels, theta in percentage
// points, 0.5 by default) to choose the candidate models and their order,
// restricts the targets to those candidates, fits a min-max scaler on the
// training rows only, and fits any learner of package learners by name
// (knn, knn-cascade, dt, svm, or an X.Y.Z hierarchy with one level per
// candidate). It also calibrates the confidence threshold (see
// [Confidence]): every decision carries the mean distance to its K nearest
// training rows, and an option escalates decisions beyond the threshold to
// the most accurate model. When the learner chooses none, the fallback
// runs a named model, or nothing, with an explicit "no prediction".
//
// # Routers
//
// A [Router] maps one image (its raw feature values, and the encoded image
// for routers that read pixels) to a [Decision]: the model to run or none,
// a score per candidate, the neighbour distance and the reason. [Premodel]
// is the learner-based router; [Fixed] always answers one model, so a
// single model runs through the same classifier. Other routers (a CNN on
// pixels, a softmax-confidence cascade) plug in through the same interface.
//
// # Bundle
//
// [WriteBundle] writes a folder: manifest.json (format, version, criterion,
// learner and its settings, seed, theta, candidates in order, fallback,
// confidence, selected features with their extractor configuration key,
// the model specs, the training data's description, and the SHA-256 and
// size of every other file), learner.bin (the learner's MarshalBinary),
// arrays/*.npy (scaled training features and targets, scaler minima and
// maxima, leave-one-out distances; NumPy format, readable without
// modelpick), labels.txt, trace.json (Algorithm 1) and models/NAME/* (a
// copy of every model file the premodel may run, checked against the hash
// the store profiled). [LoadBundle] refuses another format or version, a
// changed or missing file (naming it), and features that this build would
// compute differently.
//
// The manifest's "router" names the kind of bundle: "learner" (the
// default, for manifests written before the field), "cnn" (a Premodel
// whose features are a backbone's stored embedding; the "backbone" entry
// names the model, the dimension and the files' hash: [Premodel.Backbone])
// or "softmax-cascade" ([WriteCascadeBundle]: the "cascade" entry holds the
// levels in cost order, the thresholds and the calibration, and there is
// no learner; [SoftmaxCascade] is the router, [EvaluateCascade] its
// evaluation from a test store's stored scores and costs).
//
// # Evaluation
//
// [Evaluate] routes every image of a test set profiled and featured
// separately, and reports top-1, top-5, mean and p95 latency (model
// latency from the test store's costs plus the premodel's features and
// decision time measured here), the share of images per model and the
// premodel's selection accuracy, beside every single model and the
// oracles. [SelectModels] and [WriteSelection] give Algorithm 1's trace as
// records for Figs 5 and 6.
package premodel
