package serve

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The hostile-traffic benchmark: normal images mixed with bombs (images
// whose header claims far more than their bytes), truncated, corrupt and
// slow-body requests, sent over loopback to a running server whose
// process it watches (CPU time and resident memory from /proc). It
// compares the normal requests' latency with a clean run of normal images
// alone, in alternating rounds, so that load from elsewhere on the machine
// falls on both alike. BenchmarkHostile (hostile_bench_test.go) starts a
// `modelpick serve` and runs it.

// Request kinds of the hostile mix. A bomb kind's name starts with
// "bomb_".
const (
	HostileNormal    = "normal"
	HostileTruncated = "truncated"
	HostileCorrupt   = "corrupt"
	HostileSlowBody  = "slow_body"
)

// HostileOptions configure RunHostile.
type HostileOptions struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080; only
	// loopback addresses are accepted.
	URL string
	// PID is the server's process, whose CPU time and resident memory are
	// read from /proc.
	PID int
	// Normal are the normal images; Bombs the bombs by kind (names start
	// with "bomb_").
	Normal [][]byte
	Bombs  map[string][]byte
	// Requests per phase and round: each round runs a clean phase (normal
	// images only) and a hostile phase of as many requests (default 500).
	Requests int
	// Rounds alternate the phases (default 4).
	Rounds int
	// Concurrency is the number of clients sending at once (default 8);
	// slow bodies are sent beside them, not by them, so they do not lower
	// the offered load.
	Concurrency int
	// BombShare of the hostile phase's requests are bombs, shared evenly
	// among the kinds (default 0.10); TruncatedShare, CorruptShare and
	// SlowShare are the other kinds (defaults 0.02, 0.02, 0.01).
	BombShare, TruncatedShare, CorruptShare, SlowShare float64
	// SlowBody is how long a slow body takes to arrive (default 2 s).
	SlowBody time.Duration
	// CPURepeats is how many requests of each kind are sent one at a
	// time to measure the server's CPU time per request (default 30 for
	// normal images, a fifth of it, at least 3, for the others).
	CPURepeats int
	// Seed drives the order of kinds and images.
	Seed uint64
	// MaxTime bounds the whole run (default 10 minutes).
	MaxTime time.Duration
}

func (o HostileOptions) withDefaults() HostileOptions {
	o.Requests = cmpOr(o.Requests, 500)
	o.Rounds = cmpOr(o.Rounds, 4)
	o.Concurrency = cmpOr(o.Concurrency, 8)
	if o.BombShare == 0 {
		o.BombShare = 0.10
	}
	if o.TruncatedShare == 0 {
		o.TruncatedShare = 0.02
	}
	if o.CorruptShare == 0 {
		o.CorruptShare = 0.02
	}
	if o.SlowShare == 0 {
		o.SlowShare = 0.01
	}
	if o.SlowBody == 0 {
		o.SlowBody = 2 * time.Second
	}
	o.CPURepeats = cmpOr(o.CPURepeats, 30)
	if o.MaxTime == 0 {
		o.MaxTime = 10 * time.Minute
	}
	return o
}

func cmpOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// HostileReport is RunHostile's result.
type HostileReport struct {
	URL         string  `json:"url"`
	Requests    int     `json:"requests_per_phase_round"`
	Rounds      int     `json:"rounds"`
	Concurrency int     `json:"concurrency"`
	BombShare   float64 `json:"bomb_share"`
	Seed        uint64  `json:"seed"`
	Normals     int     `json:"normal_images"`
	// BombBytes is each bomb's size on the wire.
	BombBytes map[string]int `json:"bomb_bytes"`
	// Clean and Hostile are the normal requests' latencies in each phase.
	Clean   Latency `json:"clean"`
	Hostile Latency `json:"hostile"`
	// Kinds are the hostile phases' requests by kind.
	Kinds map[string]*KindStats `json:"kinds"`
	// CPUms is the server's CPU time per request by kind, requests sent
	// one at a time; CPUCalls their statuses.
	CPUms    map[string]float64        `json:"cpu_ms_per_request"`
	CPUCalls map[string]map[string]int `json:"cpu_statuses"`
	// IdleRSS is the server's resident memory after the warm-up, PeakRSS
	// its high-water mark over the measured run (VmHWM after a reset, or
	// the largest sampled VmRSS where the reset is refused).
	IdleRSS    int64  `json:"idle_rss_bytes"`
	PeakRSS    int64  `json:"peak_rss_bytes"`
	PeakSource string `json:"peak_rss_source"`
	// Budget is the server's decode budget as /healthz reports it (0
	// when it does not).
	Budget  int64  `json:"decode_budget_bytes"`
	Stopped string `json:"stopped,omitempty"`
}

