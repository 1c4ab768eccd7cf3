package serve

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func doRaw(t *testing.T, s *Server, method, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("%s %s: %d", method, path, rec.Code)
	}
	return rec.Body.String()
}

// sampleLine is a sample of the text format: name, optional labels, value.
var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$`)

// parseMetrics checks the exposition format line by line and returns the
// samples by their full name with labels.
func parseMetrics(t *testing.T, text string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	typed := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# TYPE ") {
			f := strings.Fields(line)
			if len(f) != 4 {
				t.Fatalf("bad TYPE line %q", line)
			}
			typed[f[2]] = f[3]
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("value in %q: %v", line, err)
		}
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m[1], "_bucket"), "_sum"), "_count")
		if typed[m[1]] == "" && typed[base] == "" {
			t.Fatalf("sample %q before its TYPE line", line)
		}
		out[m[1]+m[2]] = v
	}
	return out
}

func TestMetrics(t *testing.T) {
	s := newTestServer(t, Options{Workers: 3})
	jpg := testImage(t, "jpeg", 16, 16)
	for range 3 {
		if a := do(t, s, post(jpg, "")(t)); a.code != 200 {
			t.Fatal(a.code, a.body)
		}
	}
	do(t, s, post([]byte("nope"), "")(t))
	do(t, s, post(nil, "")(t))
	do(t, s, httptest.NewRequest(http.MethodGet, "/no%22such%0Apath", nil))
	got := parseMetrics(t, doRaw(t, s, http.MethodGet, "/metrics"))
	want := map[string]float64{
		`modelpick_http_requests_total{route="/v1/classify",code="200"}`: 3,
		`modelpick_http_requests_total{route="/v1/classify",code="415"}`: 1,
		`modelpick_http_requests_total{route="/v1/classify",code="400"}`: 1,
		`modelpick_http_requests_total{route="other",code="404"}`:        1,
		`modelpick_errors_total{kind="not_an_image"}`:                    1,
		`modelpick_errors_total{kind="empty_body"}`:                      1,
		`modelpick_errors_total{kind="not_found"}`:                       1,
		`modelpick_chosen_model_total{model="m"}`:                        3,
		`modelpick_stage_duration_seconds_count{stage="inference"}`:      3,
		`modelpick_stage_duration_seconds_count{stage="features"}`:       3,
		`modelpick_stage_duration_seconds_count{stage="premodel"}`:       3,
		`modelpick_stage_duration_seconds_count{stage="request"}`:        5,
		`modelpick_stage_duration_seconds_sum{stage="inference"}`:        0.009,
		// 3 ms falls in the 5 ms bucket, not the 2.5 ms one.
		`modelpick_stage_duration_seconds_bucket{stage="inference",le="0.0025"}`: 0,
		`modelpick_stage_duration_seconds_bucket{stage="inference",le="0.005"}`:  3,
		`modelpick_stage_duration_seconds_bucket{stage="inference",le="+Inf"}`:   3,
		`modelpick_workers`:            3,
		`modelpick_in_flight_requests`: 0,
		`modelpick_queued_requests`:    0,
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
		} else if diff := g - v; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	// Buckets are cumulative.
	prev := -1.0
	for _, le := range latencyBuckets() {
		v := got[`modelpick_stage_duration_seconds_bucket{stage="request",le="`+formatFloat(le)+`"}`]
		if v < prev {
			t.Errorf("bucket le=%v: %v after %v", le, v, prev)
		}
		prev = v
	}
}

func TestQuoteLabel(t *testing.T) {
	if got := quote("a\\b\"c\nd"); got != `"a\\b\"c\nd"` {
		t.Errorf("quote: %s", got)
	}
}
