package serve

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/modelpick/modelpick/internal/imghdr"
)

//go:embed openapi.yaml
var openAPI string // a string, so it cannot be modified

// Outcome is one classification as the server answers and counts it.
type Outcome struct {
	// Response is the JSON body: the value `modelpick classify` prints.
	Response any
	// Model is the model that ran; "" when none did (the premodel said no
	// and there is no fallback).
	Model string
	// Stage timings, for the latency histograms: feature extraction (with
	// its own reduced decode), the premodel's choice, the full decode for
	// the model, and the model's preprocessing and run.
	Features, Premodel, Decode, Inference time.Duration
}

// ClassifyFunc classifies one encoded image. It must be safe for as many
// concurrent calls as Options.Workers, reusing its runtime sessions.
type ClassifyFunc func(ctx context.Context, image []byte) (Outcome, error)

// Options configure a Server. Zero values take the defaults given.
type Options struct {
	Classify ClassifyFunc
	// Workers is how many classifications run at once (default: the
	// number of usable CPUs, GOMAXPROCS). Give the classifier at least as
	// many sets of sessions.
	Workers int
	// MaxInFlight bounds admitted classification requests (reading,
	// queued or classifying); beyond it the server answers 503 at once
	// (default 16 per worker, at least 64). With MaxBodyBytes it bounds
	// the memory held by request bodies.
	MaxInFlight int
	// MaxBodyBytes bounds a request body (default 16 MiB).
	MaxBodyBytes int64
	// MaxPixels bounds an image's width*height as its header claims it,
	// before decoding (default 50 million: an 8000x6000 photograph). It
	// bounds the work of a JPEG decoded at reduced scale, whose every
	// block libjpeg still reads (about 10 ms at 48 M black pixels).
	MaxPixels int64
	// MaxDecodedPixels bounds the pixels a request decodes at full cost
	// (Cost.Pixels): all of a PNG, BMP, TIFF, WebP or progressive JPEG,
	// a baseline JPEG's after DCT scaling (default 4 Mi, 2048x2048: 80
	// times the 224x224 the largest model reads; a black PNG of that size
	// decodes in about 35 ms, one of 8000x6000 in 700).
	MaxDecodedPixels int64
	// DecodeBudget bounds the bytes of decoded images in flight across
	// requests (Cost.Bytes summed; default 256 MiB). A request that does
	// not fit waits, within RequestTimeout, for others to finish, else
	// gets 503; one larger than the whole budget gets 413.
	DecodeBudget int64
	// Cost tells what classifying an image will decode, from its header
	// (default FullDecodeCost). cmd/modelpick passes the classifier's.
	Cost func(image []byte) (Cost, error)
	// RequestTimeout bounds queueing plus classification (default 30 s).
	RequestTimeout time.Duration
	// ReadTimeout bounds reading a request, header and body (default 30 s).
	ReadTimeout time.Duration
	// ShutdownTimeout bounds the wait for requests in flight on shutdown
	// (default 60 s); requests still running then are cut.
	ShutdownTimeout time.Duration
	// IsBadImage reports whether an error from Classify is the image's
	// fault (422) rather than the server's (500). Default: header errors
	// of package imghdr only; cmd/modelpick adds the decoders' ErrDecode.
	IsBadImage func(error) bool
	// Log receives warnings and errors (default: discarded).
	Log *slog.Logger
}

