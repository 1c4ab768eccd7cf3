// Package serve is the premodel's HTTP service: POST /v1/classify takes an
// image (raw body or multipart form) and answers the JSON that `modelpick
// classify` prints; GET /healthz reports readiness; GET /metrics exposes
// Prometheus text-format counters and latency histograms; GET /openapi.yaml
// describes it all (openapi.yaml, checked against the routes by a test).
//
// The server guards the process that holds the models. Every request is
// bounded before it costs anything: body size (checked against
// Content-Length, then while reading; a multipart form's parts), the
// image's header (format, size in pixels, truncation, JPEG scans; package
// imghdr, read before any decoder runs, because OpenCV aborts the process
// on some sizes), the pixels it decodes at full cost (Options.Cost: a
// JPEG decodes at reduced scale, other formats in full), the bytes of
// decoded images in flight across requests (a first-come-first-served
// decode budget), the number of admitted requests, and a deadline covering
// the wait for the budget, queueing and classification. So what a request
// costs follows what the service decodes, not what a header claims. Classification runs
// on a fixed pool of workers sized to the cores: the classifier keeps its
// ONNX Runtime sessions, so the pool bounds how many run at once and no
// session is ever created per request. Bad input gets a 4xx JSON error; a
// panic in a handler becomes a 500, never a crash. On shutdown the server
// stops accepting, reports draining on /healthz and finishes the requests
// in flight.
//
// The package does not import the premodel: it serves any ClassifyFunc, so
// tests run without models, and cmd/modelpick adapts premodel.Classifier.
package serve
