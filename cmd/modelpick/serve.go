package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/modelpick/modelpick/internal/settings"

	"github.com/modelpick/modelpick/classifier"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/imghdr"
	"github.com/modelpick/modelpick/serve"
)

// serveFlags are the settings serve and loadtest share.
type serveFlags struct {
	bundle, provider, ortLib              *string
	workers, threads, maxInFlight         *int
	maxBody, maxPixels                    *int64
	maxDecoded, decodeBudget              *int64
	timeout, readTimeout, shutdownTimeout *time.Duration
}

func addServeFlags(fs *flag.FlagSet) serveFlags {
	return serveFlags{
		bundle:          fs.String("bundle", "", "bundle folder written by modelpick train"),
		workers:         fs.Int("workers", classifier.DefaultWorkers(), "images classified at once; each worker holds its own ONNX Runtime sessions (default: one per CPU)"),
		threads:         fs.Int("threads", 1, "ONNX Runtime intra-op threads per model"),
		provider:        fs.String("provider", "cpu", "execution provider: cpu, cuda or tensorrt"),
		ortLib:          fs.String("ort-lib", "", "ONNX Runtime library (default $MODELPICK_ORT_LIB or the Makefile's cache)"),
		maxInFlight:     fs.Int("max-in-flight", 0, "requests admitted at once (reading, queued or classifying); beyond, 503 (default max(64, 16 x workers))"),
		maxBody:         fs.Int64("max-body", 16<<20, "largest request body, bytes"),
		maxPixels:       fs.Int64("max-pixels", serve.DefaultMaxPixels, "largest image, width x height, read from its header before decoding"),
		maxDecoded:      fs.Int64("max-decoded-pixels", serve.DefaultMaxDecodedPixels, "most pixels one request decodes at full cost: all of a PNG, BMP, TIFF, WebP or progressive JPEG, a baseline JPEG's after its reduced decode"),
		decodeBudget:    fs.Int64("decode-budget", serve.DefaultDecodeBudget, "bytes of decoded images in flight across requests; beyond, requests wait within -timeout, then 503"),
		timeout:         fs.Duration("timeout", 30*time.Second, "limit on queueing plus classification of one request"),
		readTimeout:     fs.Duration("read-timeout", 30*time.Second, "limit on reading one request"),
		shutdownTimeout: fs.Duration("shutdown-timeout", 60*time.Second, "on SIGTERM or SIGINT, how long to let requests in flight finish"),
	}
}

// open loads the bundle's classifier and a server over it.
func (f serveFlags) open(log *slog.Logger) (*classifier.Classifier, *serve.Server, error) {
	if *f.workers < 1 {
		return nil, nil, fmt.Errorf("%w: -workers %d, want at least 1", errUsage, *f.workers)
	}
	c, err := classifier.Open(*f.bundle, classifier.Options{Workers: *f.workers,
		Load: inference.Options{Threads: *f.threads, Provider: *f.provider, ORTLibrary: *f.ortLib, CacheDir: settings.Cache()}})
	if err != nil {
		return nil, nil, err
	}
	s, err := serve.New(serve.Options{
		Classify:         classifyFunc(c),
		Workers:          *f.workers, // as many as the classifier has sessions for
		MaxInFlight:      *f.maxInFlight,
		MaxBodyBytes:     *f.maxBody,
		MaxPixels:        *f.maxPixels,
		MaxDecodedPixels: *f.maxDecoded,
		DecodeBudget:     *f.decodeBudget,
		Cost: func(img []byte) (serve.Cost, error) {
			k, err := c.Cost(img)
			return serve.Cost{Pixels: k.Pixels, Bytes: k.Bytes}, err
		},
		RequestTimeout:  *f.timeout,
		ReadTimeout:     *f.readTimeout,
		ShutdownTimeout: *f.shutdownTimeout,
		IsBadImage:      isBadImage,
		Log:             log,
	})
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, s, nil
}

// classifyFunc adapts the classifier to the server: the answer is the
// classifier's Result, the fields of a `modelpick classify` line.
func classifyFunc(c *classifier.Classifier) serve.ClassifyFunc {
	return func(ctx context.Context, image []byte) (serve.Outcome, error) {
		r, err := c.Classify(ctx, image)
		if err != nil {
			return serve.Outcome{}, err
		}
		t := r.Timings
		return serve.Outcome{Response: r, Model: r.Model, Features: msDuration(t.Features),
			Premodel: msDuration(t.Premodel), Decode: msDuration(t.Decode), Inference: msDuration(t.Inference)}, nil
	}
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// isBadImage: the image, not the server, is at fault.
func isBadImage(err error) bool {
	for _, e := range []error{features.ErrDecode, inference.ErrDecode, imghdr.ErrUnknownFormat, imghdr.ErrBadHeader, imghdr.ErrTooLarge} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// runServe serves a bundle over HTTP until SIGTERM or SIGINT, then
// finishes the requests in flight.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	sf := addServeFlags(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "bundle"); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, s, err := sf.open(log)
	if err != nil {
		return err
	}
	defer c.Close() // after Serve: no request is left using it
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	// Tests and scripts read the address from this line (-addr with port 0).
	fmt.Fprintf(stdout, "serving %s on http://%s with %d workers\n", *sf.bundle, ln.Addr(), *sf.workers)
	if err := s.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "shut down cleanly")
	return nil
}
