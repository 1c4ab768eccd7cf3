package measure

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// underRoot places an absolute sysfs path under root ("" or "/" leave it).
func underRoot(root, path string) string {
	if root == "" || root == "/" {
		return path
	}
	return filepath.Join(root, path)
}

// readFloat reads a sysfs attribute holding one number. The file is opened
// afresh on each read: sysfs attributes are regenerated per open, and tests
// replace files by rename, which a held descriptor would not see.
func readFloat(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return v, nil
}

// readUint reads a sysfs attribute holding one unsigned counter.
func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return v, nil
}

// readText reads a small text attribute, trimmed.
func readText(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00")), nil
}

// periodOf turns a rate into a ticker period.
func periodOf(rateHz, defaultHz int) time.Duration {
	if rateHz <= 0 {
		rateHz = defaultHz
	}
	// Above 1 MHz the period would round to nothing (and a zero ticker
	// period panics); no sysfs read is that fast anyway.
	return max(time.Second/time.Duration(rateHz), time.Microsecond)
}

// sampler calls a function at a fixed period in its own goroutine until it
// is halted or its context is done.
type sampler struct {
	stop chan struct{}
	done chan struct{}
	err  error // ctx's error if ctx ended the sampling; read after done
}

// startSampler starts the goroutine. sample gets the time of the tick as
// read when it fires (monotonic), not the ticker's scheduled time, so late
// ticks on a busy machine are integrated over their true interval.
func startSampler(ctx context.Context, period time.Duration, sample func(time.Time)) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				s.err = ctx.Err()
				return
			case <-s.stop:
				return
			case <-t.C:
				sample(time.Now())
			}
		}
	}()
	return s
}

// halt stops the goroutine, waits for it, and returns ctx's error if the
// context ended the sampling early.
func (s *sampler) halt() error {
	close(s.stop)
	<-s.done
	return s.err
}
