// Package embedding is the stage that feeds the CNN premodel: it runs a
// frozen ladder backbone (inference.Embedder: the model imported with its
// pooled tensor as a second output) over a labelled image set and stores
// each image's embedding in the store's features table, one feature per
// dimension ("emb000", "emb001", ...), keyed by the image's content hash
// and a configuration key that names the model, its files' hash and the
// importer's version ([ConfigKey]). A premodel then reads the embedding
// exactly as it reads the image features of Table 2 (same table, another
// key), and the "cnn" learner (learners.CNNHead) trains a head on it.
//
// Like the feature stage (package extract) it writes in batches, one
// store transaction each, resumes where a killed run stopped (an image
// whose embedding is stored is skipped), and records an image it cannot
// decode in feature_errors so a resumed run skips it too.
//
// Cost. The premodel's overhead is the backbone's preprocessing and run on
// the decoded image (Summary.EmbedMS); the full decode is reported apart
// (DecodeMS) because the chosen model needs it whatever the premodel.
// With Options.TimeFeatures the stage also times the extraction of those
// image features from the same file bytes, interleaved with the backbone,
// so the two premodels' overheads are compared on the same images under
// the same machine load.
package embedding
