package classifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/premodel"
)

// TopK is the number of classes a result lists (the paper's top-5).
const TopK = 5

// Options are the run-time settings of a classifier.
type Options struct {
	// Workers is the number of Classify calls served at once (default 1).
	// Each worker holds its own ONNX Runtime session of every model the
	// router may choose, so memory grows with Workers; calls beyond it wait.
	Workers int
	// Load sets threads, execution provider and ONNX Runtime library.
	Load inference.Options
}

// Config is what a classifier runs: a router, the specs of every model it
// may choose, the class names and the feature extractor's setting.
type Config struct {
	Router premodel.Router
	Specs  []inference.Spec
	// Labels are the class names by index (nil: results carry indices
	// only).
	Labels []string
	// MaxSide is the feature extractor's working-image side (0: default),
	// as the router's training features were computed.
	MaxSide int
}

// Result is the answer for one image: the same shape whether a premodel
// or a single model (premodel.Fixed) chose the model.
type Result struct {
	// Model is the model that ran; "" when the router chose none and the
	// bundle's fallback is "no prediction".
	Model        string `json:"model"`
	NoPrediction bool   `json:"no_prediction,omitempty"`
	// Labels are the top classes, best first, and Scores their scores.
	Labels   []Label           `json:"labels"`
	Scores   []float32         `json:"scores"`
	Decision premodel.Decision `json:"decision"`
	Timings  Timings           `json:"timings_ms"`
	// Runs lists every model run for the image, in order, when a softmax
	// cascade ran more than its answer's model (absent otherwise: only
	// Model ran).
	Runs []Run `json:"runs,omitempty"`
}

// Run is one model run of a cascade.
type Run struct {
	Model string  `json:"model"`
	Top1  float32 `json:"top1_score"`
	// MS is the model's preprocessing and run.
	MS float64 `json:"ms"`
}

// escalator is a router that escalates on the answering model's top-1
// score (premodel.SoftmaxCascade).
type escalator interface {
	Next(level int, top1 float64) string
}

// Label is one class of a result.
type Label struct {
	Index int    `json:"index"` // 0-based, after the model's label offset
	Name  string `json:"name,omitempty"`
}

// Timings are the stages of one call, in milliseconds.
type Timings struct {
	// Features is the premodel's feature extraction from the encoded
	// image (its own reduced decode included).
	Features float64 `json:"features"`
	// Premodel is the router's decision.
	Premodel float64 `json:"premodel"`
	// Decode is the full decode for the model; Inference is its
	// preprocessing and run.
	Decode    float64 `json:"decode"`
	Inference float64 `json:"inference"`
	Total     float64 `json:"total"`
}

// Classifier classifies encoded images with a router and its models. It is
// safe for concurrent use: each call borrows one worker's state (feature
// extractor and loaded models) from a pool.
type Classifier struct {
	router  premodel.Router
	labels  []string
	feats   []string
	pool    chan *worker
	workers int // created so far
	done    chan struct{}
	once    sync.Once
}

// worker is the state one call needs to itself: ONNX Runtime sessions
// reuse their tensors, so a model is not safe for concurrent use.
type worker struct {
	ex     *features.Extractor
	models map[string]*inference.Model
	// emb is the backbone of a CNN premodel (nil otherwise): it computes
	// the embedding the router reads, and its own answer.
	emb *inference.Embedder
}

// embedded is a router that reads a backbone's embedding instead of image
// features (a CNN premodel).
type embedded interface {
	BackboneModel() string
}

// Open loads a bundle (premodel.LoadBundle: version and hashes checked) and
// returns its classifier.
func Open(dir string, o Options) (*Classifier, error) {
	b, err := premodel.LoadBundle(dir)
	if err != nil {
		return nil, err
	}
	return New(Config{Router: b.Router, Specs: b.Specs, Labels: b.Labels, MaxSide: b.Manifest.Features.MaxSide}, o)
}

