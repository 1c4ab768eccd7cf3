package serve

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/imghdr"
)

// withFrameSize rewrites the frame size of a JPEG (SOF0 or SOF2): a
// small file that claims a large image, whose missing data libjpeg fills
// with grey after a warning.
func withFrameSize(t testing.TB, jpg []byte, w, h int) []byte {
	t.Helper()
	out := bytes.Clone(jpg)
	for i := 2; i+9 < len(out); i++ {
		if out[i] == 0xFF && (out[i+1] == 0xC0 || out[i+1] == 0xC2) {
			binary.BigEndian.PutUint16(out[i+5:], uint16(h))
			binary.BigEndian.PutUint16(out[i+7:], uint16(w))
			return out
		}
	}
	t.Fatal("no frame header")
	return nil
}

// manyScans repeats a JPEG's scan: imghdr counts every start-of-scan.
func manyScans(t testing.TB, jpg []byte, n int) []byte {
	t.Helper()
	out, err := JPEGWithExtraScans(jpg, n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func progressiveJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer m.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegProgressive, 1})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

// scaledCost is the cost of a classifier that decodes a JPEG at the
// scale of the features' canonical path (working side 128) and nothing
// else: what the real classifier tells for a router without models.
func scaledCost(img []byte) (Cost, error) {
	h, err := imghdr.Read(img)
	if err != nil {
		return Cost{}, err
	}
	w, ht := h.ScaledSize(features.Reduction(h, features.DefaultMaxSide))
	px := int64(w) * int64(ht)
	if h.Buffered() {
		px = h.Pixels() * h.BufferedPasses()
	}
	return Cost{Pixels: px, Bytes: 4*int64(w)*int64(ht) + h.CoefficientBytes()}, nil
}

// TestBombsAnswerWithinBudget sends images whose header claims much more
// than their bytes: each is refused before any decoder runs, naming the
// limit and the flag, or decoded at reduced scale within what Cost said.
func TestBombsAnswerWithinBudget(t *testing.T) {
	small := testImage(t, "jpeg", 16, 16)
	var decodedBytes atomic.Int64
	var calls atomic.Int32
	classify := func(_ context.Context, img []byte) (Outcome, error) {
		calls.Add(1)
		h, err := imghdr.Read(img)
		if err != nil {
			return Outcome{}, err
		}
		m, err := features.DecodeScaled(img, features.Reduction(h, features.DefaultMaxSide))
		if err != nil {
			return Outcome{}, err
		}
		decodedBytes.Store(int64(m.Total() * m.ElemSize()))
		m.Close()
		return Outcome{Response: map[string]string{"model": "m"}, Model: "m"}, nil
	}
	for _, c := range []struct {
		name string
		img  []byte
		code int
		kind string
		flag string
	}{
		{"8000x6000 black PNG", BlackPNG(8000, 6000), 413, kindDecoded, "-max-decoded-pixels"},
		{"8000x6000 progressive JPEG", withFrameSize(t, progressiveJPEG(t, 16, 16), 8000, 6000), 413, kindDecoded, "-max-decoded-pixels"},
		{"10000x6000 JPEG", withFrameSize(t, small, 10000, 6000), 413, kindPixels, "-max-pixels"},
		{"JPEG of 33 scans", manyScans(t, small, imghdr.MaxJPEGScans), 413, kindScans, ""},
		{"8000x6000 baseline JPEG", withFrameSize(t, small, 8000, 6000), 200, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls.Store(0)
			s := newTestServer(t, Options{Classify: classify, Cost: scaledCost})
			a := do(t, s, post(c.img, "")(t))
			if a.code != c.code || (c.kind != "" && a.body["kind"] != c.kind) {
				t.Fatalf("%d %v, want %d %s", a.code, a.body, c.code, c.kind)
			}
			if c.code != 200 {
				msg, _ := a.body["error"].(string)
				if calls.Load() != 0 || !strings.Contains(msg, "limit") || !strings.Contains(msg, c.flag) {
					t.Errorf("refused after %d decodes, message %q: want no decode and the limit and flag %q named", calls.Load(), msg, c.flag)
				}
				return
			}
			want, _ := scaledCost(c.img)
			if got := decodedBytes.Load(); got == 0 || got > want.Bytes {
				t.Errorf("decoded %d bytes, Cost said %d", got, want.Bytes)
			}
		})
	}
	s := newTestServer(t, Options{Classify: classify, Cost: scaledCost, DecodeBudget: 1 << 20})
	a := do(t, s, post(withFrameSize(t, small, 8000, 6000), "")(t))
	if msg, _ := a.body["error"].(string); a.code != 413 || a.body["kind"] != kindBudget || !strings.Contains(msg, "-decode-budget") {
		t.Errorf("over the whole budget: %d %v", a.code, a.body)
	}
}

