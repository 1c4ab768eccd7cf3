package serve

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzClassifyHandler sends arbitrary bytes to POST /v1/classify, as a raw
// body, as a multipart form's image, as a multipart body itself, or
// chunked, through the real decode paths (decodingClassifier). Whatever
// the input, the answer is JSON with a status below 500: bad input is the
// client's fault, and nothing may panic or abort the process. Seeds:
// testdata/fuzz/FuzzClassifyHandler.
func FuzzClassifyHandler(f *testing.F) {
	s := newTestServer(f, Options{MaxPixels: 1 << 22, MaxBodyBytes: 1 << 20})
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		var r *http.Request
		switch mode % 4 {
		case 0:
			r = httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(data))
		case 1:
			body, ct := multipartBody(t, "image", "f.jpg", data)
			r = httptest.NewRequest(http.MethodPost, "/v1/classify", body)
			r.Header.Set("Content-Type", ct)
		case 2:
			r = httptest.NewRequest(http.MethodPost, "/v1/classify", bytes.NewReader(data))
			r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		case 3:
			r = httptest.NewRequest(http.MethodPost, "/v1/classify", io.MultiReader(bytes.NewReader(data)))
			r.ContentLength = -1
			r.Header.Set("Content-Type", "image/jpeg")
		}
		a := do(t, s, r) // fails on a non-JSON answer
		if a.code >= 500 || a.code < 200 {
			t.Fatalf("mode %d: status %d: %v", mode%4, a.code, a.body)
		}
		if a.code != 200 && a.body["kind"] == nil {
			t.Fatalf("mode %d: status %d without an error kind: %v", mode%4, a.code, a.body)
		}
	})
}
