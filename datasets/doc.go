// Package datasets loads labelled image sets and splits them: k-fold
// cross-validation folds and shards for scale-out profiling.
//
// Three layouts are understood (see LoadWith):
//
//   - the shared format: a folder of images with labels.txt, lines
//     "FILENAME INDEX" (INDEX in 0..999, the order of synset_words.txt), and
//     an optional synset_words.txt ("n01440764 tench, Tinca tinca", class
//     index = line number);
//   - ImageFolder: one subfolder per class, named by synset id (mapped
//     through synset_words.txt) or by a numeric class index;
//   - a flat folder of images plus a ground-truth file in the same
//     "FILE INDEX" form, such as the ImageNet validation ground truth.
//
// A label file is the set's manifest, so every file it names must exist:
// a missing image is an error (listing the first few missing names and
// the count), never silently dropped, because dropping it would change
// every accuracy denominator. Files in the folder that the label file does
// not name are ignored. With a ground-truth file the folder is the
// manifest instead: every image in it must have a ground-truth entry, and
// entries for images that are not there are ignored (the full 50,000-line
// file serves any subset).
//
// Items are sorted by File, so indices into Set.Items, folds and shards
// are the same on every machine and in every run.
package datasets
