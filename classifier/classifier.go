package classifier

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"runtime"
	"slices"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/cvthreads"
	"github.com/modelpick/modelpick/internal/imghdr"
	"github.com/modelpick/modelpick/route"
	"github.com/modelpick/modelpick/routers"
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
// may run and the class names.
type Config struct {
	Router route.Router
	Specs  []inference.Spec
	// Labels are the class names by index (nil: results carry indices
	// only).
	Labels []string
}

// Result is the answer for one image: the same shape whatever the router
// (a premodel, a cascade, or a single model: route.Fixed).
type Result struct {
	// Model is the model that ran; "" when the router chose none and the
	// bundle's fallback is "no prediction".
	Model        string `json:"model"`
	NoPrediction bool   `json:"no_prediction,omitempty"`
	// Labels are the top classes, best first, and Scores their scores.
	Labels   []Label        `json:"labels"`
	Scores   []float32      `json:"scores"`
	Decision route.Decision `json:"decision"`
	Timings  Timings        `json:"timings_ms"`
	// Runs lists every model the router ran itself, in order (a
	// cascade's levels; absent when only Model ran).
	Runs []Run `json:"runs,omitempty"`
}

// Run is one model run the router asked for.
type Run struct {
	Model string  `json:"model"`
	Top1  float32 `json:"top1_score"`
	// MS is the model's preprocessing and run.
	MS float64 `json:"ms"`
}

// Label is one class of a result.
type Label struct {
	Index int    `json:"index"` // 0-based, after the model's label offset
	Name  string `json:"name,omitempty"`
}

// Timings are the stages of one call, in milliseconds.
type Timings struct {
	// Features is the premodel's feature extraction, with its own reduced
	// decode when it cannot share the models' (see Cost).
	Features float64 `json:"features"`
	// Premodel is the router's decision (a backbone's embedding
	// included).
	Premodel float64 `json:"premodel"`
	// Decode is the decode for the models, shared with the features when
	// both want the same scale; Inference is their preprocessing and runs.
	Decode    float64 `json:"decode"`
	Inference float64 `json:"inference"`
	Total     float64 `json:"total"`
}

// Classifier classifies encoded images with a router and its models. It is
// safe for concurrent use: each call borrows one worker's state (feature
// extractor and loaded models) from a pool.
type Classifier struct {
	router  route.Router
	labels  []string
	maxSide int // the features' working side (0 without features)
	input   int // the largest input side of the models it may run
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
	// emb is the router's backbone (nil when it reads none): it computes
	// the embedding the router reads, and its own answer.
	emb *inference.Embedder
}

// Open loads a bundle (routers.Open: version and hashes checked) and
// returns its classifier.
func Open(dir string, o Options) (*Classifier, error) {
	l, err := routers.Open(dir)
	if err != nil {
		return nil, err
	}
	return New(Config{Router: l.Router, Specs: l.Specs, Labels: l.Labels}, o)
}

