package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/modelpick/modelpick/internal/imghdr"
)

// Error kinds: the "kind" of a JSON error and the label of
// modelpick_errors_total. openapi.yaml lists them.
const (
	kindEmpty       = "empty_body"
	kindMultipart   = "bad_multipart"
	kindBodyTooBig  = "body_too_large"
	kindReadTimeout = "read_timeout"
	kindRead        = "read_error"
	kindNotImage    = "not_an_image"
	kindBadHeader   = "bad_header"
	kindTruncated   = "truncated"
	kindPixels      = "too_many_pixels"
	kindDecoded     = "too_many_decoded_pixels"
	kindScans       = "too_many_scans"
	kindBudget      = "over_decode_budget"
	kindUndecodable = "undecodable"
	kindOverloaded  = "overloaded"
	kindQueueWait   = "queue_timeout"
	kindBudgetWait  = "decode_budget_timeout"
	kindTimeout     = "timeout"
	kindCanceled    = "canceled"
	kindInternal    = "internal"
	kindMethod      = "method_not_allowed"
	kindNotFound    = "not_found"
)

// statusClientClosed is nginx's code for a client that went away before
// the answer; no client ever reads it, but the metrics tell it apart.
const statusClientClosed = 499

// apiError is an error answer: {"error": message, "kind": kind, "code":
// code}. "error" is a string, as on `modelpick classify`'s error lines.
type apiError struct {
	code    int
	kind    string
	message string
}

func (e *apiError) Error() string { return e.kind + ": " + e.message }

// errorBody is the JSON of an error answer.
type errorBody struct {
	Error string `json:"error"`
	Kind  string `json:"kind"`
	Code  int    `json:"code"`
}

func errInternal(msg string) *apiError {
	return &apiError{http.StatusInternalServerError, kindInternal, msg}
}

func (s *Server) fail(w http.ResponseWriter, e *apiError) {
	s.m.error(e.kind)
	if e.code >= 500 && e.code != http.StatusServiceUnavailable {
		s.opts.Log.Error("request failed", "code", e.code, "kind", e.kind, "err", e.message)
	}
	if e.code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.code, errorBody{Error: e.message, Kind: e.kind, Code: e.code})
}

