package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelpick/modelpick/serve/loadtest"
)

// tinyBundle profiles the tiny project, extracts features and trains a
// kNN-cascade bundle, through the CLI; it returns the bundle folder and the
// training images' folder.
func tinyBundle(t testing.TB) (bundle, data string) {
	t.Helper()
	dir, spec, data := tinyProject(t, 24)
	db := filepath.Join(dir, "train.db")
	steps := [][]string{
		{"profile", "-models", spec, "-data", data, "-store", db, "-quiet", "-min-runs", "5", "-max-runs", "20", "-ci-width", "0.5", "-meter", "none"},
		{"features", "-data", data, "-store", db, "-quiet"},
		{"train", "-store", db, "-criterion", "top1", "-learner", "knn-cascade", "-out", filepath.Join(dir, "bundle"),
			"-features", "avg_brightness,hue1,hue5,contrast", "-models", spec, "-seed", "3"},
	}
	for _, args := range steps {
		var out, errb bytes.Buffer
		if err := run(t.Context(), args, &out, &errb); err != nil {
			t.Fatalf("%s: %v\n%s", args[0], err, errb.String())
		}
	}
	return filepath.Join(dir, "bundle"), data
}

func pngOf(t testing.TB, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestServeEndToEnd starts `modelpick serve` as a child process on a free
// loopback port, classifies a generated image, checks a bad request gets a
// 4xx JSON error and the metrics count both, then sends SIGTERM while a
// request is in flight (its body half sent): the server stops accepting,
// the request completes with 200, and the process exits 0.
func TestServeEndToEnd(t *testing.T) {
	bundle, _ := tinyBundle(t)
	cmd := child(t, "serve", "-bundle", bundle, "-addr", "127.0.0.1:0", "-workers", "2", "-shutdown-timeout", "30s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // a no-op once it has exited
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		cmd.Wait()
		t.Fatalf("serve printed nothing; stderr:\n%s", stderr.String())
	}
	m := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+) `).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("no address in %q", lines.Text())
	}
	addr := m[1]
	base := "http://" + addr

	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()

	resp, err = http.Post(base+"/v1/classify", "image/png", bytes.NewReader(pngOf(t, 30, 20, color.RGBA{R: 220, G: 20, B: 20})))
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || res["model"] == "" || len(res["labels"].([]any)) != 5 || res["timings_ms"] == nil ||
		resp.Header.Get("X-Modelpick-Model") != res["model"] {
		t.Fatalf("classify: %d %v", resp.StatusCode, res)
	}

	resp, err = http.Post(base+"/v1/classify", "text/plain", strings.NewReader("not an image"))
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 415 || e["kind"] != "not_an_image" {
		t.Errorf("bad request: %d %v", resp.StatusCode, e)
	}

	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`modelpick_http_requests_total{route="/v1/classify",code="200"} 1`,
		`modelpick_errors_total{kind="not_an_image"} 1`,
		`modelpick_chosen_model_total{model="` + res["model"].(string) + `"} 1`,
		`modelpick_stage_duration_seconds_count{stage="inference"} 1`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// A request in flight across SIGTERM: send half the body, signal, wait
	// until the listener is closed, then send the rest.
	img := pngOf(t, 24, 24, color.RGBA{G: 200, B: 30})
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/classify", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(img))
	req.Header.Set("Content-Type", "image/png")
	got := make(chan *http.Response, 1)
	failed := make(chan error, 1)
	go func() {
		r, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
		if err != nil {
			failed <- err
			return
		}
		got <- r
	}()
	if _, err := pw.Write(img[:len(img)/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the server read the headers: the connection is active
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections 10 s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := pw.Write(img[len(img)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	select {
	case r := <-got:
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		r.Body.Close()
		if r.StatusCode != 200 || body["model"] == nil {
			t.Errorf("request in flight at SIGTERM: %d %v", r.StatusCode, body)
		}
	case err := <-failed:
		t.Fatalf("request in flight at SIGTERM failed: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no answer to the request in flight")
	}
	rest, _ := io.ReadAll(stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "in_flight=1") {
		t.Errorf("the server did not see the request in flight at SIGTERM; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(string(rest), "shut down cleanly") {
		t.Errorf("stdout after the address line: %q", rest)
	}
}

// TestLoadtest runs a short load test on generated images (no shared
// assets: MODELPICK_ASSETS points nowhere) and checks the report.
func TestLoadtest(t *testing.T) {
	bundle, _ := tinyBundle(t)
	t.Setenv("MODELPICK_ASSETS", filepath.Join(t.TempDir(), "none"))
	js := filepath.Join(t.TempDir(), "load.json")
	out, stderr, err := cli(t, "loadtest", "-bundle", bundle, "-n", "120", "-c", "4", "-rounds", "2", "-workers", "2", "-out", js)
	if err != nil {
		t.Fatalf("loadtest: %v\n%s\n%s", err, out, stderr)
	}
	for _, want := range []string{"| HTTP over loopback | 120 | 0 |", "| classifier in-process | 120 | 0 |", "HTTP / in-process throughput:", "generated, seed 1", "127.0.0.1:"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	var rep loadtest.Report
	b, err := os.ReadFile(js)
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("report JSON: %v", err)
	}
	if rep.HTTP.Done != 120 || rep.HTTP.Status["200"] != 120 || rep.Ratio <= 0 || rep.HTTP.P99MS < rep.HTTP.P50MS {
		t.Errorf("report: %+v", rep)
	}
	// A bundle that is not there fails before any request.
	if _, _, err := cli(t, "loadtest", "-bundle", filepath.Join(t.TempDir(), "nope"), "-n", "1"); err == nil {
		t.Error("loadtest on a missing bundle")
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve"},
		{"serve", "-bundle", "b", "extra"},
		{"serve", "-bundle", "b", "-workers", "0"},
		{"loadtest", "-bundle", "b", "-n", "0"},
	} {
		if _, _, err := cli(t, args...); err == nil || !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
