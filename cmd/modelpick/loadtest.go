package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/serve/loadtest"
)

// runLoadtest starts the server on loopback, sends N requests at
// concurrency C, does the same N calls in-process, and compares
// (serve/loadtest).
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
	imgs, source, err := loadtest.LoadImages(imageDir(*images), *maxImgs, *seed)
	if err != nil {
		return err
	}
	c, s, err := sf.open(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer c.Close()
	rep, err := loadtest.Run(ctx, s, func(ctx context.Context, img []byte) (any, error) { return c.Classify(ctx, img) },
		loadtest.Options{Requests: *n, Concurrency: *conc, Rounds: *rounds, Workers: *sf.workers, Images: imgs, ImageSource: source,
			MaxTime: *maxTime, ClientTimeout: *sf.timeout + *sf.readTimeout + 10*time.Second, CPUProfile: *cpuProf, Log: stderr})
	if err != nil {
		return err
	}
	rep.Print(stdout)
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

// imageDir is -images, or the shared imagenet-val-dev when present ("":
// generated images).
func imageDir(dir string) string {
	if dir != "" {
		return dir
	}
	shared := filepath.Join(settings.Assets(), "images", "imagenet-val-dev")
	if st, err := os.Stat(shared); err == nil && st.IsDir() {
		return shared
	}
	return ""
}
