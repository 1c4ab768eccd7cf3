package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/modelpick/modelpick/internal/progress"
)

// Stage is one step of the pipeline: a function from a typed input to a
// typed output, with what its cache key needs to know about its code.
// Both I and O must survive a JSON round trip (the input is hashed as
// JSON, the output is stored as JSON); files inside them are [File]s.
type Stage[I, O any] struct {
	// Name names the stage and its cache folder, e.g. "profile".
	Name string
	// Version is the revision of the stage's own code: bump it whenever
	// the output for the same input could change.
	Version string
	// Code lists the other code the output depends on, each as
	// "name version", e.g. "features features-v2" or "go go1.26.8".
	Code []string
	// Volatile lists output fields that are measurements (latency,
	// timings), as JSON paths with [*] for any index, e.g.
	// "costs[*].mean_ms" or "elapsed_s" (a field and all below it). Verify
	// reports their differences as "varies", not "differs".
	Volatile []string
	// Run computes the output. Files it writes go in w.Dir.
	Run func(ctx context.Context, w *Work, in I) (O, error)
	// Describe, when set, says in a few words what Run does on in
	// ("profile 14 models on imagenet-val-dev"), for the progress lines.
	Describe func(in I) string
}

// Work is what a running stage gets besides its input.
type Work struct {
	// Dir is the stage's own folder for output files. It exists; after a
	// killed run it holds what that run left, so a resumable stage can
	// continue.
	Dir string
	// Log receives progress for people (never nil).
	Log    io.Writer
	runner *Runner
}

// Path returns the path of name inside the stage's folder.
func (w *Work) Path(name string) string { return filepath.Join(w.Dir, name) }

// Output returns the file name written in the stage's folder, hashed.
func (w *Work) Output(name string) (File, error) { return w.runner.HashFile(w.Path(name)) }

// Runner is the runner the stage runs under (to hash files it wrote).
func (w *Work) Runner() *Runner { return w.runner }

