// Package pipeline runs the harness's stages once and remembers them: a
// stage is one function with a typed input and a typed output, and its
// result is cached under the hash of a complete description of the
// computation, as Go's build cache does.
//
// # Stages
//
// A [Stage] names the computation (Name), says which revision of its own
// code produced the output (Version: bump it whenever the output could
// change) and which other code it depends on (Code: e.g. features.Version,
// onnxconv.Version, the ONNX Runtime library's hash, the Go toolchain).
// [Do] runs a stage on an input:
//
//	out, err := pipeline.Do(ctx, runner, stage, in)
//
// The cache key is the SHA-256 of the canonical JSON of
//
//	{stage, version, code, input}
//
// where every [File] inside the input (an image folder, a model file, a
// store written by an earlier stage) is replaced by its content identity:
// the SHA-256 of its bytes, or, for files whose bytes vary between equal
// runs (an SQLite store), a Digest of their meaning set by the stage that
// wrote them. Paths are not part of the key: moving the shared assets does
// not invalidate anything, changing one byte of an image does.
//
// # The cache
//
// Each computed stage lives in its own folder under the runner's cache
// root (settings.Cache()/pipeline, never inside the repository):
// CACHE/STAGE/KEY/ holds the files the stage wrote (its [Work] folder) and
// entry.json, written last, with the description, the output as JSON, and
// the time it took. A folder without entry.json is a stage that was killed:
// the next run continues in it (the profiling and feature stages resume
// from what their stores hold). A file lock serialises two processes that
// want the same entry.
//
// An experiment calls Do for everything it needs; stages whose entries
// exist cost a stat and a JSON read, so only missing stages run, and a
// second run with nothing changed does no work (every [Record] says "hit").
//
// # Verify
//
// With Runner.Verify set, a cached stage is run again into a scratch folder
// and its output compared with the cached one, field by field (files by
// their identity). Differences in fields the stage declares Volatile
// (measured latencies, timings) are reported as "varies"; any other
// difference is "differs" and exposes nondeterminism. The cached output
// is kept either way, so downstream stages see the same inputs. A stage
// that several experiments share is re-run once per run.
package pipeline
