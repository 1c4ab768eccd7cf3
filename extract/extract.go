package extract

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/progress"
	"github.com/modelpick/modelpick/store"
)

// DefaultBatchSize is the number of images per store transaction: large
// enough that SQLite's commit cost (an fsync-free WAL append) is noise next
// to ~50 ms of extraction per batch per core, small enough that a killed run
// loses little.
const DefaultBatchSize = 64

// maxReported bounds the per-image failures kept in a Summary; the counts
// are always complete.
const maxReported = 20

// Options configure one extraction run.
type Options struct {
	Set   *datasets.Set
	Store *store.Store
	// Names are the features to compute, in any order; nil means all of
	// Table 2. Only these (and the products they need) are computed.
	Names    []string
	Features features.Options
	// Workers is the number of extraction goroutines (0: GOMAXPROCS).
	Workers int
	// Limit takes only the first Limit items of the set (0: all).
	Limit     int
	BatchSize int // images per store transaction (0: DefaultBatchSize)
	Progress  io.Writer

	// afterResult, when set (only by this package's tests), is called by
	// the collector after each result, with the count so far.
	afterResult func(n int)
}

// ImageFailure is one image that yielded no features.
type ImageFailure struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// Summary reports what a run did.
type Summary struct {
	Dataset   string   `json:"dataset"`
	ConfigKey string   `json:"config_key"`
	Names     []string `json:"names"`
	Workers   int      `json:"workers"`
	Images    int      `json:"images"`   // items this run covered (after Limit)
	Skipped   int      `json:"skipped"`  // already stored: all requested features, or an error
	Computed  int      `json:"computed"` // images whose features were written now
	Failed    int      `json:"failed"`   // images recorded now with a feature error
	// Unreadable files are not recorded in the store (they have no content
	// hash) and are retried by the next run.
	Unreadable int `json:"unreadable"`
	// Failures lists the first few failed or unreadable images.
	Failures []ImageFailure `json:"failures,omitempty"`
	// ExtractMS is the mean time, per computed image, of decoding and
	// extracting on one worker (excluding reading and hashing the file).
	ExtractMS float64 `json:"extract_ms_per_image"`
	Elapsed   float64 `json:"elapsed_s"`
}

// result is what a worker hands the collector for one item.
type result struct {
	file    string
	sha     string
	vals    []float64 // nil unless computed
	err     error     // a feature error, recorded under sha
	readErr error     // the file could not be read: nothing to record
	skipped bool
	dur     time.Duration
}

