package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/inference"
)

func testImage(t testing.TB, format string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 9), uint8(y * 13), 128, 255})
		}
	}
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// decodingClassifier runs the real decode paths (the premodel's features
// decode and the model's decode) and answers like a classifier that chose
// model "m", without loading any model.
func decodingClassifier(ctx context.Context, img []byte) (Outcome, error) {
	f, err := features.DecodeMax(img, 64)
	if err != nil {
		return Outcome{}, err
	}
	f.Close()
	m, err := inference.DecodeImageMax(img, 1<<22)
	if err != nil {
		return Outcome{}, err
	}
	w, h := m.Cols(), m.Rows()
	m.Close()
	return Outcome{Response: map[string]any{"model": "m", "width": w, "height": h}, Model: "m",
		Features: time.Millisecond, Premodel: time.Microsecond, Decode: 2 * time.Millisecond, Inference: 3 * time.Millisecond}, nil
}

func isDecodeError(err error) bool {
	return errors.Is(err, features.ErrDecode) || errors.Is(err, inference.ErrDecode) || isHeaderError(err)
}

func newTestServer(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Classify == nil {
		o.Classify = decodingClassifier
	}
	if o.IsBadImage == nil {
		o.IsBadImage = isDecodeError
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func multipartBody(t testing.TB, field, filename string, data []byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.WriteField("note", "ignored"); err != nil {
		t.Fatal(err)
	}
	var w io.Writer
	var err error
	if filename != "" {
		w, err = mw.CreateFormFile(field, filename)
	} else {
		w, err = mw.CreateFormField(field)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	mw.Close()
	return &b, mw.FormDataContentType()
}

// answer is a decoded response.
type answer struct {
	code int
	body map[string]any
	hdr  http.Header
}

func do(t testing.TB, s *Server, r *http.Request) answer {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, r)
	a := answer{code: rec.Code, hdr: rec.Header()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
			t.Fatalf("%s %s: invalid JSON %q: %v", r.Method, r.URL.Path, rec.Body.String(), err)
		}
	}
	return a
}

// statusCase is one request and the answer it must get; the OpenAPI test
// checks every (route, code) here is declared.
type statusCase struct {
	name   string
	opts   Options
	req    func(t testing.TB) *http.Request
	code   int
	kind   string
	header string // a header the answer must carry
}

func post(body []byte, ctype string) func(testing.TB) *http.Request {
	return func(testing.TB) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		return r
	}
}

