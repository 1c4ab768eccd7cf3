// Package loadtest load-tests a serve.Server over loopback against the
// same classifier called in-process, in alternating rounds, and reports
// throughput, latency percentiles and CPU time per request of both.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelpick/modelpick/serve"
)

// Report is a load test's result.
type Report struct {
	Requests    int       `json:"requests_per_mode"`
	Concurrency int       `json:"concurrency"`
	Rounds      int       `json:"rounds"`
	Workers     int       `json:"workers"`
	Images      int       `json:"images"`
	ImageSource string    `json:"image_source"`
	Addr        string    `json:"addr"`
	HTTP        ModeStats `json:"http"`
	InProcess   ModeStats `json:"in_process"`
	// Ratio is HTTP throughput over in-process throughput (wall clock).
	Ratio float64 `json:"ratio"`
	// CPURatio is in-process CPU time per request over HTTP CPU time per
	// request (this process, client included): the throughput ratio a
	// CPU-bound machine reaches when nothing else runs on it. On a shared
	// machine the wall-clock Ratio also measures the neighbours' load.
	CPURatio float64 `json:"cpu_ratio"`
	// Stopped says why the test ended before N requests per mode ("" if
	// it did not).
	Stopped string `json:"stopped,omitempty"`
}

// ModeStats summarises one mode's requests.
type ModeStats struct {
	Done       int            `json:"done"`
	Errors     int            `json:"errors"`
	Status     map[string]int `json:"status"` // HTTP status (or "transport", "error") → count
	Seconds    float64        `json:"seconds"`
	CPUSeconds float64        `json:"cpu_seconds"` // user+system time of this process
	CPUPerReq  float64        `json:"cpu_ms_per_request"`
	Throughput float64        `json:"throughput_per_s"`
	P50MS      float64        `json:"p50_ms"`
	P95MS      float64        `json:"p95_ms"`
	P99MS      float64        `json:"p99_ms"`
	MeanMS     float64        `json:"mean_ms"`
	latencies  []time.Duration
}

// Options configure Run.
type Options struct {
	// Requests per mode, sent by Concurrency clients in Rounds that
	// alternate the modes, so load from elsewhere hits both alike.
	Requests, Concurrency, Rounds int
	// Workers is the classifier's (for the report).
	Workers int
	// Images are sent in turn; ImageSource says where they came from.
	Images      [][]byte
	ImageSource string
	// MaxTime stops the test, whatever is left.
	MaxTime time.Duration
	// ClientTimeout limits one HTTP request.
	ClientTimeout time.Duration
	// CPUProfile, when set, is a file for a Go CPU profile of the rounds.
	CPUProfile string
	// Log receives progress lines.
	Log io.Writer
}

// InProcess classifies one image in-process and returns the answer the
// server would encode.
type InProcess func(ctx context.Context, image []byte) (any, error)