// Latency summarises latencies in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	lat []time.Duration
}

// KindStats are one kind's requests.
type KindStats struct {
	Status  map[string]int `json:"status"` // HTTP status, or "transport"
	Latency Latency        `json:"latency"`
}

// Goals of issue 14 and whether the report meets them.
func (r HostileReport) Goals() []Goal {
	worst, worstKind := 0.0, ""
	for k, v := range r.CPUms {
		if strings.HasPrefix(k, "bomb_") && r.CPUms[HostileNormal] > 0 && v/r.CPUms[HostileNormal] > worst {
			worst, worstKind = v/r.CPUms[HostileNormal], k
		}
	}
	fives := 0
	for _, k := range r.Kinds {
		for code, n := range k.Status {
			if strings.HasPrefix(code, "5") {
				fives += n
			}
		}
	}
	var ratio float64
	if r.Clean.P99 > 0 {
		ratio = r.Hostile.P99 / r.Clean.P99
	}
	rssGoal := "budget + 200 MB"
	rssOK := r.Budget > 0 && r.PeakRSS < r.Budget+200_000_000
	if r.Budget == 0 {
		rssGoal = "budget + 200 MB (the server reports no budget)"
	}
	return []Goal{
		{"normal p99, hostile / clean", fmt.Sprintf("%.2f (%.1f / %.1f ms)", ratio, r.Hostile.P99, r.Clean.P99), "<= 2", ratio > 0 && ratio <= 2},
		{"peak RSS", fmt.Sprintf("%.0f MB (idle %.0f MB, budget %.0f MB)", mb(r.PeakRSS), mb(r.IdleRSS), mb(r.Budget)), rssGoal, rssOK},
		{"5xx answers", strconv.Itoa(fives), "0", fives == 0},
		{"worst bomb CPU / normal CPU", fmt.Sprintf("%.1f (%s)", worst, worstKind), "<= 10", worst <= 10},
	}
}

// Goal is one goal's figure and verdict.
type Goal struct {
	What, Value, Goal string
	Met               bool
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// Table renders the report as markdown.
func (r HostileReport) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostile traffic on %s: %d rounds of %d clean + %d hostile requests, %d clients, bombs %.0f%%, seed %d, %d normal images\n\n",
		r.URL, r.Rounds, r.Requests, r.Requests, r.Concurrency, 100*r.BombShare, r.Seed, r.Normals)
	fmt.Fprintln(&b, "| normal requests | n | p50 (ms) | p99 (ms) | max (ms) |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|")
	fmt.Fprintf(&b, "| clean run | %d | %.2f | %.2f | %.1f |\n", r.Clean.N, r.Clean.P50, r.Clean.P99, r.Clean.Max)
	fmt.Fprintf(&b, "| hostile run | %d | %.2f | %.2f | %.1f |\n\n", r.Hostile.N, r.Hostile.P50, r.Hostile.P99, r.Hostile.Max)
	fmt.Fprintln(&b, "| kind | bytes | answers in the hostile run | p50 (ms) | p99 (ms) | server CPU (ms/request) | answers one at a time |")
	fmt.Fprintln(&b, "|---|---:|---|---:|---:|---:|---|")
	kinds := make([]string, 0, len(r.Kinds))
	for k := range r.Kinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		s := r.Kinds[k]
		size := "-"
		if n, ok := r.BombBytes[k]; ok {
			size = strconv.Itoa(n)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %.2f | %.2f | %s |\n", k, size, codes(s.Status), s.Latency.P50, s.Latency.P99, r.CPUms[k], codes(r.CPUCalls[k]))
	}
	fmt.Fprintf(&b, "\n| goal | value | target | met |\n|---|---|---|---|\n")
	for _, g := range r.Goals() {
		fmt.Fprintf(&b, "| %s | %s | %s | %v |\n", g.What, g.Value, g.Goal, g.Met)
	}
	fmt.Fprintf(&b, "\npeak RSS from %s\n", r.PeakSource)
	if r.Stopped != "" {
		fmt.Fprintf(&b, "stopped early: %s\n", r.Stopped)
	}
	return b.String()
}

