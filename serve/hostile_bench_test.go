package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/extract"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/routers"
	"github.com/modelpick/modelpick/serve"
	"github.com/modelpick/modelpick/store"
)

// Environment of BenchmarkHostile.
const (
	// envServer is a modelpick binary to benchmark (default: this
	// checkout's, built into a temporary folder): give another checkout's
	// to measure it with the same traffic.
	envServer = "MODELPICK_HOSTILE_SERVER"
	// envBundle is a bundle to serve (default: one trained here, see
	// hostileBundle).
	envBundle = "MODELPICK_HOSTILE_BUNDLE"
	// envOut, when set, receives the report as JSON.
	envOut = "MODELPICK_HOSTILE_OUT"
)

// BenchmarkHostile starts `modelpick serve -workers 2` on loopback, sends
// it the hostile mix of serve.RunHostile (10% bombs: the issue's
// 8000x6000 black PNG, 8000x6000 black baseline and progressive JPEGs, a
// progressive JPEG of 500 scans; 2% truncated, 2% corrupt, 1% slow bodies)
// in rounds alternating with clean runs of normal images, and prints the
// normal requests' p50/p99 beside the clean run's, the server's peak RSS,
// the status codes and the server's CPU per request by kind, with the
// goals of issue 14. Run it once:
//
//	go test -run '^$' -bench Hostile -benchtime 1x -timeout 30m ./serve
//	MODELPICK_HOSTILE_SERVER=/path/to/other/modelpick go test ... (the same traffic on another build)
//
// It needs the shared assets and fails, rather than skips, without them.
func BenchmarkHostile(b *testing.B) {
	ctx := context.Background()
	dev, err := datasets.Load(filepath.Join(settings.Assets(), "images", "imagenet-val-dev"))
	if err != nil {
		b.Fatalf("need the shared ImageNet images (set %s): %v", settings.EnvAssets, err)
	}
	bundle := os.Getenv(envBundle)
	if bundle == "" {
		bundle = hostileBundle(b, dev)
	}
	bin := os.Getenv(envServer)
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "modelpick")
		build := exec.Command("go", "build", "-o", bin, "./cmd/modelpick")
		build.Dir = settings.RepoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("build modelpick: %v\n%s", err, out)
		}
	}
	normal := make([][]byte, 200)
	for i := range normal {
		if normal[i], err = os.ReadFile(dev.Path(i)); err != nil {
			b.Fatal(err)
		}
	}
	bombs := hostileBombs(b)

	for b.Loop() {
		url, pid, stop := startServer(b, bin, bundle)
		rep, err := serve.RunHostile(ctx, serve.HostileOptions{URL: url, PID: pid, Normal: normal, Bombs: bombs, Seed: 1})
		stop()
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("server %s, bundle %s\n%s", bin, bundle, rep.Table())
		if out := os.Getenv(envOut); out != "" {
			j, _ := json.MarshalIndent(struct {
				Server, Bundle string
				Report         serve.HostileReport
			}{bin, bundle, rep}, "", "  ")
			if err := os.WriteFile(out, append(j, '\n'), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(rep.Clean.P99, "clean_p99_ms")
		b.ReportMetric(rep.Hostile.P99, "hostile_p99_ms")
		b.ReportMetric(float64(rep.PeakRSS)/1e6, "peak_rss_MB")
	}
}

// hostileBundle trains the bundle the issue measured: a kNN cascade on
// imagenet-val-dev over three ladder models, with the seven features of
// the paper-style selection (featsel's selected_top1), latencies measured
// here.
func hostileBundle(b *testing.B, dev *datasets.Set) string {
	ctx := context.Background()
	sf, err := inference.ParseSpecFile(filepath.Join(settings.RepoRoot(), "experiments", "models", "ladder.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var specs []inference.Spec
	for _, n := range []string{"mobilenet_v1_0.25_128", "mobilenet_v1_0.75_192", "mobilenet_v1_1.0_224"} {
		i := slices.IndexFunc(sf.Models, func(s inference.Spec) bool { return s.Name == n })
		if i < 0 {
			b.Fatalf("ladder.yaml has no %s", n)
		}
		specs = append(specs, sf.Models[i])
	}
	dir := b.TempDir()
	st, err := store.Open(filepath.Join(dir, "val-dev.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := profile.Run(ctx, profile.Options{Specs: specs, Load: inference.Options{Threads: 1, CacheDir: settings.Cache()}, Set: dev, Store: st,
		Correctness: true, Cost: true, Meter: measure.NewNone(), Timing: measure.DefaultTimingOptions()}); err != nil {
		b.Fatal(err)
	}
	names := []string{"n_keypoints", "avg_brightness", "edge_length1", "edge_length2", "edge_angle5", "area_by_perim", "hue2"}
	sum, err := extract.Run(ctx, extract.Options{Set: dev, Store: st, Names: names, Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	set, err := profileview.LoadTable(ctx, st, profileview.Options{Criterion: profileview.Top1}, sum.ConfigKey, names)
	if err != nil {
		b.Fatal(err)
	}
	p, err := premodel.Train(set, premodel.Options{Learner: "knn-cascade", Theta: premodel.DefaultTheta, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := routers.FromPremodel(p, set)
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "bundle")
	if err := routers.Write(out, tr, routers.WriteOptions{Specs: specs}); err != nil {
		b.Fatal(err)
	}
	return out
}

// hostileBombs are images whose header claims far more than their bytes.
func hostileBombs(b *testing.B) map[string][]byte {
	black := func(w, h int, params ...int) []byte {
		m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
		defer m.Close()
		buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, params)
		if err != nil {
			b.Fatal(err)
		}
		defer buf.Close()
		return bytes.Clone(buf.GetBytes())
	}
	scans, err := serve.JPEGWithExtraScans(black(2000, 2000, gocv.IMWriteJpegProgressive, 1), 490)
	if err != nil {
		b.Fatal(err)
	}
	return map[string][]byte{
		"bomb_png_8000x6000":         serve.BlackPNG(8000, 6000),
		"bomb_jpeg_8000x6000":        black(8000, 6000, gocv.IMWriteJpegQuality, 75),
		"bomb_progressive_8000x6000": black(8000, 6000, gocv.IMWriteJpegQuality, 75, gocv.IMWriteJpegProgressive, 1),
		"bomb_scans_500_2000x2000":   scans,
	}
}

var servingLine = regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)

// startServer runs `bin serve` on a free loopback port and returns its
// URL, its process id and a function that stops it.
func startServer(b *testing.B, bin, bundle string) (string, int, func()) {
	cmd := exec.Command(bin, "serve", "-bundle", bundle, "-addr", "127.0.0.1:0", "-workers", "2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			<-done
		}
	}
	lines := bufio.NewScanner(stdout)
	url := make(chan string, 1)
	go func() {
		for lines.Scan() {
			if m := servingLine.FindStringSubmatch(lines.Text()); m != nil {
				url <- m[1]
			}
		}
	}()
	select {
	case u := <-url:
		return u, cmd.Process.Pid, stop
	case <-time.After(2 * time.Minute):
		stop()
		b.Fatalf("%s serve did not start: %s", bin, stderr.String())
	}
	return "", 0, nil
}