// Run extracts the features of o.Set into o.Store. It validates everything
// (feature names, options, store) before any work. On cancellation it
// stops handing out images, stores every result already computed, and
// returns the context's error with the Summary so far.
func Run(ctx context.Context, o Options) (Summary, error) {
	var sum Summary
	if o.Set == nil || o.Store == nil {
		return sum, errors.New("extract: need a data set and a store")
	}
	ex, err := features.NewExtractor(o.Names, o.Features)
	if err != nil {
		return sum, fmt.Errorf("extract: %w", err)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	key := ex.ConfigKey()
	names := ex.Names()
	sum = Summary{Dataset: o.Set.Name, ConfigKey: key, Names: names, Workers: o.Workers}
	done, err := stored(ctx, o.Store, key, names)
	if err != nil {
		return sum, fmt.Errorf("extract %s: %w", o.Set.Name, err)
	}
	man := manifest(o, ex)
	mj, _ := json.Marshal(man) // plain maps and strings: cannot fail
	runID, err := o.Store.StartRun(ctx, "features", string(mj))
	if err != nil {
		return sum, fmt.Errorf("extract %s: record run: %w", o.Set.Name, err)
	}

	start := time.Now()
	items := o.Set.Items
	if o.Limit > 0 && o.Limit < len(items) {
		items = items[:o.Limit]
	}
	sum.Images = len(items)
	prog := progress.New(o.Progress, "features "+o.Set.Name, "img", len(items))

	// feed stops handing out images when ctx is cancelled or a write fails.
	feed, stop := context.WithCancel(ctx)
	defer stop()
	jobs := make(chan datasets.Item)
	results := make(chan result, 2*o.Workers)
	go func() {
		defer close(jobs)
		for _, it := range items {
			select {
			case jobs <- it:
			case <-feed.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range o.Workers {
		// Each worker owns its extractor: nothing OpenCV touches is shared.
		wex, err := features.NewExtractor(names, o.Features)
		if err != nil {
			return sum, fmt.Errorf("extract: %w", err) // cannot happen: ex was built from the same input
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range jobs {
				results <- work(wex, o.Set.Dir, it, done)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	var rows []store.FeatureRow
	var errRows []store.FeatureErrorRow
	pending := 0
	var extractTime time.Duration
	var writeErr error
	flush := func() {
		if pending == 0 || writeErr != nil {
			return
		}
		// A write must not be abandoned because the run was cancelled: use a
		// context that outlives ctx, so computed results are kept.
		if err := o.Store.WriteFeatures(context.WithoutCancel(ctx), rows, errRows); err != nil {
			writeErr = fmt.Errorf("extract %s: write batch: %w", o.Set.Name, err)
			stop()
		}
		rows, errRows, pending = rows[:0], errRows[:0], 0
	}
	fail := func(file string, err error) {
		if len(sum.Failures) < maxReported {
			sum.Failures = append(sum.Failures, ImageFailure{File: file, Error: err.Error()})
		}
	}
	seen := 0
	for r := range results {
		prog.Step()
		if seen++; o.afterResult != nil {
			o.afterResult(seen)
		}
		switch {
		case r.skipped:
			sum.Skipped++
			continue
		case r.readErr != nil:
			sum.Unreadable++
			fail(r.file, r.readErr)
			continue
		case r.err != nil:
			sum.Failed++
			fail(r.file, r.err)
			errRows = append(errRows, store.FeatureErrorRow{SHA256: r.sha, Version: key, Error: r.err.Error()})
		default:
			sum.Computed++
			extractTime += r.dur
			for i, n := range names {
				rows = append(rows, store.FeatureRow{SHA256: r.sha, Version: key, Name: n, Value: r.vals[i]})
			}
		}
		if pending++; pending >= o.BatchSize {
			flush()
		}
	}
	flush()
	prog.Finish()
	sum.Elapsed = time.Since(start).Seconds()
	if sum.Computed > 0 {
		sum.ExtractMS = float64(extractTime) / float64(time.Millisecond) / float64(sum.Computed)
	}
	if writeErr != nil {
		return sum, writeErr
	}
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("extract %s: stopped after %d of %d images (rerun to resume): %w",
			o.Set.Name, sum.Skipped+sum.Computed+sum.Failed+sum.Unreadable, sum.Images, err)
	}
	man["summary"] = sum
	mj, _ = json.Marshal(man)
	if err := o.Store.FinishRun(ctx, runID, string(mj)); err != nil {
		return sum, fmt.Errorf("extract %s: record run: %w", o.Set.Name, err)
	}
	return sum, nil
}

// work reads, hashes and (unless done) extracts one image.
func work(ex *features.Extractor, dir string, it datasets.Item, done map[string]bool) result {
	r := result{file: it.File}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(it.File)))
	if err != nil {
		r.readErr = err
		return r
	}
	h := sha256.Sum256(data)
	r.sha = hex.EncodeToString(h[:])
	if done[r.sha] {
		r.skipped = true
		return r
	}
	t0 := time.Now()
	r.vals, r.err = ex.ExtractBytes(data)
	r.dur = time.Since(t0)
	return r
}

// stored returns the hashes that need no work under key: those with every
// one of names stored, and those with a recorded error. The map is only read
// once the workers start, so they may share it.
func stored(ctx context.Context, st *store.Store, key string, names []string) (map[string]bool, error) {
	rows, err := st.Features(ctx, key)
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	have := make(map[string]int)
	for _, r := range rows {
		if want[r.Name] {
			have[r.SHA256]++
		}
	}
	done := make(map[string]bool, len(have))
	for sha, n := range have {
		if n == len(names) {
			done[sha] = true
		}
	}
	errs, err := st.FeatureErrors(ctx, key)
	if err != nil {
		return nil, err
	}
	for _, e := range errs {
		done[e.SHA256] = true
	}
	return done, nil
}

// manifest describes the inputs and versions of a run.
func manifest(o Options, ex *features.Extractor) map[string]any {
	return map[string]any{
		"dataset":          o.Set.Name,
		"dataset_dir":      o.Set.Dir,
		"dataset_hash":     o.Set.Hash(),
		"limit":            o.Limit,
		"features":         ex.Names(),
		"features_version": features.Version,
		"config_key":       ex.ConfigKey(),
		"max_side":         ex.MaxSide(),
		"workers":          o.Workers,
		"go":               runtime.Version(),
	}
}