// Run starts s on loopback, sends the images over HTTP and, in
// alternating rounds, to classify in-process, and compares the two.
func Run(ctx context.Context, s *serve.Server, classify InProcess, o Options) (Report, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	rep := Report{Requests: o.Requests, Concurrency: o.Concurrency, Rounds: o.Rounds, Workers: o.Workers,
		Images: len(o.Images), ImageSource: o.ImageSource}
	// Loopback only: a load test must never listen on, or send to, any
	// other address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return rep, fmt.Errorf("loadtest: %w", err)
	}
	rep.Addr = ln.Addr().String()
	serveCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- s.Serve(serveCtx, ln) }()
	defer func() {
		stopServer()
		if err := <-served; err != nil {
			fmt.Fprintln(o.Log, "loadtest: server:", err)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, o.MaxTime)
	defer cancel()
	viaHTTP, closeClient := httpMode("http://"+rep.Addr+"/v1/classify", o.Concurrency, o.ClientTimeout)
	defer closeClient()
	inProcess := func(ctx context.Context, img []byte) string {
		r, err := classify(ctx, img)
		if err != nil {
			return "error"
		}
		// Encode the answer, as the server does, so the comparison is
		// of the transport alone.
		if _, err := json.Marshal(r); err != nil {
			return "error"
		}
		return "200"
	}
	fmt.Fprintf(o.Log, "loadtest: %d images (%s), %d workers, server on %s; warming up\n", len(o.Images), o.ImageSource, o.Workers, rep.Addr)
	warm := ModeStats{Status: map[string]int{}}
	hammer(ctx, &warm, viaHTTP, o.Images, 2*o.Concurrency, o.Concurrency)
	hammer(ctx, &warm, inProcess, o.Images, 2*o.Concurrency, o.Concurrency)
	if warm.Errors > 0 {
		return rep, fmt.Errorf("loadtest: %d of %d warm-up requests failed (%v): is the bundle usable?", warm.Errors, warm.Done, warm.Status)
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return rep, fmt.Errorf("loadtest: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return rep, fmt.Errorf("loadtest: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rounds(ctx, &rep, o, viaHTTP, inProcess)
	return rep, nil
}

// rounds sends the requests in alternating rounds and summarises them.
func rounds(ctx context.Context, rep *Report, o Options, viaHTTP, inProcess func(context.Context, []byte) string) {
	rep.HTTP.Status, rep.InProcess.Status = map[string]int{}, map[string]int{}
	for r := range o.Rounds {
		k := o.Requests / o.Rounds
		if r < o.Requests%o.Rounds {
			k++
		}
		first, second := &rep.HTTP, &rep.InProcess
		f1, f2 := viaHTTP, inProcess
		if r%2 == 1 {
			first, second, f1, f2 = second, first, f2, f1
		}
		hammer(ctx, first, f1, o.Images, k, o.Concurrency)
		hammer(ctx, second, f2, o.Images, k, o.Concurrency)
		fmt.Fprintf(o.Log, "loadtest: round %d/%d done\n", r+1, o.Rounds)
		if ctx.Err() != nil {
			rep.Stopped = fmt.Sprintf("-max-time %v reached", o.MaxTime)
			break
		}
	}
	if err := context.Cause(ctx); err != nil && rep.Stopped == "" && !errors.Is(err, context.DeadlineExceeded) {
		rep.Stopped = err.Error()
	}
	rep.HTTP.summarise()
	rep.InProcess.summarise()
	if rep.InProcess.Throughput > 0 {
		rep.Ratio = rep.HTTP.Throughput / rep.InProcess.Throughput
	}
	if rep.HTTP.CPUPerReq > 0 {
		rep.CPURatio = rep.InProcess.CPUPerReq / rep.HTTP.CPUPerReq
	}
}

// httpMode returns the function that sends one image over HTTP, and a
// function that closes its client's connections.
func httpMode(url string, conc int, timeout time.Duration) (func(context.Context, []byte) string, func()) {
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true},
		Timeout:   timeout,
	}
	return func(ctx context.Context, img []byte) string {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(img))
		if err != nil {
			return "error"
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := client.Do(req)
		if err != nil {
			return "transport"
		}
		io.Copy(io.Discard, resp.Body) // the whole answer, as a client reads it
		resp.Body.Close()
		return fmt.Sprint(resp.StatusCode)
	}, client.CloseIdleConnections
}

