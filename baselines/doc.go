// Package baselines holds the premodel rivals the paper (Taylor et al.,
// "Adaptive Selection of Deep Learning Models on Embedded Systems", LCTES
// 2018) never compared with, evaluated purely from stored profiles: no
// model is run.
//
//   - [Cascade]: the max-softmax confidence cascade, the field's standard
//     baseline. Run the cheapest model; if its top-1 score is below a
//     threshold, run the next model in cost order; the last model always
//     answers. The stored top-1 score of every (image, model) is exactly
//     what the model would have said, so a cascade's accuracy and cost are
//     computed, not measured: an image's latency is the sum of the costs of
//     the models it ran.
//   - [Knob]: one budget knob over a scored premodel (RouteLLM's habit). A
//     premodel trained on the optimum-model targets gives a score per
//     candidate; the cumulative score S_i = sum of the scores of candidates
//     0..i (cost order) estimates P(the optimum model costs no more than
//     candidate i), i.e. "candidate i is enough". The knob alpha picks the
//     first candidate with S_i >= alpha, else the last. Mean latency never
//     falls as alpha rises, so one number sweeps the whole cost/accuracy
//     curve, and calibration is a one-dimensional search.
//   - [RandomMatched]: random routing at a matched mean latency, a mixture
//     of the two candidates whose costs bracket the target (seeded).
//
// # Calibration rules
//
// Every threshold is chosen on training data against an [Objective]:
// either a latency budget (maximise accuracy subject to mean latency <=
// budget; ties go to the lower latency) or a target accuracy (minimise
// mean latency subject to accuracy >= target; ties go to the higher
// accuracy). When nothing meets the constraint the search returns the
// setting closest to it (the cheapest for a budget, the most accurate for
// a target) with Met = false. The searches are exact over the candidate
// thresholds, which are the distinct observed scores plus one value above
// all of them, so every achievable behaviour on the training set is tried:
//
//   - [RuleShared]: one threshold shared by every level of the cascade; an
//     exhaustive search over it. One knob, a whole curve ([SweepCascade]).
//   - [RuleGreedy]: one threshold per level, by coordinate search started
//     from the best shared threshold: each pass tries every candidate value
//     of each level's threshold with the others fixed and keeps a strict
//     improvement; it stops after a pass without one. It is never worse
//     than RuleShared on the training set, and can overfit a small one.
//
// For the knob the scores must be out-of-sample: [OutOfFold] produces them
// by seeded k-fold cross-validation on the training set (the scaler is
// refitted on every training fold), so alpha is calibrated on what the
// premodel says about images it has not seen.
//
// Results are plain records ([Result], [Point]); package cmd/modelpick
// writes them. Randomness comes only from seeds passed in.
package baselines