// classify answers POST /v1/classify: admit, read the image, check its
// header, wait for a worker, classify, answer.
func (s *Server) classify(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if n := s.admitted.Add(1); n > int64(s.opts.MaxInFlight) {
		s.admitted.Add(-1)
		s.fail(w, &apiError{http.StatusServiceUnavailable, kindOverloaded,
			fmt.Sprintf("%d requests in flight, the limit: retry later", s.opts.MaxInFlight)})
		return
	}
	s.m.addInFlight(1)
	defer func() {
		s.admitted.Add(-1)
		s.m.addInFlight(-1)
		s.m.observe(stageRequest, time.Since(start))
	}()
	img, e := s.readImage(w, r)
	if e != nil {
		s.fail(w, e)
		return
	}
	if e := s.checkHeader(img); e != nil {
		s.fail(w, e)
		return
	}
	cost, e := s.checkCost(img)
	if e != nil {
		s.fail(w, e)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	if e := s.takeBudget(ctx, cost.Bytes); e != nil {
		s.fail(w, e)
		return
	}
	out, e := s.run(ctx, img)
	s.budget.release(cost.Bytes)
	s.m.addDecoding(-cost.Bytes)
	if e != nil {
		s.fail(w, e)
		return
	}
	s.m.classified(out.Model, out)
	if out.Model != "" {
		w.Header().Set("X-Modelpick-Model", out.Model)
	}
	if err := writeJSON(w, http.StatusOK, out.Response); err != nil {
		s.opts.Log.Warn("write answer", "err", err)
	}
}

// run waits for a worker and classifies. A panic in the classifier is
// recovered here so the worker's token is always returned.
func (s *Server) run(ctx context.Context, img []byte) (out Outcome, e *apiError) {
	queued := time.Now()
	s.m.addQueued(1)
	select {
	case s.work <- struct{}{}:
		s.m.addQueued(-1)
	case <-ctx.Done():
		s.m.addQueued(-1)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return out, &apiError{http.StatusServiceUnavailable, kindQueueWait,
				fmt.Sprintf("no worker free within %v: retry later", s.opts.RequestTimeout)}
		}
		return out, &apiError{statusClientClosed, kindCanceled, "the client went away while queued"}
	}
	s.m.observe(stageQueue, time.Since(queued))
	defer func() {
		<-s.work
		if p := recover(); p != nil {
			s.opts.Log.Error("panic in classifier", "panic", fmt.Sprint(p))
			e = errInternal("the classifier failed")
		}
	}()
	out, err := s.opts.Classify(ctx, img)
	switch {
	case err == nil:
		return out, nil
	case s.opts.IsBadImage(err):
		return out, &apiError{http.StatusUnprocessableEntity, kindUndecodable, err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return out, &apiError{http.StatusGatewayTimeout, kindTimeout,
			fmt.Sprintf("classification did not finish within %v", s.opts.RequestTimeout)}
	case errors.Is(err, context.Canceled):
		return out, &apiError{statusClientClosed, kindCanceled, "the client went away"}
	default:
		s.opts.Log.Error("classify", "err", err)
		return out, errInternal("classification failed")
	}
}

// checkHeader refuses what the decoders must not see: unknown formats,
// unreadable headers, images over the pixel limit, and truncated data
// (libjpeg would decode a cut JPEG with grey rows, silently).
func (s *Server) checkHeader(img []byte) *apiError {
	h, err := imghdr.Read(img)
	switch {
	case errors.Is(err, imghdr.ErrUnknownFormat):
		return &apiError{http.StatusUnsupportedMediaType, kindNotImage, err.Error()}
	case err != nil:
		return &apiError{http.StatusBadRequest, kindBadHeader, err.Error()}
	}
	if h.Scans > imghdr.MaxJPEGScans {
		return &apiError{http.StatusRequestEntityTooLarge, kindScans, fmt.Sprintf(
			"the jpeg has %d scans, the limit is %d: libjpeg makes a pass over the whole image per scan, and encoders write 1 to about 10; re-encode it",
			h.Scans, imghdr.MaxJPEGScans)}
	}
	if h.Pixels() > s.opts.MaxPixels {
		return &apiError{http.StatusRequestEntityTooLarge, kindPixels, fmt.Sprintf(
			"the %s of %dx%d = %d pixels is over the limit of %d pixels (modelpick serve -max-pixels): send it smaller, or raise the limit",
			h.Format, h.Width, h.Height, h.Pixels(), s.opts.MaxPixels)}
	}
	if err := h.Check(0); err != nil { // the decoder's own limits
		return &apiError{http.StatusRequestEntityTooLarge, kindPixels, err.Error()}
	}
	if !h.Complete {
		return &apiError{http.StatusBadRequest, kindTruncated,
			fmt.Sprintf("the %s data ends before its end marker (%d bytes received)", h.Format, len(img))}
	}
	return nil
}

// checkCost asks what the image will decode and refuses what is over the
// decoded-pixel limit or the whole decode budget.
func (s *Server) checkCost(img []byte) (Cost, *apiError) {
	c, err := s.opts.Cost(img)
	if err != nil {
		return c, &apiError{http.StatusBadRequest, kindBadHeader, err.Error()}
	}
	if c.Pixels > s.opts.MaxDecodedPixels {
		return c, &apiError{http.StatusRequestEntityTooLarge, kindDecoded, fmt.Sprintf(
			"decoding this image takes %d pixels, over the limit of %d (modelpick serve -max-decoded-pixels): a PNG, BMP, TIFF, WebP or progressive JPEG decodes in full, a baseline JPEG at down to 1/8 of each side; send it smaller, or raise the limit",
			c.Pixels, s.opts.MaxDecodedPixels)}
	}
	if c.Bytes > s.opts.DecodeBudget {
		return c, &apiError{http.StatusRequestEntityTooLarge, kindBudget, fmt.Sprintf(
			"decoding this image takes %d bytes, more than the whole decode budget of %d (modelpick serve -decode-budget): send it smaller, or raise the budget",
			c.Bytes, s.opts.DecodeBudget)}
	}
	return c, nil
}

// takeBudget waits, within ctx, for n bytes of the decode budget.
func (s *Server) takeBudget(ctx context.Context, n int64) *apiError {
	if err := s.budget.acquire(ctx, n); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return &apiError{http.StatusServiceUnavailable, kindBudgetWait, fmt.Sprintf(
				"the decode budget of %d bytes (modelpick serve -decode-budget) had no room for this image's %d within %v: retry later",
				s.opts.DecodeBudget, n, s.opts.RequestTimeout)}
		}
		return &apiError{statusClientClosed, kindCanceled, "the client went away while waiting for the decode budget"}
	}
	s.m.addDecoding(n)
	return nil
}

