package main

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
	"log/slog"
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

	"github.com/modelpick/modelpick/internal/settings"
)

// loadReport is the load test's result, printed as a table and, with
// -out, written as JSON.
type loadReport struct {
	Requests    int       `json:"requests_per_mode"`
	Concurrency int       `json:"concurrency"`
	Rounds      int       `json:"rounds"`
	Workers     int       `json:"workers"`
	Images      int       `json:"images"`
	ImageSource string    `json:"image_source"`
	Addr        string    `json:"addr"`
	HTTP        modeStats `json:"http"`
	InProcess   modeStats `json:"in_process"`
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

// modeStats summarises one mode's requests.
type modeStats struct {
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

// runLoadtest starts the server on loopback, sends N requests at
// concurrency C, does the same N calls in-process, and compares.
func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("loadtest", stderr)
	sf := addServeFlags(fs)
	var (
		n       = fs.Int("n", 10000, "requests per mode (HTTP and in-process)")
		conc    = fs.Int("c", 16, "concurrent clients")
		rounds  = fs.Int("rounds", 20, "alternate the modes in this many rounds, so load from elsewhere on the machine hits both alike")
		images  = fs.String("images", "", "folder of images to send (default: the shared imagenet-val-dev when present, else generated images)")
		maxImgs = fs.Int("max-images", 1000, "at most this many images from -images")
		maxTime = fs.Duration("max-time", 15*time.Minute, "stop after this long, whatever is left")
		seed    = fs.Uint64("seed", 1, "seed of the generated images")
		out     = fs.String("out", "", "also write the report as JSON to this file")
		cpuProf = fs.String("cpuprofile", "", "write a Go CPU profile of the measured rounds to this file")
	)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "bundle"); err != nil {
		return err
	}
	if *n < 1 || *conc < 1 || *rounds < 1 || *maxImgs < 1 {
		return fmt.Errorf("%w: loadtest: -n, -c, -rounds and -max-images must be at least 1", errUsage)
	}
	imgs, source, err := loadImages(*images, *maxImgs, *seed)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, s, err := sf.open(log)
	if err != nil {
		return err
	}
	defer c.Close()
	// Loopback only: this command must never listen on, or send to, any
	// other address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	serveCtx, stopServer := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- s.Serve(serveCtx, ln) }()
	defer func() {
		stopServer()
		if err := <-served; err != nil {
			fmt.Fprintln(stderr, "loadtest: server:", err)
		}
	}()

	ctx, cancel := context.WithTimeout(ctx, *maxTime)
	defer cancel()
	url := "http://" + ln.Addr().String() + "/v1/classify"
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc, DisableCompression: true},
		Timeout:   *sf.timeout + *sf.readTimeout + 10*time.Second,
	}
	defer client.CloseIdleConnections()
	viaHTTP := func(ctx context.Context, img []byte) string {
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
	}
	inProcess := func(ctx context.Context, img []byte) string {
		r, err := c.Classify(ctx, img)
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

	rep := loadReport{Requests: *n, Concurrency: *conc, Rounds: *rounds, Workers: *sf.workers,
		Images: len(imgs), ImageSource: source, Addr: ln.Addr().String()}
	rep.HTTP.Status, rep.InProcess.Status = map[string]int{}, map[string]int{}
	fmt.Fprintf(stderr, "loadtest: %d images (%s), %d workers, server on %s; warming up\n", len(imgs), source, *sf.workers, ln.Addr())
	warm := modeStats{Status: map[string]int{}}
	hammer(ctx, &warm, viaHTTP, imgs, 2**conc, *conc)
	hammer(ctx, &warm, inProcess, imgs, 2**conc, *conc)
	if warm.Errors > 0 {
		return fmt.Errorf("loadtest: %d of %d warm-up requests failed (%v): is the bundle usable?", warm.Errors, warm.Done, warm.Status)
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			return fmt.Errorf("loadtest: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("loadtest: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	for r := range *rounds {
		k := *n / *rounds
		if r < *n%*rounds {
			k++
		}
		first, second := &rep.HTTP, &rep.InProcess
		f1, f2 := viaHTTP, inProcess
		if r%2 == 1 {
			first, second, f1, f2 = second, first, f2, f1
		}
		hammer(ctx, first, f1, imgs, k, *conc)
		hammer(ctx, second, f2, imgs, k, *conc)
		fmt.Fprintf(stderr, "loadtest: round %d/%d done\n", r+1, *rounds)
		if ctx.Err() != nil {
			rep.Stopped = fmt.Sprintf("-max-time %v reached", *maxTime)
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
	printLoadReport(stdout, rep)
	if *out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ") // plain numbers and strings
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("loadtest: %w", err)
		}
	}
	if rep.HTTP.Errors+rep.InProcess.Errors > 0 {
		return fmt.Errorf("loadtest: %d HTTP and %d in-process requests failed", rep.HTTP.Errors, rep.InProcess.Errors)
	}
	if rep.Stopped != "" {
		return fmt.Errorf("loadtest: stopped early: %s", rep.Stopped)
	}
	return nil
}

// hammer sends k requests with conc goroutines, adding to st. It stops
// early when ctx ends.
func hammer(ctx context.Context, st *modeStats, call func(context.Context, []byte) string, imgs [][]byte, k, conc int) {
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

func (st *modeStats) summarise() {
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

func printLoadReport(w io.Writer, r loadReport) {
	fmt.Fprintf(w, "load test: %d requests per mode at concurrency %d in %d alternating rounds; %d workers; %d images (%s); server on %s\n\n",
		r.Requests, r.Concurrency, r.Rounds, r.Workers, r.Images, r.ImageSource, r.Addr)
	fmt.Fprintln(w, "| mode | requests | errors | throughput (req/s) | p50 (ms) | p95 (ms) | p99 (ms) | mean (ms) | CPU (ms/req) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, m := range []struct {
		name string
		s    modeStats
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

// loadImages reads up to max images from dir; with dir "" it takes the
// shared imagenet-val-dev when present, else generates 64 images.
func loadImages(dir string, limit int, seed uint64) ([][]byte, string, error) {
	if dir == "" {
		shared := filepath.Join(settings.Assets(), "images", "imagenet-val-dev")
		if st, err := os.Stat(shared); err == nil && st.IsDir() {
			dir = shared
		}
	}
	if dir == "" {
		imgs, err := generatedImages(64, seed)
		return imgs, fmt.Sprintf("generated, seed %d", seed), err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", fmt.Errorf("loadtest: -images: %w", err)
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
