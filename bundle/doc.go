// Package bundle is the on-disk format of a trained router: a folder with
// manifest.json (format, version, the router kind and its settings, the
// candidates, the training data's description, and the SHA-256 and size of
// every other file), the router kind's own files, labels.txt (class names)
// and models/NAME/* (a copy of every model the router may run, checked
// against the hash the store profiled).
//
// [Write] assembles a bundle beside its folder and renames it into place,
// so a failed write never leaves half a bundle. [Open] refuses another
// format or version and any missing, changed or unlisted-but-needed file,
// naming it; the router kind (package routers) reads its own settings
// ([Bundle.Settings]) and files ([Bundle.File]) from what Open verified.
// Bundles of format version 1 written before the router field existed are
// "learner" bundles.
package bundle