// TestDecodeBudgetUnderConcurrency sends many requests at once to more
// workers than the budget allows to decode together: the bytes in flight
// never exceed the budget, and every request is answered.
func TestDecodeBudgetUnderConcurrency(t *testing.T) {
	sizes := map[int]int64{10: 100, 11: 150, 12: 250} // image side -> bytes
	var inUse, peak atomic.Int64
	s := newTestServer(t, Options{Workers: 8, DecodeBudget: 400, RequestTimeout: 10 * time.Second,
		Cost: func(img []byte) (Cost, error) {
			h, err := imghdr.Read(img)
			return Cost{Pixels: h.Pixels(), Bytes: sizes[h.Width]}, err
		},
		Classify: func(_ context.Context, img []byte) (Outcome, error) {
			h, _ := imghdr.Read(img)
			n := inUse.Add(sizes[h.Width])
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(2 * time.Millisecond)
			inUse.Add(-sizes[h.Width])
			return Outcome{Response: map[string]string{"model": "m"}, Model: "m"}, nil
		}})
	imgs := [][]byte{testImage(t, "png", 10, 10), testImage(t, "png", 11, 10), testImage(t, "png", 12, 10)}
	var wg sync.WaitGroup
	codes := make(chan int, 60)
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- do(t, s, post(imgs[i%3], "")(t)).code
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("status %d", c)
		}
	}
	if p := peak.Load(); p > 400 || p < 250 {
		t.Errorf("peak bytes decoding at once %d: want at most the budget, 400 (and at least one image's)", p)
	}
	if n := s.budget.inUse(); n != 0 {
		t.Errorf("%d bytes of the budget still taken after every answer", n)
	}
	m := parseMetrics(t, doRaw(t, s, http.MethodGet, "/metrics"))
	if m["modelpick_decode_bytes_in_use"] != 0 || m["modelpick_decode_budget_bytes"] != 400 {
		t.Errorf("budget gauges: %v / %v", m["modelpick_decode_bytes_in_use"], m["modelpick_decode_budget_bytes"])
	}
}

// TestDecodeBudgetTimeout holds the whole budget with one request: the
// next waits until its deadline and gets 503 naming the flag.
func TestDecodeBudgetTimeout(t *testing.T) {
	inside, release := make(chan struct{}), make(chan struct{})
	s := newTestServer(t, Options{Workers: 2, DecodeBudget: 1000, RequestTimeout: 100 * time.Millisecond,
		Cost: func([]byte) (Cost, error) { return Cost{Pixels: 1, Bytes: 600}, nil },
		Classify: func(context.Context, []byte) (Outcome, error) {
			close(inside)
			<-release
			return Outcome{Response: map[string]string{"model": "m"}, Model: "m"}, nil
		}})
	img := testImage(t, "png", 8, 8)
	first := make(chan answer, 1)
	go func() { first <- do(t, s, post(img, "")(t)) }()
	<-inside
	a := do(t, s, post(img, "")(t))
	msg, _ := a.body["error"].(string)
	if a.code != 503 || a.body["kind"] != kindBudgetWait || a.hdr.Get("Retry-After") == "" || !strings.Contains(msg, "-decode-budget") {
		t.Errorf("no room in the budget: %d %v", a.code, a.body)
	}
	close(release)
	if a := <-first; a.code != 200 {
		t.Errorf("first: %d %v", a.code, a.body)
	}
	if n := s.budget.inUse(); n != 0 {
		t.Errorf("%d bytes still taken", n)
	}
}

// TestBudgetOrder: a waiter that gives up at the head of the line lets
// the ones behind it through; waiters are served in arrival order.
func TestBudgetOrder(t *testing.T) {
	b := &budget{size: 10}
	if err := b.acquire(context.Background(), 8); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	bigDone := make(chan error, 1)
	go func() { bigDone <- b.acquire(ctx, 9) }()
	for b.waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	smallDone := make(chan error, 1)
	go func() { smallDone <- b.acquire(context.Background(), 2) }() // fits, but is behind the big one
	for b.waiting() != 2 {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-smallDone:
		t.Fatal("a later small request overtook the waiting large one")
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	if err := <-bigDone; err == nil {
		t.Error("cancelled acquire succeeded")
	}
	if err := <-smallDone; err != nil {
		t.Error(err)
	}
	b.release(2)
	b.release(8)
	if b.inUse() != 0 || b.waiting() != 0 {
		t.Errorf("in use %d, waiting %d", b.inUse(), b.waiting())
	}
}

// TestMultipartPartLimit: a form of many small fields before the image is
// refused after maxParts, not parsed to its end.
func TestMultipartPartLimit(t *testing.T) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := range maxParts {
		mw.WriteField(fmt.Sprint("f", i), "x")
	}
	fw, _ := mw.CreateFormFile("image", "x.png")
	fw.Write(testImage(t, "png", 8, 8))
	mw.Close()
	r := httptest.NewRequest(http.MethodPost, "/v1/classify", &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	a := do(t, newTestServer(t, Options{}), r)
	if a.code != 400 || a.body["kind"] != kindMultipart {
		t.Errorf("%d parts before the image: %d %v", maxParts, a.code, a.body)
	}
}