// New loads every model the router may choose, once per worker, and
// returns the classifier. A model that fails to load fails New, naming it.
//
// New makes OpenCV run its loops on the calling thread, process-wide
// (cvthreads.Set(1)): the workers are the classifier's parallelism, and
// OpenCV's own thread pool cost a quarter more CPU per image on the
// features while its threads spun on the cores the workers need.
func New(cfg Config, o Options) (*Classifier, error) {
	if cfg.Router == nil {
		return nil, errors.New("classifier: no router")
	}
	cvthreads.Set(1)
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
	c := &Classifier{router: cfg.Router, labels: cfg.Labels, pool: make(chan *worker, o.Workers), done: make(chan struct{})}
	needs := cfg.Router.Needs()
	var backbone *inference.Spec
	if needs.Backbone != "" {
		j := slices.IndexFunc(specs, func(s inference.Spec) bool { return s.Name == needs.Backbone })
		if j < 0 {
			return nil, fmt.Errorf("classifier: the router reads the embedding of %s, which it does not list among its models", needs.Backbone)
		}
		backbone = &specs[j]
		// The embedder answers for the backbone's own model.
		specs = slices.Delete(slices.Clone(specs), j, j+1)
	}
	for _, sp := range specs {
		c.input = max(c.input, sp.InputSize)
	}
	if backbone != nil {
		c.input = max(c.input, backbone.InputSize)
	}
	if len(needs.Features) > 0 {
		c.maxSide = cmp.Or(needs.MaxSide, features.DefaultMaxSide)
	}
	for range o.Workers {
		w, err := newWorker(needs.Features, needs.MaxSide, specs, o.Load)
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
	var r Result
	start := time.Now()
	in := &input{c: c, w: w, data: image, outs: map[string]route.Output{}, runMS: map[string]float64{}}
	defer in.close()
	dec, err := c.router.Route(in)
	if err != nil {
		return r, fmt.Errorf("classify: %w", err)
	}
	routed, featMS, decodeMS := ms(time.Since(start)), in.featMS, in.decodeMS
	r.Decision, r.Model = dec, dec.Model
	scores := dec.Answer
	if scores == nil && dec.Model != "" {
		out, err := in.Run(dec.Model)
		if err != nil {
			return r, fmt.Errorf("classify: %w", err)
		}
		scores = out.Scores
	}
	r.Timings.Features, r.Timings.Decode, r.Timings.Inference = in.featMS, in.decodeMS, in.inferMS
	// The router's own time: what Route took beyond the work it asked for.
	r.Timings.Premodel = routed - featMS - decodeMS - in.routeInferMS(dec)
	for _, m := range dec.Ran {
		r.Runs = append(r.Runs, Run{Model: m, Top1: in.outs[m].Top1(), MS: in.runMS[m]})
	}
	if scores == nil {
		r.NoPrediction = true
		r.Labels, r.Scores = []Label{}, []float32{}
	} else {
		top := inference.Top(scores, TopK, 0, len(scores))
		r.Labels = make([]Label, len(top.Index))
		for i, k := range top.Index {
			r.Labels[i] = Label{Index: k}
			if k < len(c.labels) {
				r.Labels[i].Name = c.labels[k]
			}
		}
		r.Scores = top.Score
	}
	r.Timings.Total = ms(time.Since(start))
	return r, nil
}

// input is one image as the router sees it (route.Input): features,
// the backbone's embedding and model outputs, each computed once, on the
// worker's extractor and models, and timed.
type input struct {
	c    *Classifier
	w    *worker
	data []byte
	// plan is how it decodes, once read (planned).
	plan    plan
	planned bool
	img     gocv.Mat
	// decoded says img holds the decoded image.
	decoded bool
	embed   []float64
	outs    map[string]route.Output
	runMS   map[string]float64
	// The time spent on each part of the call.
	featMS, decodeMS, inferMS float64
}

func (in *input) close() {
	if in.decoded {
		in.img.Close()
	}
}

// getPlan reads the image's header once and plans its decodes.
func (in *input) getPlan() (plan, error) {
	if !in.planned {
		p, err := in.c.plan(in.data)
		if err != nil {
			return plan{}, err
		}
		in.plan, in.planned = p, true
	}
	return in.plan, nil
}

// Features implements route.Input. The features are those of the
// canonical path (Extractor.ExtractBytes: the JPEG decoded at
// features.Reduction's scale), which the router was trained on; when the
// models want that same scale, the decode is kept for them.
func (in *input) Features(names []string) ([]float64, error) {
	if in.w.ex == nil || !slices.Equal(names, in.w.ex.Names()) {
		return nil, fmt.Errorf("the router asked for features %v it did not declare", names)
	}
	p, err := in.getPlan()
	if err != nil {
		return nil, err
	}
	var img gocv.Mat
	if in.decoded && p.feat == p.model {
		img = in.img
	} else {
		t := time.Now()
		if img, err = features.DecodeScaled(in.data, p.feat); err != nil {
			return nil, err
		}
		d := ms(time.Since(t))
		if p.feat == p.model && !in.decoded {
			in.img, in.decoded = img, true // one decode serves both
			in.decodeMS += d
		} else {
			defer img.Close()
			in.featMS += d
		}
	}
	t := time.Now()
	x, err := in.w.ex.Extract(img)
	in.featMS += ms(time.Since(t))
	return x, err
}

// decode decodes the image for the models, at the plan's model scale.
func (in *input) decode() error {
	if in.decoded {
		return nil
	}
	p, err := in.getPlan()
	if err != nil {
		return err
	}
	t := time.Now()
	img, err := features.DecodeScaled(in.data, p.model)
	in.decodeMS += ms(time.Since(t))
	if err != nil {
		return err
	}
	in.img, in.decoded = img, true
	return nil
}

// Embedding implements route.Input.
func (in *input) Embedding(model string) ([]float64, error) {
	e := in.w.emb
	if e == nil || e.Spec.Name != model {
		return nil, fmt.Errorf("the router asked for the embedding of %s, not its declared backbone", model)
	}
	if in.embed != nil {
		return in.embed, nil
	}
	if err := in.decode(); err != nil {
		return nil, err
	}
	v, err := e.Embed(in.img)
	if err != nil {
		return nil, fmt.Errorf("backbone: %w", err)
	}
	in.embed = make([]float64, len(v))
	for i, f := range v {
		in.embed[i] = float64(f)
	}
	sp := e.Spec
	in.outs[model] = route.Output{Model: model, Scores: classScores(e.Scores(), sp.LabelOffset, sp.NumClasses)}
	return in.embed, nil
}

// Run implements route.Input.
func (in *input) Run(model string) (route.Output, error) {
	if out, ok := in.outs[model]; ok {
		return out, nil
	}
	if e := in.w.emb; e != nil && e.Spec.Name == model {
		if _, err := in.Embedding(model); err != nil {
			return route.Output{}, err
		}
		return in.outs[model], nil
	}
	m := in.w.models[model]
	if m == nil {
		return route.Output{}, fmt.Errorf("the router chose %s, which it did not list among its models", model)
	}
	if err := in.decode(); err != nil {
		return route.Output{}, err
	}
	t := time.Now()
	if err := m.SetInput(in.img); err != nil {
		return route.Output{}, err
	}
	if err := m.Run(); err != nil {
		return route.Output{}, err
	}
	out := route.Output{Model: model, Scores: classScores(m.Scores(), m.Spec.LabelOffset, m.Spec.NumClasses)}
	d := ms(time.Since(t))
	in.outs[model], in.runMS[model] = out, d
	in.inferMS += d
	return out, nil
}

// plan is how a call decodes an image: at 1/feat for the features (0
// without features) and at 1/model for the models.
type plan struct {
	header      imghdr.Header
	feat, model int
}

func (c *Classifier) plan(image []byte) (plan, error) {
	h, err := imghdr.Read(image)
	if err != nil {
		return plan{}, fmt.Errorf("%w: %w", features.ErrDecode, err)
	}
	p := plan{header: h, model: modelReduction(h, c.input)}
	if c.maxSide > 0 {
		p.feat = features.Reduction(h, c.maxSide)
	}
	return p, nil
}

// modelReduction is the scale 1/d of the models' decode: for a JPEG, the
// largest d of 8, 4 and 2 at which the shorter side stays at least twice
// the largest model input, else 1. The models' bilinear resize (no
// antialiasing) reads 2x2 pixels per output pixel, so from twice the
// input on, libjpeg's DCT-domain reduction removes only detail the resize
// would alias; and profiling decodes in full, which this keeps for every
// image whose shorter side is under 4x the input (896 px at 224: all of
// imagenet-val-dev, 991 of the 1000 imagenet-sample images).
func modelReduction(h imghdr.Header, input int) int {
	if !h.Scalable() || input <= 0 {
		return 1
	}
	for _, d := range []int{8, 4, 2} {
		if w, ht := h.ScaledSize(d); min(w, ht) >= 2*input {
			return d
		}
	}
	return 1
}

// Cost is what classifying an image decodes, read from its header alone,
// so that a server can refuse or schedule a request before any decoder
// runs.
type Cost struct {
	// Pixels is the work of the largest decode in pixels at full cost: the
	// decoded image, or for a progressive or multi-scan JPEG, whose every
	// coefficient libjpeg stores and fills at full resolution whatever the
	// output scale, the whole image times its passes (imghdr's
	// BufferedPasses).
	Pixels int64
	// Bytes bounds the memory the decodes hold at once: 4 bytes a pixel of
	// the largest decoded image (BGR plus the features' pyramid and
	// conversions) and libjpeg's coefficient buffer.
	Bytes int64
	// Decodes is 1 when one decode serves the features and the models, 2
	// when they want different scales.
	Decodes int
}

// bytesPerPixel is Cost.Bytes' allowance per decoded pixel: 3 for BGR,
// 1 for the working copies made from it (a pyramid level is a quarter).
const bytesPerPixel = 4

// Cost returns what Classify would decode for image, or an error wrapping
// features.ErrDecode when its header is unreadable. A decode the router
// may skip (no prediction) is counted.
func (c *Classifier) Cost(image []byte) (Cost, error) {
	p, err := c.plan(image)
	if err != nil {
		return Cost{}, err
	}
	h := p.header
	px := func(d int) int64 {
		w, ht := h.ScaledSize(d)
		return int64(w) * int64(ht)
	}
	out := px(p.model)
	k := Cost{Decodes: 1}
	if p.feat > 0 && p.feat != p.model {
		out = max(out, px(p.feat))
		k.Decodes = 2
	}
	k.Pixels = out
	if h.Buffered() {
		k.Pixels = h.Pixels() * h.BufferedPasses()
	}
	k.Bytes = bytesPerPixel*out + h.CoefficientBytes()
	return k, nil
}

// routeInferMS is the inference the router itself asked for (Ran).
func (in *input) routeInferMS(dec route.Decision) float64 {
	v := 0.0
	for _, m := range dec.Ran {
		v += in.runMS[m]
	}
	return v
}

// classScores copies a model's class scores out of its raw output (which
// the next run overwrites), after the label offset.
func classScores(raw []float32, offset, classes int) []float32 {
	end := min(len(raw), offset+classes)
	if offset > end {
		return nil
	}
	return slices.Clone(raw[offset:end])
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

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// DefaultWorkers is a sensible pool size for a server: one per CPU.
func DefaultWorkers() int { return runtime.GOMAXPROCS(0) }