// readImage returns the image bytes of a raw body or of a multipart form's
// "image" part (else its first file part).
func (s *Server) readImage(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	limit := s.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, tooBig(limit)
	}
	if sw, ok := w.(*statusWriter); ok {
		w = sw.ResponseWriter // MaxBytesReader tells the server itself to close the connection
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && mt == "multipart/form-data" {
		return s.readMultipart(body, params["boundary"])
	}
	data, e := readAll(body, r.ContentLength, limit)
	if e != nil {
		return nil, e
	}
	if len(data) == 0 {
		return nil, &apiError{http.StatusBadRequest, kindEmpty, "empty body: send the image bytes, or a multipart form with an \"image\" file"}
	}
	return data, nil
}

func (s *Server) readMultipart(body io.Reader, boundary string) ([]byte, *apiError) {
	if boundary == "" {
		return nil, &apiError{http.StatusBadRequest, kindMultipart, "multipart/form-data without a boundary"}
	}
	mr := multipart.NewReader(body, boundary)
	for parts := 0; ; parts++ {
		if parts == maxParts {
			// Each part costs a MIME header parse: a body of empty parts
			// is a million of them.
			return nil, &apiError{http.StatusBadRequest, kindMultipart,
				fmt.Sprintf("the form has more than %d parts before its image: send the image in one of the first %d", maxParts, maxParts)}
		}
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, &apiError{http.StatusBadRequest, kindMultipart, "the form has no \"image\" part and no file"}
		}
		if err != nil {
			if e := readError(err, s.opts.MaxBodyBytes); e.kind != kindRead {
				return nil, e
			}
			return nil, &apiError{http.StatusBadRequest, kindMultipart, err.Error()}
		}
		if p.FormName() != "image" && p.FileName() == "" {
			continue // another form field; NextPart skips its content
		}
		data, e := readAll(p, -1, s.opts.MaxBodyBytes)
		p.Close()
		if e != nil {
			return nil, e
		}
		if len(data) == 0 {
			return nil, &apiError{http.StatusBadRequest, kindEmpty, fmt.Sprintf("the form's %q part is empty", p.FormName())}
		}
		return data, nil
	}
}

// maxParts bounds the parts of a multipart form read before its image.
const maxParts = 16

// preGrow bounds the buffer allocated on the word of Content-Length: a
// client that announces 16 MiB and sends a byte a second must not hold
// 16 MiB; beyond it, the buffer grows with the data that arrives.
const preGrow = 1 << 20

// readAll reads r, sized by Content-Length when it is known and sane.
func readAll(r io.Reader, size, limit int64) ([]byte, *apiError) {
	var buf bytes.Buffer
	if size > 0 && size <= limit {
		buf.Grow(int(min(size, preGrow)) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, readError(err, limit)
	}
	return buf.Bytes(), nil
}

func readError(err error, limit int64) *apiError {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooBig(limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &apiError{http.StatusRequestTimeout, kindReadTimeout, "the body did not arrive in time"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &apiError{http.StatusBadRequest, kindRead, "the body ended early: " + err.Error()}
	}
	return &apiError{http.StatusBadRequest, kindRead, "read body: " + err.Error()}
}

func tooBig(limit int64) *apiError {
	return &apiError{http.StatusRequestEntityTooLarge, kindBodyTooBig,
		"the body is larger than " + strconv.FormatInt(limit, 10) + " bytes"}
}