func statusCases(t testing.TB) []statusCase {
	jpg := testImage(t, "jpeg", 40, 30)
	pngb := testImage(t, "png", 40, 30)
	corrupt := append([]byte{}, pngb...)
	for i := 40; i < len(corrupt)-12; i++ { // keep signature, IHDR and IEND; garble the pixels
		corrupt[i] ^= 0x5a
	}
	block := make(chan struct{})
	blocking := func(ctx context.Context, img []byte) (Outcome, error) {
		select {
		case <-block:
		case <-ctx.Done():
			return Outcome{}, fmt.Errorf("wait: %w", ctx.Err())
		}
		return Outcome{}, nil
	}
	return []statusCase{
		{name: "raw jpeg", req: post(jpg, "image/jpeg"), code: 200, header: "X-Modelpick-Model"},
		{name: "raw png, no content type", req: post(pngb, ""), code: 200},
		{name: "curl default content type", req: post(jpg, "application/x-www-form-urlencoded"), code: 200},
		{name: "multipart file", req: func(t testing.TB) *http.Request {
			b, ct := multipartBody(t, "image", "x.jpg", jpg)
			r := httptest.NewRequest(http.MethodPost, "/v1/classify", b)
			r.Header.Set("Content-Type", ct)
			return r
		}, code: 200},
		{name: "multipart other file name", req: func(t testing.TB) *http.Request {
			b, ct := multipartBody(t, "file", "x.png", pngb)
			r := httptest.NewRequest(http.MethodPost, "/v1/classify", b)
			r.Header.Set("Content-Type", ct)
			return r
		}, code: 200},
		{name: "empty body", req: post(nil, "image/jpeg"), code: 400, kind: kindEmpty},
		{name: "multipart without boundary", req: post(jpg, "multipart/form-data"), code: 400, kind: kindMultipart},
		{name: "multipart garbage", req: post(jpg, "multipart/form-data; boundary=xyz"), code: 400, kind: kindMultipart},
		{name: "multipart without image", req: func(t testing.TB) *http.Request {
			b, ct := multipartBody(t, "other", "", []byte("text"))
			r := httptest.NewRequest(http.MethodPost, "/v1/classify", b)
			r.Header.Set("Content-Type", ct)
			return r
		}, code: 400, kind: kindMultipart},
		{name: "multipart empty image", req: func(t testing.TB) *http.Request {
			b, ct := multipartBody(t, "image", "x.jpg", nil)
			r := httptest.NewRequest(http.MethodPost, "/v1/classify", b)
			r.Header.Set("Content-Type", ct)
			return r
		}, code: 400, kind: kindEmpty},
		{name: "truncated jpeg", req: post(jpg[:len(jpg)/2], "image/jpeg"), code: 400, kind: kindTruncated},
		{name: "truncated png", req: post(pngb[:len(pngb)-20], "image/png"), code: 400, kind: kindTruncated},
		{name: "png header only", req: post(pngb[:12], "image/png"), code: 400, kind: kindBadHeader},
		{name: "not an image", req: post([]byte("hello, world"), "text/plain"), code: 415, kind: kindNotImage},
		{name: "ppm (not accepted)", req: post([]byte("P6\n2000000 1\n255\n\x00\x00\x00"), ""), code: 415, kind: kindNotImage},
		{name: "body over limit (Content-Length)", opts: Options{MaxBodyBytes: 100}, req: post(jpg, "image/jpeg"), code: 413, kind: kindBodyTooBig},
		{name: "body over limit (chunked)", opts: Options{MaxBodyBytes: 100}, req: func(testing.TB) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/v1/classify", io.MultiReader(bytes.NewReader(jpg)))
			r.ContentLength = -1
			return r
		}, code: 413, kind: kindBodyTooBig},
		{name: "multipart over limit", opts: Options{MaxBodyBytes: 300}, req: func(t testing.TB) *http.Request {
			b, ct := multipartBody(t, "image", "x.jpg", jpg)
			r := httptest.NewRequest(http.MethodPost, "/v1/classify", io.MultiReader(b))
			r.ContentLength = -1
			r.Header.Set("Content-Type", ct)
			return r
		}, code: 413, kind: kindBodyTooBig},
		{name: "pixels over limit", opts: Options{MaxPixels: 40*30 - 1}, req: post(jpg, "image/jpeg"), code: 413, kind: kindPixels},
		{name: "decoded pixels over limit", opts: Options{MaxDecodedPixels: 40*30 - 1}, req: post(pngb, "image/png"), code: 413, kind: kindDecoded},
		{name: "over the whole decode budget", opts: Options{DecodeBudget: 40*30*4 - 1}, req: post(pngb, "image/png"), code: 413, kind: kindBudget},
		{name: "too many scans", req: post(manyScans(t, jpg, 40), "image/jpeg"), code: 413, kind: kindScans},
		{name: "undecodable", req: post(corrupt, "image/png"), code: 422, kind: kindUndecodable},
		{name: "classifier error", opts: Options{Classify: func(context.Context, []byte) (Outcome, error) {
			return Outcome{}, errors.New("session broke")
		}}, req: post(jpg, "image/jpeg"), code: 500, kind: kindInternal},
		{name: "classifier panic", opts: Options{Classify: func(context.Context, []byte) (Outcome, error) {
			panic("bug")
		}}, req: post(jpg, "image/jpeg"), code: 500, kind: kindInternal},
		{name: "classification timeout", opts: Options{Classify: blocking, RequestTimeout: 20 * time.Millisecond},
			req: post(jpg, "image/jpeg"), code: 504, kind: kindTimeout},
		{name: "wrong method", req: func(testing.TB) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/v1/classify", nil)
		}, code: 405, kind: kindMethod, header: "Allow"},
		{name: "unknown path", req: func(testing.TB) *http.Request {
			return httptest.NewRequest(http.MethodGet, "/v2/classify", nil)
		}, code: 404, kind: kindNotFound},
		{name: "healthz", req: func(testing.TB) *http.Request { return httptest.NewRequest(http.MethodGet, "/healthz", nil) }, code: 200},
		{name: "healthz head", req: func(testing.TB) *http.Request { return httptest.NewRequest(http.MethodHead, "/healthz", nil) }, code: 200},
		{name: "healthz post", req: func(testing.TB) *http.Request { return httptest.NewRequest(http.MethodPost, "/healthz", nil) }, code: 405, kind: kindMethod},
		{name: "metrics", req: func(testing.TB) *http.Request { return httptest.NewRequest(http.MethodGet, "/metrics", nil) }, code: 200},
		{name: "metrics delete", req: func(testing.TB) *http.Request { return httptest.NewRequest(http.MethodDelete, "/metrics", nil) }, code: 405, kind: kindMethod},
		{name: "openapi", req: func(testing.TB) *http.Request { return httptest.NewRequest(http.MethodGet, "/openapi.yaml", nil) }, code: 200},
		{name: "openapi put", req: func(testing.TB) *http.Request { return httptest.NewRequest(http.MethodPut, "/openapi.yaml", nil) }, code: 405, kind: kindMethod},
	}
}

