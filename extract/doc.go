// Package extract is the feature-extraction stage: it computes the image
// features of package features for every image of a data set and stores them
// per image, keyed by the sha256 of the image file's bytes and the
// extractor's ConfigKey (feature-code version plus the options that change
// values), so equal images share values across data sets and a code change
// never reuses stale ones.
//
// It is written like the profiling stage (package profile):
//
//   - a pool of workers, one per core by default; each worker owns its
//     Extractor and the OpenCV Mats of the image it is on, so no gocv state
//     is shared between goroutines;
//   - results are written in batches, each one store transaction, so a run
//     that is killed loses at most the batch in flight;
//   - resumable: a restarted run reads each file, hashes it, and skips an
//     image whose requested features are all stored (or whose error is), so
//     it continues where the killed run stopped and ends with the same store
//     as an uninterrupted run;
//   - a progress line (count, rate, ETA) on the Progress writer.
//
// A chosen subset of features (Options.Names) computes only those features
// and the intermediate products they need (see features.Extractor).
//
// An image whose features cannot be computed (corrupt, truncated, an
// unsupported format, absurdly large) is recorded in the store's
// feature_errors table under its hash and the config key, and the run goes
// on. A file that cannot be read at all (missing, no permission) has no
// content hash to record: it is reported in the Summary and retried by the
// next run.
package extract