// Defaults of the image limits (see Options).
const (
	DefaultMaxPixels        = 50_000_000
	DefaultMaxDecodedPixels = 1 << 22
	DefaultDecodeBudget     = 256 << 20
)

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = max(64, 16*o.Workers)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 16 << 20
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxDecodedPixels <= 0 {
		o.MaxDecodedPixels = DefaultMaxDecodedPixels
	}
	if o.DecodeBudget <= 0 {
		o.DecodeBudget = DefaultDecodeBudget
	}
	if o.Cost == nil {
		o.Cost = FullDecodeCost
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 60 * time.Second
	}
	if o.IsBadImage == nil {
		o.IsBadImage = isHeaderError
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

func isHeaderError(err error) bool {
	return errors.Is(err, imghdr.ErrUnknownFormat) || errors.Is(err, imghdr.ErrBadHeader) || errors.Is(err, imghdr.ErrTooLarge)
}

// Server is the HTTP service. It is an http.Handler; Serve runs it on a
// listener until its context ends, then shuts down gracefully.
type Server struct {
	opts     Options
	work     chan struct{} // a token per worker
	admitted atomic.Int64
	draining atomic.Bool
	m        *metrics
	budget   *budget
}

// New checks the options and returns a Server.
func New(o Options) (*Server, error) {
	if o.Classify == nil {
		return nil, errors.New("serve: no classifier")
	}
	o = o.withDefaults()
	return &Server{
		opts:   o,
		work:   make(chan struct{}, o.Workers),
		m:      newMetrics(o.Workers, o.DecodeBudget, time.Now()),
		budget: &budget{size: o.DecodeBudget},
	}, nil
}

// route is one endpoint; GET routes also answer HEAD.
type route struct {
	method, path string
	handle       func(*Server, http.ResponseWriter, *http.Request)
}

// routes is the server's API, the one list the mux and the OpenAPI test
// read.
func routes() []route {
	return []route{
		{http.MethodPost, "/v1/classify", (*Server).classify},
		{http.MethodGet, "/healthz", (*Server).healthz},
		{http.MethodGet, "/metrics", (*Server).metrics},
		{http.MethodGet, "/openapi.yaml", (*Server).openapi},
	}
}

// ServeHTTP routes a request, answering unknown paths and methods with JSON
// errors and turning a panic into a 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &statusWriter{ResponseWriter: w}
	label := "other" // unknown paths share one label: no unbounded series
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p) // net/http's way to abort a response: let it
			}
			s.opts.Log.Error("panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if rw.status == 0 {
				s.fail(rw, errInternal("internal error"))
			} else {
				s.m.error(kindInternal)
			}
		}
		s.m.request(label, rw.code())
	}()
	for _, rt := range routes() {
		if rt.path != r.URL.Path {
			continue
		}
		label = rt.path
		if r.Method == rt.method || (rt.method == http.MethodGet && r.Method == http.MethodHead) {
			rt.handle(s, rw, r)
			return
		}
		allow := rt.method
		if rt.method == http.MethodGet {
			allow += ", " + http.MethodHead
		}
		rw.Header().Set("Allow", allow)
		s.fail(rw, &apiError{http.StatusMethodNotAllowed, kindMethod, fmt.Sprintf("%s %s: use %s", r.Method, rt.path, allow)})
		return
	}
	s.fail(rw, &apiError{http.StatusNotFound, kindNotFound, fmt.Sprintf("no endpoint %s; see /openapi.yaml", r.URL.Path)})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	status, code := "ok", http.StatusOK
	if s.draining.Load() {
		status, code = "draining", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{
		"status":              status,
		"workers":             s.opts.Workers,
		"in_flight":           s.admitted.Load(),
		"decode_budget_bytes": s.opts.DecodeBudget,
		"decode_bytes_in_use": s.budget.inUse(),
	})
}

func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if err := s.m.write(w, time.Now()); err != nil {
		s.opts.Log.Warn("write metrics", "err", err)
	}
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	io.WriteString(w, openAPI)
}

// Serve answers requests on ln until ctx ends, then shuts down
// gracefully: it stops accepting, reports draining on /healthz, and waits
// up to ShutdownTimeout for the requests in flight, which keep running
// (their contexts do not inherit ctx's cancellation). It returns nil after
// a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	o := s.opts
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: min(o.ReadTimeout, 10*time.Second),
		ReadTimeout:       o.ReadTimeout,
		// Set when the header is read, so it covers the body, the queue
		// and the classification, plus a margin to write the answer.
		WriteTimeout:   o.ReadTimeout + o.RequestTimeout + 5*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:       slog.NewLogLogger(o.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	o.Log.Info("shutting down: finishing requests in flight", "in_flight", s.admitted.Load())
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown %s: %w (requests still running after %v were cut)", ln.Addr(), err, o.ShutdownTimeout)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, err = w.Write(append(b, '\n'))
	return err
}

// routeList is "METHOD /path" for each route, for the OpenAPI check.
func routeList() []string {
	var out []string
	for _, r := range routes() {
		out = append(out, strings.ToLower(r.method)+" "+r.path)
	}
	return out
}