func TestStatusCodes(t *testing.T) {
	for _, c := range statusCases(t) {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, c.opts)
			a := do(t, s, c.req(t))
			if a.code != c.code {
				t.Fatalf("status %d, want %d (%v)", a.code, c.code, a.body)
			}
			if c.kind != "" {
				if a.body["kind"] != c.kind || a.body["code"] != float64(c.code) || a.body["error"] == "" {
					t.Errorf("error body %v, want kind %s", a.body, c.kind)
				}
			}
			if c.header != "" && a.hdr.Get(c.header) == "" {
				t.Errorf("no %s header", c.header)
			}
			if c.code == 200 && c.kind == "" && strings.HasPrefix(a.hdr.Get("Content-Type"), "application/json") && a.body["error"] != nil {
				t.Errorf("200 with an error: %v", a.body)
			}
		})
	}
}

// TestBusyServer fills the worker and the admission limit with requests
// that block, and checks the next ones get 503 (overloaded, queue timeout)
// with Retry-After, and that /healthz answers 503 while draining.
func TestBusyServer(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 8)
	s := newTestServer(t, Options{Workers: 1, MaxInFlight: 2, RequestTimeout: 300 * time.Millisecond,
		Classify: func(ctx context.Context, img []byte) (Outcome, error) {
			started <- struct{}{}
			<-release
			return Outcome{Response: map[string]string{"model": "m"}, Model: "m"}, nil
		}})
	jpg := testImage(t, "jpeg", 8, 8)
	var wg sync.WaitGroup
	first := make(chan answer, 1)
	wg.Add(1)
	go func() { defer wg.Done(); first <- do(t, s, post(jpg, "")(t)) }()
	<-started // the only worker is busy
	// The second request is admitted and waits for the worker until its
	// deadline; a third one, meanwhile, is over the admission limit.
	second := make(chan answer, 1)
	wg.Add(1)
	go func() { defer wg.Done(); second <- do(t, s, post(jpg, "")(t)) }()
	deadline := time.Now().Add(5 * time.Second)
	for s.admitted.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if a := do(t, s, post(jpg, "")(t)); a.code != 503 || a.body["kind"] != kindOverloaded || a.hdr.Get("Retry-After") == "" {
		t.Errorf("over the admission limit: %d %v", a.code, a.body)
	}
	if a := <-second; a.code != 503 || a.body["kind"] != kindQueueWait {
		t.Errorf("queued past the deadline: %d %v", a.code, a.body)
	}
	close(release)
	if a := <-first; a.code != 200 {
		t.Errorf("first request: %d %v", a.code, a.body)
	}
	wg.Wait()
	s.draining.Store(true)
	if a := do(t, s, httptest.NewRequest(http.MethodGet, "/healthz", nil)); a.code != 503 || a.body["status"] != "draining" {
		t.Errorf("healthz while draining: %d %v", a.code, a.body)
	}
}

// TestReadTimeout sends a body that stalls, over a real loopback
// connection, and expects 408.
func TestReadTimeout(t *testing.T) {
	s := newTestServer(t, Options{ReadTimeout: 200 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 408 || body["kind"] != kindReadTimeout {
		t.Errorf("stalled body: %d %v", resp.StatusCode, body)
	}
}

// TestGracefulShutdown cancels Serve's context while a request is being
// classified: the request completes with 200, new connections are refused,
// and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	inside := make(chan struct{})
	release := make(chan struct{})
	s := newTestServer(t, Options{Classify: func(ctx context.Context, img []byte) (Outcome, error) {
		close(inside)
		<-release
		if ctx.Err() != nil {
			return Outcome{}, ctx.Err() // shutdown must not cancel requests in flight
		}
		return Outcome{Response: map[string]string{"model": "m"}, Model: "m"}, nil
	}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	got := make(chan int, 1)
	go func() {
		resp, err := http.Post(url+"/v1/classify", "image/png", bytes.NewReader(testImage(t, "png", 8, 8)))
		if err != nil {
			t.Error(err)
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-inside
	cancel()
	// Shutdown closes the listener first: wait for it, then check.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 100*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if code := <-got; code != 200 {
		t.Errorf("request in flight during shutdown: %d", code)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestNewNeedsClassifier(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a classifier")
	}
}