// Record is what one Do call did, for the run's timing record.
type Record struct {
	Stage string `json:"stage"`
	Key   string `json:"key"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// Seconds is the wall time of this call; ComputeSeconds the time the
	// computation took when it ran (equal for StatusRan), at ComputedAt.
	Seconds        float64 `json:"seconds"`
	ComputeSeconds float64 `json:"compute_seconds"`
	ComputedAt     string  `json:"computed_at"`
	// Revision is the code revision that computed the output, if known.
	Revision string `json:"revision,omitempty"`
	// Diffs lists differences found by verify (at most maxDiffs), and
	// DiffCount how many there were in all.
	Diffs     []Diff `json:"diffs,omitempty"`
	DiffCount int    `json:"diff_count,omitempty"`
}

// Statuses of a Record.
const (
	StatusHit      = "hit"      // the cached output was used, nothing ran
	StatusRan      = "ran"      // the stage ran and its output was cached
	StatusVerified = "verified" // verify re-ran it: identical output
	StatusVaries   = "varies"   // verify: only volatile fields differ
	StatusDiffers  = "differs"  // verify: a non-volatile field differs
)

// Runner runs stages against one cache folder. Its methods are safe for
// concurrent use.
type Runner struct {
	// Root is the cache folder (settings.Cache()/pipeline by default).
	Root string
	// Verify re-runs cached stages and compares their outputs.
	Verify bool
	// Log receives one line per stage; nil discards.
	Log io.Writer
	// Revision is the code revision recorded with each computed entry.
	Revision string
	// Earlier holds compute seconds of stages computed before (from
	// earlier results' manifests), by the key's first 16 hex digits: a
	// stage computed again is given that time as its ETA.
	Earlier map[string]float64

	label string // what the stages run for now (an experiment's name)

	hash     hasher
	mu       sync.Mutex
	records  []Record
	verified map[string]bool // keys verify already re-ran in this run
}

// NewRunner returns a runner on the cache folder root, creating it.
func NewRunner(root string) (*Runner, error) {
	if root == "" {
		return nil, errors.New("pipeline: empty cache folder")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("pipeline: cache folder %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("pipeline: cache folder: %w", err)
	}
	return &Runner{Root: abs}, nil
}

// Records returns what every Do call so far did, in call order.
func (r *Runner) Records() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Record(nil), r.records...)
}

// SetLabel names what the next stages run for (an experiment), at the
// start of their progress lines.
func (r *Runner) SetLabel(label string) {
	r.mu.Lock()
	r.label = label
	r.mu.Unlock()
}

// prefix starts a stage's progress lines: "fig8 premodel-cv 3f2a8c91e0ab".
func (r *Runner) prefix(stage, key string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.label == "" {
		return fmt.Sprintf("%s %.12s", stage, key)
	}
	return fmt.Sprintf("%s %s %.12s", r.label, stage, key)
}

// add records rec and prints its line: nothing for a cached stage (the
// experiment's line counts them), its time for a computed one.
func (r *Runner) add(rec Record) {
	r.mu.Lock()
	r.records = append(r.records, rec)
	r.mu.Unlock()
	if r.Log == nil {
		return
	}
	p := r.prefix(rec.Stage, rec.Key)
	switch rec.Status {
	case StatusHit:
	case StatusRan:
		fmt.Fprintf(r.Log, "%s: ran in %s\n", p, progress.Duration(secs(rec.Seconds)))
	default:
		fmt.Fprintf(r.Log, "%s: verify: %s (%d differences)\n", p, rec.Status, rec.DiffCount)
		for _, d := range rec.Diffs {
			fmt.Fprintf(r.Log, "    %s\n", d)
		}
	}
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// expected is the time the stage with key took when computed before (0:
// not known).
func (r *Runner) expected(key string) time.Duration {
	if len(key) < 16 {
		return 0
	}
	return secs(r.Earlier[key[:16]])
}

// computing says what a stage about to run does and its ETA (unless it
// ends within progress.HoldFor), and starts its heartbeat; the returned
// writer is the stage's log, and stop ends the heartbeat.
func (r *Runner) computing(stage, key, doing, what string, exp time.Duration) (io.Writer, func()) {
	if r.Log == nil {
		return io.Discard, func() {}
	}
	p := r.prefix(stage, key)
	if what != "" {
		what = ": " + what
	}
	eta := "ETA unknown"
	if exp > 0 {
		eta = fmt.Sprintf("ETA ~%s (the time it took before)", progress.Duration(exp))
	}
	w := progress.Watch(r.Log)
	w.Hold(fmt.Sprintf("%s: %s%s, %s", p, doing, what, eta))
	beat := progress.NewBeat(w, p, exp, time.Now())
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { beat.Run(stop); close(done) }()
	return w, func() { close(stop); <-done }
}

func describe[I, O any](s Stage[I, O], in I) string {
	if s.Describe == nil {
		return ""
	}
	return s.Describe(in)
}

// firstVerify reports whether key has not been verified yet in this run
// (many experiments share a stage: it is re-run once), and marks it.
func (r *Runner) firstVerify(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verified[key] {
		return false
	}
	if r.verified == nil {
		r.verified = map[string]bool{}
	}
	r.verified[key] = true
	return true
}

// description is what a cache key hashes.
type description struct {
	Stage   string   `json:"stage"`
	Version string   `json:"version"`
	Code    []string `json:"code"`
	Input   any      `json:"input"`
}

// entry is a computed stage's entry.json.
type entry struct {
	Key         string          `json:"key"`
	Description json.RawMessage `json:"description"`
	Output      json.RawMessage `json:"output"`
	Seconds     float64         `json:"seconds"`
	CreatedAt   string          `json:"created_at"`
	Revision    string          `json:"revision,omitempty"`
}

const entryFile = "entry.json"

// Key returns the cache key of running s on in, and the canonical
// description it hashes.
func Key[I, O any](s Stage[I, O], in I) (string, []byte, error) {
	if s.Name == "" || s.Version == "" || s.Run == nil {
		return "", nil, errors.New("pipeline: a stage needs a name, a version and a Run function")
	}
	raw, err := json.Marshal(description{Stage: s.Name, Version: s.Version, Code: s.Code, Input: in})
	if err != nil {
		return "", nil, fmt.Errorf("pipeline: stage %s: input is not JSON: %w", s.Name, err)
	}
	canon, err := canonical(raw)
	if err != nil {
		return "", nil, fmt.Errorf("pipeline: stage %s: %w", s.Name, err)
	}
	h := sha256.Sum256(canon)
	return hex.EncodeToString(h[:]), canon, nil
}

// Do runs stage s on in, or returns its cached output. See the package
// documentation for the key and for verify.
func Do[I, O any](ctx context.Context, r *Runner, s Stage[I, O], in I) (O, error) {
	var zero O
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	key, desc, err := Key(s, in)
	if err != nil {
		return zero, err
	}
	dir := filepath.Join(r.Root, s.Name, key[:32])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return zero, fmt.Errorf("stage %s: %w", s.Name, err)
	}
	unlock, err := lock(dir + ".lock")
	if err != nil {
		return zero, fmt.Errorf("stage %s: %w", s.Name, err)
	}
	defer unlock()

	start := time.Now()
	if e, ok := readEntry(dir, key); ok {
		var out O
		if err := json.Unmarshal(e.Output, &out); err == nil {
			rec := Record{Stage: s.Name, Key: key, Status: StatusHit, ComputeSeconds: e.Seconds, ComputedAt: e.CreatedAt, Revision: e.Revision}
			if r.Verify && r.firstVerify(key) {
				if err := verify(ctx, r, s, in, e, &rec); err != nil {
					return zero, err
				}
			}
			rec.Seconds = time.Since(start).Seconds()
			r.add(rec)
			return out, nil
		}
		// An output this code cannot read back: compute it again.
	}
	os.Remove(filepath.Join(dir, entryFile))
	log, stop := r.computing(s.Name, key, "computing", describe(s, in), r.expected(key))
	w := &Work{Dir: dir, Log: log, runner: r}
	out, err := s.Run(ctx, w, in)
	stop()
	if err != nil {
		return zero, fmt.Errorf("stage %s: %w", s.Name, err)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return zero, fmt.Errorf("stage %s: output is not JSON: %w", s.Name, err)
	}
	secs := time.Since(start).Seconds()
	e := entry{Key: key, Description: desc, Output: raw, Seconds: secs, CreatedAt: time.Now().UTC().Format(time.RFC3339), Revision: r.Revision}
	if err := writeEntry(dir, e); err != nil {
		return zero, fmt.Errorf("stage %s: %w", s.Name, err)
	}
	// Return what a later hit would return, so a first and a second run
	// hand downstream stages identical values.
	var back O
	if err := json.Unmarshal(raw, &back); err != nil {
		return zero, fmt.Errorf("stage %s: output does not read back from JSON: %w", s.Name, err)
	}
	r.add(Record{Stage: s.Name, Key: key, Status: StatusRan, Seconds: secs, ComputeSeconds: secs, ComputedAt: e.CreatedAt, Revision: r.Revision})
	return back, nil
}

// verify runs s again in a scratch folder and compares its output with the
// cached entry e, filling rec's status and differences.
func verify[I, O any](ctx context.Context, r *Runner, s Stage[I, O], in I, e entry, rec *Record) error {
	scratch, err := os.MkdirTemp(filepath.Join(r.Root, s.Name), "verify-")
	if err != nil {
		return fmt.Errorf("stage %s: verify: %w", s.Name, err)
	}
	defer os.RemoveAll(scratch)
	log, stop := r.computing(s.Name, e.Key, "verifying, computing it again", describe(s, in), secs(e.Seconds))
	w := &Work{Dir: scratch, Log: log, runner: r}
	out, err := s.Run(ctx, w, in)
	stop()
	if err != nil {
		return fmt.Errorf("stage %s: verify: %w", s.Name, err)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("stage %s: verify: output is not JSON: %w", s.Name, err)
	}
	diffs, err := Compare(e.Output, raw, s.Volatile)
	if err != nil {
		return fmt.Errorf("stage %s: verify: %w", s.Name, err)
	}
	rec.Status = StatusVerified
	rec.DiffCount = len(diffs)
	for _, d := range diffs {
		if !d.Volatile {
			rec.Status = StatusDiffers
		} else if rec.Status == StatusVerified {
			rec.Status = StatusVaries
		}
	}
	if len(diffs) > maxDiffs {
		diffs = diffs[:maxDiffs]
	}
	rec.Diffs = diffs
	return nil
}

func readEntry(dir, key string) (entry, bool) {
	b, err := os.ReadFile(filepath.Join(dir, entryFile))
	if err != nil {
		return entry{}, false
	}
	var e entry
	if json.Unmarshal(b, &e) != nil || e.Key != key {
		return entry{}, false
	}
	// Every output file must still be there (a user may have deleted one).
	for _, p := range filePaths(e.Output) {
		if _, err := os.Stat(p); err != nil {
			return entry{}, false
		}
	}
	return e, true
}

func writeEntry(dir string, e entry) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(e); err != nil {
		return err
	}
	tmp := filepath.Join(dir, entryFile+".tmp")
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, entryFile))
}

// lock takes an exclusive advisory lock on path (created if missing), so
// two processes never compute the same entry at once.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// filePaths lists the paths of the Files inside a JSON value.
func filePaths(raw []byte) []string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if _, ok := x[fileKey]; ok {
				if p, ok := x["path"].(string); ok && p != "" {
					out = append(out, p)
				}
				return
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return out
}

// canonical re-encodes JSON with sorted keys and every File replaced by its
// identity, so equal computations give equal bytes wherever files live.
func canonical(raw []byte) ([]byte, error) {
	v, err := decode(raw)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(identities(v)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func decode(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers exactly as written
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return v, nil
}

// identities replaces every File object in v by its "$file" value.
func identities(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if id, ok := x[fileKey]; ok {
			return id
		}
		out := make(map[string]any, len(x))
		for k, c := range x {
			out[k] = identities(c)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, c := range x {
			out[i] = identities(c)
		}
		return out
	default:
		return v
	}
}

// shorten keeps diff values readable.
func shorten(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return strings.TrimSpace(s)
}