// New loads every model the router may choose, once per worker, and
// returns the classifier. A model that fails to load fails New, naming it.
func New(cfg Config, o Options) (*Classifier, error) {
	if cfg.Router == nil {
		return nil, errors.New("classifier: no router")
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	names := cfg.Router.Models()
	specs := make([]inference.Spec, len(names))
	for i, n := range names {
		j := slices.IndexFunc(cfg.Specs, func(s inference.Spec) bool { return s.Name == n })
		if j < 0 {
			return nil, fmt.Errorf("classifier: the router may choose %s, but no spec names it", n)
		}
		specs[i] = cfg.Specs[j]
		if cfg.Labels != nil && len(cfg.Labels) < specs[i].NumClasses {
			return nil, fmt.Errorf("classifier: %d class names for model %s of %d classes: give a labels file with one name per class",
				len(cfg.Labels), n, specs[i].NumClasses)
		}
	}
	c := &Classifier{router: cfg.Router, labels: cfg.Labels, feats: cfg.Router.Features(),
		pool: make(chan *worker, o.Workers), done: make(chan struct{})}
	var backbone *inference.Spec
	if e, ok := cfg.Router.(embedded); ok && e.BackboneModel() != "" {
		j := slices.IndexFunc(cfg.Specs, func(s inference.Spec) bool { return s.Name == e.BackboneModel() })
		if j < 0 {
			return nil, fmt.Errorf("classifier: the router reads the embedding of %s, but no spec names it", e.BackboneModel())
		}
		backbone = &cfg.Specs[j]
		c.feats = nil // the embedding, not image features
		// The embedder answers for the backbone's own model.
		specs = slices.DeleteFunc(slices.Clone(specs), func(s inference.Spec) bool { return s.Name == backbone.Name })
	}
	for range o.Workers {
		w, err := newWorker(c.feats, cfg.MaxSide, specs, o.Load)
		if err == nil && backbone != nil {
			if w.emb, err = inference.LoadEmbedder(*backbone, o.Load); err != nil {
				w.close()
				err = fmt.Errorf("classifier: backbone: %w", err)
			} else if err = w.warmUp(); err != nil {
				w.close()
			}
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		c.pool <- w
		c.workers++ // the number of workers Close must collect
	}
	return c, nil
}

func newWorker(feats []string, maxSide int, specs []inference.Spec, load inference.Options) (*worker, error) {
	w := &worker{models: map[string]*inference.Model{}}
	if len(feats) > 0 {
		ex, err := features.NewExtractor(feats, features.Options{MaxSide: maxSide})
		if err != nil {
			return nil, fmt.Errorf("classifier: %w", err)
		}
		w.ex = ex
	}
	for _, s := range specs {
		m, err := inference.Load(s, load)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("classifier: %w", err)
		}
		w.models[s.Name] = m
	}
	if err := w.warmUp(); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// warmUp runs the extractor and every model once on a generated image:
// OpenCV builds tables and ONNX Runtime allocates on first use, which made
// a cold first call tens of milliseconds slower than the next ones.
func (w *worker) warmUp() error {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		return fmt.Errorf("classifier: warm-up image: %w", err)
	}
	if w.ex != nil {
		if _, err := w.ex.ExtractBytes(buf.Bytes()); err != nil {
			return fmt.Errorf("classifier: warm up the features: %w", err)
		}
	}
	mat, err := inference.DecodeImage(buf.Bytes())
	if err != nil {
		return fmt.Errorf("classifier: warm-up image: %w", err)
	}
	defer mat.Close()
	for name, m := range w.models {
		if _, err := m.Classify(mat, TopK); err != nil {
			return fmt.Errorf("classifier: warm up %s: %w", name, err)
		}
	}
	if w.emb != nil {
		if _, err := w.emb.Embed(mat); err != nil {
			return fmt.Errorf("classifier: warm up the backbone: %w", err)
		}
	}
	return nil
}

func (w *worker) close() {
	for _, m := range w.models {
		m.Close()
	}
	if w.emb != nil {
		w.emb.Close()
	}
}

// ErrClosed is returned by Classify after Close.
var ErrClosed = errors.New("classifier: closed")

// Classify routes one encoded image (JPEG, PNG, ...) and runs the chosen
// model. An image that cannot be decoded is an error for that call only.
// A call waits for a free worker, or for ctx.
func (c *Classifier) Classify(ctx context.Context, image []byte) (Result, error) {
	var w *worker
	select {
	case <-c.done:
		return Result{}, ErrClosed
	default:
	}
	select {
	case w = <-c.pool:
	case <-c.done:
		return Result{}, ErrClosed
	case <-ctx.Done():
		return Result{}, fmt.Errorf("classify: %w", ctx.Err())
	}
	defer func() { c.pool <- w }()
	return c.classify(w, image)
}

func (c *Classifier) classify(w *worker, image []byte) (Result, error) {
	if w.emb != nil {
		return c.classifyEmbedded(w, image)
	}
	var r Result
	start := time.Now()
	in := premodel.Input{Image: image}
	if w.ex != nil {
		t := time.Now()
		x, err := w.ex.ExtractBytes(image)
		if err != nil {
			return r, fmt.Errorf("classify: %w", err)
		}
		r.Timings.Features = ms(time.Since(t))
		in.Features = x
	}
	t := time.Now()
	dec, err := c.router.Route(in)
	if err != nil {
		return r, fmt.Errorf("classify: %w", err)
	}
	r.Timings.Premodel = ms(time.Since(t))
	r.Decision, r.Model = dec, dec.Model
	if dec.Model == "" {
		r.NoPrediction = true
		r.Labels, r.Scores = []Label{}, []float32{}
		r.Timings.Total = ms(time.Since(start))
		return r, nil
	}
	m := w.models[dec.Model]
	if m == nil {
		return r, fmt.Errorf("classify: the router chose %s, which it did not list among its models", dec.Model)
	}
	t = time.Now()
	img, err := inference.DecodeImage(image)
	if err != nil {
		return r, fmt.Errorf("classify: %w", err)
	}
	defer img.Close()
	r.Timings.Decode = ms(time.Since(t))
	t = time.Now()
	top, err := m.Classify(img, TopK)
	if err != nil {
		return r, fmt.Errorf("classify: %w", err)
	}
	r.Timings.Inference = ms(time.Since(t))
	if esc, ok := c.router.(escalator); ok {
		r.Runs = []Run{{Model: r.Model, Top1: top1(top.Score), MS: r.Timings.Inference}}
		for level := 0; ; level++ {
			next := esc.Next(level, float64(top1(top.Score)))
			if next == "" {
				break
			}
			m = w.models[next]
			if m == nil {
				return r, fmt.Errorf("classify: the cascade escalated to %s, which it did not list among its models", next)
			}
			t = time.Now()
			if top, err = m.Classify(img, TopK); err != nil {
				return r, fmt.Errorf("classify: %w", err)
			}
			d := ms(time.Since(t))
			r.Timings.Inference += d
			r.Model = next
			r.Runs = append(r.Runs, Run{Model: next, Top1: top1(top.Score), MS: d})
		}
	}
	c.answer(&r, top)
	r.Timings.Total = ms(time.Since(start))
	return r, nil
}

// answer fills the labels and scores of r from the model's top classes.
func (c *Classifier) answer(r *Result, top inference.TopK) {
	r.Labels = make([]Label, len(top.Index))
	for i, k := range top.Index {
		r.Labels[i] = Label{Index: k}
		if k < len(c.labels) {
			r.Labels[i].Name = c.labels[k]
		}
	}
	r.Scores = top.Score
}

// classifyEmbedded serves a CNN premodel: one decode, the backbone's
// embedding and the head's decision (both in Timings.Premodel), then the
// chosen model on the same decoded image; when the router picks the
// backbone's own model, its scores from the embedding run are the answer.
func (c *Classifier) classifyEmbedded(w *worker, image []byte) (Result, error) {
	var r Result
	start := time.Now()
	img, err := inference.DecodeImage(image)
	if err != nil {
		return r, fmt.Errorf("classify: %w", err)
	}
	defer img.Close()
	r.Timings.Decode = ms(time.Since(start))
	t := time.Now()
	v, err := w.emb.Embed(img)
	if err != nil {
		return r, fmt.Errorf("classify: backbone: %w", err)
	}
	x := make([]float64, len(v))
	for i, f := range v {
		x[i] = float64(f)
	}
	dec, err := c.router.Route(premodel.Input{Features: x, Image: image})
	if err != nil {
		return r, fmt.Errorf("classify: %w", err)
	}
	r.Timings.Premodel = ms(time.Since(t))
	r.Decision, r.Model = dec, dec.Model
	if dec.Model == "" {
		r.NoPrediction = true
		r.Labels, r.Scores = []Label{}, []float32{}
		r.Timings.Total = ms(time.Since(start))
		return r, nil
	}
	var top inference.TopK
	if dec.Model == w.emb.Spec.Name {
		sp := w.emb.Spec
		top = inference.Top(w.emb.Scores(), TopK, sp.LabelOffset, sp.NumClasses)
	} else {
		m := w.models[dec.Model]
		if m == nil {
			return r, fmt.Errorf("classify: the router chose %s, which it did not list among its models", dec.Model)
		}
		t = time.Now()
		if top, err = m.Classify(img, TopK); err != nil {
			return r, fmt.Errorf("classify: %w", err)
		}
		r.Timings.Inference = ms(time.Since(t))
	}
	c.answer(&r, top)
	r.Timings.Total = ms(time.Since(start))
	return r, nil
}

// Close waits for the calls in flight and releases every model. Classify
// calls after Close return ErrClosed.
func (c *Classifier) Close() {
	c.once.Do(func() {
		close(c.done)
		// Every worker comes back to the pool, those lent out included.
		for range c.workers {
			(<-c.pool).close()
		}
	})
}

// top1 is the best score of a top-k list (-Inf when empty, so a cascade
// escalates).
func top1(s []float32) float32 {
	if len(s) == 0 {
		return float32(math.Inf(-1))
	}
	return s[0]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// DefaultWorkers is a sensible pool size for a server: one per CPU.
func DefaultWorkers() int { return runtime.GOMAXPROCS(0) }