func codes(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// hostileRequest is one request to send.
type hostileRequest struct {
	kind string
	body []byte
	slow bool
}

// RunHostile runs the benchmark against the server at o.URL.
func RunHostile(ctx context.Context, o HostileOptions) (HostileReport, error) {
	o = o.withDefaults()
	if !strings.HasPrefix(o.URL, "http://127.0.0.1:") && !strings.HasPrefix(o.URL, "http://[::1]:") && !strings.HasPrefix(o.URL, "http://localhost:") {
		return HostileReport{}, fmt.Errorf("hostile: %s is not a loopback URL", o.URL)
	}
	if len(o.Normal) == 0 || len(o.Bombs) == 0 {
		return HostileReport{}, errors.New("hostile: need normal images and bombs")
	}
	proc, err := watchProcess(o.PID)
	if err != nil {
		return HostileReport{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.MaxTime)
	defer cancel()
	r := HostileReport{URL: o.URL, Requests: o.Requests, Rounds: o.Rounds, Concurrency: o.Concurrency, BombShare: o.BombShare,
		Seed: o.Seed, Normals: len(o.Normal), BombBytes: map[string]int{}, Kinds: map[string]*KindStats{},
		CPUms: map[string]float64{}, CPUCalls: map[string]map[string]int{}}
	bombKinds := make([]string, 0, len(o.Bombs))
	for k, b := range o.Bombs {
		if !strings.HasPrefix(k, "bomb_") {
			return r, fmt.Errorf("hostile: bomb kind %q must start with bomb_", k)
		}
		bombKinds = append(bombKinds, k)
		r.BombBytes[k] = len(b)
	}
	sort.Strings(bombKinds)
	rng := rand.New(rand.NewPCG(o.Seed, 0x686f73))
	c := &hostileClient{url: o.URL + "/v1/classify", slowFor: o.SlowBody, http: &http.Client{
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2 * o.Concurrency, DisableCompression: true},
		Timeout:   2 * time.Minute,
	}}
	defer c.http.CloseIdleConnections()
	r.Budget = c.budget(ctx)

	// Warm up, then note the idle memory and reset the high-water mark.
	warm := make([]hostileRequest, 4*o.Concurrency)
	for i := range warm {
		warm[i] = hostileRequest{kind: HostileNormal, body: o.Normal[i%len(o.Normal)]}
	}
	c.run(ctx, warm, o.Concurrency, nil)
	r.IdleRSS = proc.rss()
	proc.resetPeak()
	sampler := proc.sample(ctx)

	// Server CPU per request by kind, one request at a time.
	// (A slow body costs the CPU of its image: it is left out here.)
	kinds := append([]string{HostileNormal, HostileTruncated, HostileCorrupt}, bombKinds...)
	for _, k := range kinds {
		n := o.CPURepeats
		if k != HostileNormal {
			n = max(3, n/5)
		}
		reqs := make([]hostileRequest, n)
		for i := range reqs {
			reqs[i] = makeRequest(k, o, rng)
		}
		st := map[string]*KindStats{}
		t0 := proc.cpu()
		c.run(ctx, reqs, 1, st)
		r.CPUms[k] = float64(proc.cpu()-t0) / float64(time.Millisecond) / float64(n)
		r.CPUCalls[k] = st[k].Status
	}

	// Alternating clean and hostile phases.
	shares := []struct {
		kind  string
		share float64
	}{{HostileTruncated, o.TruncatedShare}, {HostileCorrupt, o.CorruptShare}, {HostileSlowBody, o.SlowShare}}
	for _, k := range bombKinds {
		shares = append(shares, struct {
			kind  string
			share float64
		}{k, o.BombShare / float64(len(bombKinds))})
	}
	clean := map[string]*KindStats{}
	for round := range o.Rounds {
		mix := make([]hostileRequest, o.Requests)
		for i := range mix {
			kind, u := HostileNormal, rng.Float64()
			for _, s := range shares {
				if u < s.share {
					kind = s.kind
					break
				}
				u -= s.share
			}
			mix[i] = makeRequest(kind, o, rng)
		}
		pure := make([]hostileRequest, o.Requests)
		for i := range pure {
			pure[i] = makeRequest(HostileNormal, o, rng)
		}
		first, second, fs, ss := pure, mix, clean, r.Kinds
		if round%2 == 1 {
			first, second, fs, ss = mix, pure, r.Kinds, clean
		}
		c.run(ctx, first, o.Concurrency, fs)
		c.run(ctx, second, o.Concurrency, ss)
		if ctx.Err() != nil {
			r.Stopped = fmt.Sprintf("MaxTime %v reached after %d rounds", o.MaxTime, round+1)
			break
		}
	}
	c.wait() // slow bodies still arriving
	r.PeakRSS, r.PeakSource = proc.peak(sampler)
	if s := clean[HostileNormal]; s != nil {
		r.Clean = s.Latency.summarise()
	}
	for _, s := range r.Kinds {
		s.Latency = s.Latency.summarise()
	}
	if s := r.Kinds[HostileNormal]; s != nil {
		r.Hostile = s.Latency
	}
	return r, nil
}

// makeRequest draws one request of kind.
func makeRequest(kind string, o HostileOptions, rng *rand.Rand) hostileRequest {
	img := o.Normal[rng.IntN(len(o.Normal))]
	switch kind {
	case HostileNormal:
		return hostileRequest{kind: kind, body: img}
	case HostileTruncated:
		return hostileRequest{kind: kind, body: img[:len(img)/2]}
	case HostileCorrupt:
		// Garble the middle third (for a JPEG, entropy-coded data) without
		// making or breaking a marker (no 0xFF, nothing after one), so the
		// header stays readable and the data reaches the decoder.
		b := bytes.Clone(img)
		for i := len(b) / 3; i < 2*len(b)/3; i += 7 {
			if b[i] < 0x80 && b[i-1] != 0xFF {
				b[i] ^= 0x2A
			}
		}
		return hostileRequest{kind: kind, body: b}
	case HostileSlowBody:
		return hostileRequest{kind: kind, body: img, slow: true}
	}
	return hostileRequest{kind: kind, body: o.Bombs[kind]}
}

// hostileClient sends requests and records answers.
type hostileClient struct {
	url     string
	slowFor time.Duration
	http    *http.Client
	slow    sync.WaitGroup
	mu      sync.Mutex
}

// run sends reqs with conc clients, slow bodies beside them, recording
// into st (nil: not recorded).
func (c *hostileClient) run(ctx context.Context, reqs []hostileRequest, conc int, st map[string]*KindStats) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				q := reqs[i]
				if q.slow && conc > 1 {
					c.slow.Add(1)
					go func() { defer c.slow.Done(); c.send(ctx, q, st) }()
					continue
				}
				c.send(ctx, q, st)
			}
		}()
	}
	wg.Wait()
	if conc == 1 {
		c.wait()
	}
}