// hammer sends k requests with conc goroutines, adding to st. It stops
// early when ctx ends.
func hammer(ctx context.Context, st *ModeStats, call func(context.Context, []byte) string, imgs [][]byte, k, conc int) {
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			status := map[string]int{}
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(k) {
					break
				}
				t := time.Now()
				code := call(ctx, imgs[int(i)%len(imgs)])
				if ctx.Err() != nil && code != "200" {
					break // cut by -max-time: neither a result nor an error
				}
				lat = append(lat, time.Since(t))
				status[code]++
			}
			mu.Lock()
			st.latencies = append(st.latencies, lat...)
			for code, v := range status {
				st.Status[code] += v
				st.Done += v
				if code != "200" {
					st.Errors += v
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	st.Seconds += time.Since(start).Seconds()
	st.CPUSeconds += (cpuTime() - cpu0).Seconds()
}

// cpuTime is this process's user plus system CPU time, all threads (ONNX
// Runtime's included); 0 if the system cannot tell.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (st *ModeStats) summarise() {
	if st.Seconds > 0 {
		st.Throughput = float64(st.Done) / st.Seconds
	}
	if st.Done > 0 {
		st.CPUPerReq = 1000 * st.CPUSeconds / float64(st.Done)
	}
	if len(st.latencies) == 0 {
		return
	}
	slices.Sort(st.latencies)
	var sum time.Duration
	for _, l := range st.latencies {
		sum += l
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	st.MeanMS = ms(sum / time.Duration(len(st.latencies)))
	st.P50MS, st.P95MS, st.P99MS = ms(rank(st.latencies, 0.50)), ms(rank(st.latencies, 0.95)), ms(rank(st.latencies, 0.99))
}

// rank is the nearest-rank percentile of sorted values.
func rank(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Print writes the report as a table.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "load test: %d requests per mode at concurrency %d in %d alternating rounds; %d workers; %d images (%s); server on %s\n\n",
		r.Requests, r.Concurrency, r.Rounds, r.Workers, r.Images, r.ImageSource, r.Addr)
	fmt.Fprintln(w, "| mode | requests | errors | throughput (req/s) | p50 (ms) | p95 (ms) | p99 (ms) | mean (ms) | CPU (ms/req) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, m := range []struct {
		name string
		s    ModeStats
	}{{"HTTP over loopback", r.HTTP}, {"classifier in-process", r.InProcess}} {
		fmt.Fprintf(w, "| %s | %d | %d | %.1f | %.2f | %.2f | %.2f | %.2f | %.3f |\n",
			m.name, m.s.Done, m.s.Errors, m.s.Throughput, m.s.P50MS, m.s.P95MS, m.s.P99MS, m.s.MeanMS, m.s.CPUPerReq)
	}
	codes := make([]string, 0, len(r.HTTP.Status))
	for c := range r.HTTP.Status {
		codes = append(codes, fmt.Sprintf("%s: %d", c, r.HTTP.Status[c]))
	}
	sort.Strings(codes)
	fmt.Fprintf(w, "\nHTTP / in-process throughput: %.3f wall clock, %.3f by CPU time per request (goal >= 0.9); HTTP answers: %s\n",
		r.Ratio, r.CPURatio, strings.Join(codes, ", "))
	fmt.Fprintln(w, "(CPU time counts this whole process, the load-generating client included; the wall-clock ratio also carries other processes' load)")
	if r.Stopped != "" {
		fmt.Fprintf(w, "stopped early: %s\n", r.Stopped)
	}
}

// LoadImages reads up to limit images from dir; with dir "" it generates
// 64 images (seeded).
func LoadImages(dir string, limit int, seed uint64) ([][]byte, string, error) {
	if dir == "" {
		imgs, err := generatedImages(64, seed)
		return imgs, fmt.Sprintf("generated, seed %d", seed), err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", fmt.Errorf("loadtest: images: %w", err)
	}
	var imgs [][]byte
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp":
		default:
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, "", fmt.Errorf("loadtest: %w", err)
		}
		imgs = append(imgs, b)
		if len(imgs) == limit {
			break
		}
	}
	if len(imgs) == 0 {
		return nil, "", fmt.Errorf("loadtest: no images in %s", dir)
	}
	return imgs, dir, nil
}

// generatedImages draws n 227x227 JPEGs (the val images' size) of random
// colour gradients and blocks, so the premodel sees varied features.
func generatedImages(n int, seed uint64) ([][]byte, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6d70))
	out := make([][]byte, n)
	for i := range out {
		img := image.NewRGBA(image.Rect(0, 0, 227, 227))
		a := [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
		d := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		for y := 0; y < 227; y++ {
			for x := 0; x < 227; x++ {
				var c [3]uint8
				for k := range c {
					c[k] = uint8(min(255, max(0, a[k]+d[k]*float64(x+y)/2)))
				}
				img.SetRGBA(x, y, color.RGBA{c[0], c[1], c[2], 255})
			}
		}
		for range rng.IntN(6) {
			x0, y0 := rng.IntN(200), rng.IntN(200)
			x1, y1 := min(227, x0+5+rng.IntN(60)), min(227, y0+5+rng.IntN(60))
			col := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					img.SetRGBA(x, y, col)
				}
			}
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
			return nil, fmt.Errorf("loadtest: generate image: %w", err)
		}
		out[i] = b.Bytes()
	}
	return out, nil
}
