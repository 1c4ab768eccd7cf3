// Package committee holds the offline analysis of committees, models whose
// answer is the mean of several models' probability vectors (the model
// kind itself lives in package inference, see inference/committee.go):
//
//   - probs.go: a cache of every single model's full output vector on every
//     image of a set, keyed by the model's files, its preprocessing, the
//     images' bytes and the runtime, under MODELPICK_CACHE (never in the
//     repository). The store keeps only top-5 lists; these vectors are what
//     exact committee and cascade analysis needs.
//   - trace.go: for a level order (one model added per level), the running
//     mean's confidence statistics and correctness on every image and level,
//     the input of a committee cascade router.
//   - selection.go: the rule that picks which committees a ladder spec
//     gets, computed on a training set, and the spec it writes.
//   - compare.go: committees beside single models from a profiled store,
//     with paired bootstrap intervals.
package committee
