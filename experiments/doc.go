// Package experiments holds the declarative experiment specs (one YAML
// file per table or figure of the paper, in this folder) and runs them
// through the cached pipeline (packages pipeline and pipeline/stages).
//
// A spec names its artifact, its kind (what analysis it is; registered in
// kinds.go) and its inputs: image sets, model specs (models/ladder.yaml),
// criterion, learner, folds, seed, theta, and for the paper-scale analysis
// an import of external per-image results and a published latency file.
// ParseSpec rejects a malformed spec — an unknown field, a field of the
// wrong type, an input a kind needs but the spec lacks or names wrongly,
// a field the kind does not use — before any stage runs, naming the file,
// the line and the field.
//
// Run executes one spec: the kind asks the pipeline for every stage it
// needs (only missing ones compute), and returns records. Run writes them
// to results/NAME/ (CSV and JSON, measures.json for the claims, table.md,
// manifest.json with inputs and their hashes, settings, seeds, versions,
// platform, the stages with their compute times) and draws the figures
// from the written records into figures/. A failed experiment leaves the
// results of the others, and its own previous results, untouched.
//
// A kind whose building blocks have not landed yet is registered as
// pending: its specs parse and validate, and Run records it as "not
// attempted" with the reason, so REPRODUCE.md lists it.
package experiments
