// Package store is the durable record of profiling: one SQLite file
// (modernc.org/sqlite, pure Go, WAL journal) holding per-image correctness
// of every model, per-model cost on one device, image features and runs.
//
// Correctness and cost live in separate tables because they scale
// differently: predictions do not depend on the hardware, so shards
// computed on many machines are combined with Merge; costs must be measured
// on the target device and are keyed by (model, threads) only, so one store
// describes one device.
//
// Durability: WriteBatch commits a batch in one transaction, so a run that
// is killed (even with SIGKILL) loses at most the batch in flight, never
// leaves half of one, and resumes by asking Done which files are finished.
// Writes are upserts on the primary key: writing a row again replaces it,
// so a resumed or repeated run never doubles a row. Merge is stricter: a
// row whose key is already present with other values is an error.
//
// Every prediction and cost names a model registered with RegisterModel,
// which records the model's spec and file hashes; registering a name again
// with a different spec is refused, so one store never mixes two models
// under one name.
//
// The schema is versioned (SchemaVersion in the meta table); Open refuses a
// file of another version rather than migrating it silently. The one
// exception is purely additive: a table that older builds never read (today
// feature_errors) is created by Open when missing, so old stores keep
// working and old builds can still open new ones.
package store
