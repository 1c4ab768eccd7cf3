// Package classifier deploys a router (a premodel bundle, a softmax
// cascade, a single model) as one image classifier: Classify(ctx, image)
// routes every image through the same call, route.Router.Route, giving the
// router the image as a route.Input (its features, a backbone's embedding,
// model outputs, each computed once on this worker's extractor and ONNX
// Runtime sessions), runs the model whose answer counts and returns the
// top-5 classes (index and name) with their scores, the model, the
// router's decision and the time of each stage.
//
// A result has the same shape whichever router chose the model, so a
// single model (route.Fixed) and a bundle swap for each other.
//
// Every model the router may choose is loaded once per worker when the
// classifier is made, and its sessions are reused for every image. A
// Classifier is safe for concurrent use: a call borrows a worker (its own
// feature extractor and model sessions, which are not safe to share) from
// a fixed pool and returns it, so an HTTP server can call it from many
// goroutines with memory bounded by Options.Workers.
//
// Class names come from the bundle's labels.txt, which train fills from
// the training images' synset_words.txt (the ImageNet class list in index
// order) or, failing that, from the shared models' imagenet_labels.txt
// with its "background" line dropped, as the models' label offset drops
// that output.
package classifier