func (c *hostileClient) wait() { c.slow.Wait() }

func (c *hostileClient) send(ctx context.Context, q hostileRequest, st map[string]*KindStats) {
	var body io.Reader = bytes.NewReader(q.body)
	if q.slow {
		body = &slowReader{data: q.body, chunks: 20, pause: c.slowFor / 20}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, body)
	code := "error"
	start := time.Now()
	if err == nil {
		req.ContentLength = int64(len(q.body))
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := c.http.Do(req)
		if err != nil {
			code = "transport"
		} else {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = strconv.Itoa(resp.StatusCode)
		}
	}
	d := time.Since(start)
	if st == nil || ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := st[q.kind]
	if s == nil {
		s = &KindStats{Status: map[string]int{}}
		st[q.kind] = s
	}
	s.Status[code]++
	if code == "200" || q.kind != HostileNormal {
		s.Latency.lat = append(s.Latency.lat, d)
	}
}

// budget reads the decode budget from /healthz (0 when absent).
func (c *hostileClient) budget(ctx context.Context) int64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.url, "/v1/classify")+"/healthz", nil)
	if err != nil {
		return 0
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var h struct {
		Budget int64 `json:"decode_budget_bytes"`
	}
	json.NewDecoder(resp.Body).Decode(&h)
	return h.Budget
}

