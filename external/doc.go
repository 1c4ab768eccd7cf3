// Package external imports per-image results computed elsewhere into a
// store, so the analyses that need only correctness (Algorithm 1, the
// oracle, optimum-model shares, routing) run on models modelpick cannot
// execute itself, at the paper's scale.
//
// The one format so far, "topk", is a folder of CSV files, one per model,
// named topk_ids_MODEL.csv, each row FILE,PREDICTED[,TRUTH] with the
// top-1 class (0..999) the model predicted for the image FILE and, when
// present, the true class. A file without the TRUTH column takes the truth
// from a ground-truth file ("FILE INDEX" lines, as ImageNet's validation
// ground truth). A TRUTH that disagrees with the ground-truth file, a
// class out of range, a malformed row or a file naming an image twice is
// an error naming the file and line: an import never guesses.
//
// Only the top-1 class is known, so each prediction is stored with one
// class, an unknown score (NaN) and correct@5 false, and each model is
// registered with "k": 1 in its spec: a top-5 analysis must refuse these
// models. No latency or energy is imported: cost comes only from a source
// the analysis names (see the experiments' published-latency files).
package external
