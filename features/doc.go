// Package features computes the candidate image features of Table 2 of
// Taylor et al., "Adaptive Selection of Deep Learning Models on Embedded
// Systems" (LCTES 2018): the cheap, per-image numbers a premodel looks at to
// pick which classifier to run.
//
// The paper names its features but gives no formulas, so every feature here
// carries an exact Definition (standard ones, cited next to the code and
// collected in DEFINITIONS.md, which MarkdownTable regenerates). The names are
//
//	n_keypoints                                   keypoints.go
//	avg_brightness, brightness_rms,
//	avg_perceived_brightness,
//	perceived_brightness_rms, contrast            brightness.go
//	edge_length1..7, edge_angle1..7               edges.go
//	area_by_perim, aspect_ratio                   shape.go
//	hue1..7                                       hue.go
//
// in the order Names returns. That is 29 names, although DESIGN.md speaks of
// "30 features": no 30th name is known, so none is invented here.
//
// # Extraction
//
// NewExtractor builds an Extractor for any subset of the names. Features
// share intermediate products (the grey image, the Canny edge map, the HSV
// histogram, ...); an Extractor computes, once per image and lazily, only
// the products its chosen features need, so a premodel that keeps five
// features pays for five.
//
// Every image is first shrunk so its longest side is at most
// Options.MaxSide (default 128): Gaussian-pyramid halvings (pyrDown) while
// the image is at least twice that size, then one bilinear step. Features
// are then computed at the resolution of the cheapest ladder model's input,
// memory is bounded whatever the input size, and an image and a resized copy
// of it give nearly the same values. Lengths (edge_length bins,
// area_by_perim) are measured relative to the working image's longest side
// so that images smaller than MaxSide, which are never enlarged, stay
// comparable.
//
// features-v1 used 256 px and INTER_AREA; features-v2 (128 px, pyramid,
// Canny computed in Go on shared Sobel gradients, equal to cv::Canny pixel
// for pixel) cut the cost of all 29 features to about a quarter, because
// the premodel must cost less than the models it chooses between.
//
// # Decoding
//
// Decode and DecodeFile turn encoded bytes into 3-channel 8-bit BGR
// (grayscale is expanded, alpha dropped, CMYK JPEG converted by libjpeg, EXIF
// orientation applied by OpenCV) and return an error, never a crash, for
// empty, corrupt, truncated, unsupported or absurdly large inputs.
// Extractor.ExtractBytes and ExtractFile are the canonical path for stored
// values: they decode large JPEGs at 1/2, 1/4 or 1/8 scale inside libjpeg
// (Reduction: never below MaxSide) before the final shrink, which keeps a
// 12000x12000 photograph at about 7 MB instead of 432 MB. That reduction
// is part of the definition of the values: a full decode gives other ones
// (on imagenet-sample, where 945 of 1000 images are reduced, 5.5% of the
// images keep identical values and a kNN cascade's decision changes on
// about one in six, 156 of 1000, in TestServingFeaturesAreTrainingFeatures
// of package classifier), so whoever serves a premodel decodes as
// Reduction says (DecodeScaled), as the classifier does.
//
// # Versioning
//
// Version changes whenever any definition or default changes. Stored values
// should be keyed by the image's hash and Extractor.ConfigKey, which adds
// the options that change values (MaxSide) to Version.
package features