func (l Latency) summarise() Latency {
	s := slices.Clone(l.lat)
	slices.Sort(s)
	out := Latency{N: len(s), lat: s}
	if len(s) == 0 {
		return out
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rank := func(p float64) time.Duration { return s[max(0, min(len(s)-1, int(float64(len(s))*p+0.999999)-1))] }
	out.P50, out.P99, out.Max = ms(rank(0.50)), ms(rank(0.99)), ms(s[len(s)-1])
	return out
}

// slowReader hands out data in chunks with a pause before each.
type slowReader struct {
	data   []byte
	chunks int
	pause  time.Duration
	sent   int
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.sent >= len(r.data) {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := min(len(p), max(1, len(r.data)/r.chunks), len(r.data)-r.sent)
	copy(p, r.data[r.sent:r.sent+n])
	r.sent += n
	return n, nil
}

// process reads a process's CPU time and memory from /proc.
type process struct {
	dir     string
	resetOK bool
	peakMu  sync.Mutex
	sampled int64
}

func watchProcess(pid int) (*process, error) {
	if pid <= 0 {
		pid = os.Getpid()
	}
	p := &process{dir: filepath.Join("/proc", strconv.Itoa(pid))}
	if _, err := os.Stat(filepath.Join(p.dir, "status")); err != nil {
		return nil, fmt.Errorf("hostile: process %d: %w (Linux /proc needed)", pid, err)
	}
	return p, nil
}

// cpu is the process's CPU time: the sum of its threads' run time
// (/proc/PID/task/*/schedstat, nanoseconds).
func (p *process) cpu() time.Duration {
	tasks, _ := filepath.Glob(filepath.Join(p.dir, "task", "*", "schedstat"))
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread ended
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			sum += v
		}
	}
	return time.Duration(sum)
}

func (p *process) status(field string) int64 {
	b, err := os.ReadFile(filepath.Join(p.dir, "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n * 1024 // kB
			}
		}
	}
	return 0
}

func (p *process) rss() int64 { return p.status("VmRSS") }

// resetPeak resets VmHWM to the current RSS (clear_refs 5, Linux 4.0+).
func (p *process) resetPeak() {
	p.resetOK = os.WriteFile(filepath.Join(p.dir, "clear_refs"), []byte("5"), 0) == nil
}

// sample records the largest VmRSS every 5 ms until ctx ends or peak is
// read, the fallback where VmHWM cannot be reset.
func (p *process) sample(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			v := p.rss()
			p.peakMu.Lock()
			p.sampled = max(p.sampled, v)
			p.peakMu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (p *process) peak(stopSampler func()) (int64, string) {
	stopSampler()
	p.peakMu.Lock()
	sampled := p.sampled
	p.peakMu.Unlock()
	if p.resetOK {
		if hwm := p.status("VmHWM"); hwm > 0 {
			return max(hwm, sampled), "VmHWM reset after the warm-up"
		}
	}
	return sampled, "VmRSS sampled every 5 ms (VmHWM could not be reset)"
}

// BlackPNG is a w x h 8-bit RGB PNG of black pixels, written row by row
// without an image in memory: the 8000x6000 bomb is 140 KB for
// 48 M pixels.
func BlackPNG(w, h int) []byte {
	chunk := func(out []byte, typ string, data []byte) []byte {
		out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
		out = append(out, typ...)
		out = append(out, data...)
		return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	row := make([]byte, 1+3*w) // filter byte 0, then zeros
	for range h {
		zw.Write(row)
	}
	zw.Close()
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = chunk(out, "IHDR", ihdr)
	out = chunk(out, "IDAT", z.Bytes())
	return chunk(out, "IEND", nil)
}

// JPEGWithExtraScans appends n copies of a JPEG's last scan before its
// end marker. On a progressive JPEG libjpeg only warns about the repeats
// and makes a pass over the whole image for each.
func JPEGWithExtraScans(jpg []byte, n int) ([]byte, error) {
	last := bytes.LastIndex(jpg, []byte{0xFF, 0xDA})
	if last < 0 || !bytes.HasSuffix(jpg, []byte{0xFF, 0xD9}) {
		return nil, errors.New("not a complete JPEG with a scan")
	}
	scan := jpg[last : len(jpg)-2]
	out := bytes.Clone(jpg[:len(jpg)-2])
	for range n {
		out = append(out, scan...)
	}
	return append(out, 0xFF, 0xD9), nil
}
