package serve

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const nBuckets = 14

// latencyBuckets are the histogram bounds in seconds: 0.5 ms (a kNN
// premodel on five features) to 10 s (a large model on a slow board).
func latencyBuckets() [nBuckets]float64 {
	return [nBuckets]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// histogram is a Prometheus histogram with latencyBuckets.
type histogram struct {
	counts [nBuckets]uint64 // per bucket, not cumulative
	count  uint64
	sum    float64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	for i, b := range latencyBuckets() {
		if s <= b {
			h.counts[i]++
			break
		}
	}
	h.count++
	h.sum += s
}

// metrics holds the server's counters. One mutex: an update is a few
// additions, far cheaper than the classification it accounts for.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]uint64 // route, status code
	errors   map[string]uint64    // error kind
	chosen   map[string]uint64    // model name ("none": no model ran)
	stages   map[string]*histogram
	inFlight int64 // admitted requests: reading, queued or classifying
	queued   int64 // admitted, waiting for a worker
	decoding int64 // bytes of the decode budget taken
	budget   int64 // the decode budget
	workers  int
	started  time.Time
}

// Stage names of the latency histograms.
const (
	stageRequest   = "request"   // whole request, as the handler sees it
	stageQueue     = "queue"     // waiting for a worker
	stageFeatures  = "features"  // decoding and feature extraction
	stagePremodel  = "premodel"  // the premodel's choice
	stageDecode    = "decode"    // full decode for the chosen model
	stageInference = "inference" // the chosen model's preprocessing and run
)

func newMetrics(workers int, budget int64, now time.Time) *metrics {
	m := &metrics{
		requests: map[[2]string]uint64{},
		errors:   map[string]uint64{},
		chosen:   map[string]uint64{},
		stages:   map[string]*histogram{},
		workers:  workers,
		budget:   budget,
		started:  now,
	}
	for _, s := range []string{stageRequest, stageQueue, stageFeatures, stagePremodel, stageDecode, stageInference} {
		m.stages[s] = &histogram{}
	}
	return m
}

func (m *metrics) request(route string, code int) {
	m.mu.Lock()
	m.requests[[2]string{route, strconv.Itoa(code)}]++
	m.mu.Unlock()
}

func (m *metrics) error(kind string) {
	m.mu.Lock()
	m.errors[kind]++
	m.mu.Unlock()
}

func (m *metrics) classified(model string, o Outcome) {
	if model == "" {
		model = "none"
	}
	m.mu.Lock()
	m.chosen[model]++
	m.stages[stageFeatures].observe(o.Features)
	m.stages[stagePremodel].observe(o.Premodel)
	if o.Model != "" { // no model ran: nothing to observe
		m.stages[stageDecode].observe(o.Decode)
		m.stages[stageInference].observe(o.Inference)
	}
	m.mu.Unlock()
}

func (m *metrics) observe(stage string, d time.Duration) {
	m.mu.Lock()
	m.stages[stage].observe(d)
	m.mu.Unlock()
}

func (m *metrics) addInFlight(d int64) {
	m.mu.Lock()
	m.inFlight += d
	m.mu.Unlock()
}

func (m *metrics) addDecoding(d int64) {
	m.mu.Lock()
	m.decoding += d
	m.mu.Unlock()
}

func (m *metrics) addQueued(d int64) {
	m.mu.Lock()
	m.queued += d
	m.mu.Unlock()
}

// write renders the Prometheus text exposition format (version 0.0.4).
func (m *metrics) write(w io.Writer, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}

	family("modelpick_http_requests_total", "counter", "HTTP requests answered, by route and status code.")
	reqKeys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		reqKeys = append(reqKeys, k)
	}
	sort.Slice(reqKeys, func(i, j int) bool {
		if reqKeys[i][0] != reqKeys[j][0] {
			return reqKeys[i][0] < reqKeys[j][0]
		}
		return reqKeys[i][1] < reqKeys[j][1]
	})
	for _, k := range reqKeys {
		fmt.Fprintf(&b, "modelpick_http_requests_total{route=%s,code=%s} %d\n", quote(k[0]), quote(k[1]), m.requests[k])
	}

	family("modelpick_errors_total", "counter", "Requests that failed, by kind (the \"kind\" of the JSON error).")
	writeCounts(&b, "modelpick_errors_total", "kind", m.errors)

	family("modelpick_chosen_model_total", "counter", "Classifications by the model the premodel chose (\"none\": no model ran).")
	writeCounts(&b, "modelpick_chosen_model_total", "model", m.chosen)

	family("modelpick_stage_duration_seconds", "histogram",
		"Latency by stage: request (whole request), queue (waiting for a worker), features, premodel, decode, inference.")
	stages := make([]string, 0, len(m.stages))
	for s := range m.stages {
		stages = append(stages, s)
	}
	sort.Strings(stages)
	for _, s := range stages {
		h := m.stages[s]
		var cum uint64
		for i, le := range latencyBuckets() {
			cum += h.counts[i]
			fmt.Fprintf(&b, "modelpick_stage_duration_seconds_bucket{stage=%s,le=%s} %d\n", quote(s), quote(formatFloat(le)), cum)
		}
		fmt.Fprintf(&b, "modelpick_stage_duration_seconds_bucket{stage=%s,le=\"+Inf\"} %d\n", quote(s), h.count)
		fmt.Fprintf(&b, "modelpick_stage_duration_seconds_sum{stage=%s} %s\n", quote(s), formatFloat(h.sum))
		fmt.Fprintf(&b, "modelpick_stage_duration_seconds_count{stage=%s} %d\n", quote(s), h.count)
	}

	family("modelpick_in_flight_requests", "gauge", "Admitted classification requests: reading, queued or classifying.")
	fmt.Fprintf(&b, "modelpick_in_flight_requests %d\n", m.inFlight)
	family("modelpick_queued_requests", "gauge", "Admitted classification requests waiting for a worker.")
	fmt.Fprintf(&b, "modelpick_queued_requests %d\n", m.queued)
	family("modelpick_decode_bytes_in_use", "gauge", "Bytes of the decode budget taken by requests being classified or about to be.")
	fmt.Fprintf(&b, "modelpick_decode_bytes_in_use %d\n", m.decoding)
	family("modelpick_decode_budget_bytes", "gauge", "The decode budget (modelpick serve -decode-budget).")
	fmt.Fprintf(&b, "modelpick_decode_budget_bytes %d\n", m.budget)
	family("modelpick_workers", "gauge", "Classification workers (requests classified at once).")
	fmt.Fprintf(&b, "modelpick_workers %d\n", m.workers)
	family("modelpick_uptime_seconds", "gauge", "Seconds since the server started.")
	fmt.Fprintf(&b, "modelpick_uptime_seconds %s\n", formatFloat(now.Sub(m.started).Seconds()))

	_, err := io.WriteString(w, b.String())
	return err
}

func writeCounts(b *strings.Builder, name, label string, counts map[string]uint64) {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "%s{%s=%s} %d\n", name, label, quote(k), counts[k])
	}
}

// quote escapes a label value as the text format requires: backslash,
// double quote and line feed.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
