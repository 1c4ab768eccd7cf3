package inference

import (
	"fmt"
	"path/filepath"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/internal/ortenv"
	"github.com/modelpick/modelpick/onnxconv"
)

// Embedder is a ladder model loaded with a second output, its pooled image
// embedding (onnxconv.ConvertFileWithEmbedding): one run gives both the
// embedding a CNN premodel reads and the model's own class scores, so a
// premodel built on the cheapest model's backbone can reuse its answer.
// Not safe for concurrent use; load one per worker.
type Embedder struct {
	*Model
	emb *ort.Tensor[float32]
}

// LoadEmbedder loads a single-file TFLite spec with its embedding exposed.
// The import is cached beside the plain one, under its own name.
func LoadEmbedder(spec Spec, opts Options) (e *Embedder, err error) {
	opts = opts.withDefaults()
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("embedder %s: %w", spec.Name, err)
	}
	if len(spec.Files) != 1 || !strings.EqualFold(filepath.Ext(spec.FilePath(0)), ".tflite") {
		return nil, fmt.Errorf("embedder %s: want a spec of one .tflite file (its pooled tensor is exposed on import), have %v",
			spec.Name, spec.Files)
	}
	if err := ortenv.Init(opts.ORTLibrary); err != nil {
		return nil, err
	}
	sha, err := spec.FilesSHA256()
	if err != nil {
		return nil, fmt.Errorf("embedder %s: %w", spec.Name, err)
	}
	m := &Model{Spec: spec, FilesSHA: sha, Threads: opts.Threads, Provider: opts.Provider}
	defer func() {
		if err != nil {
			m.Close()
			e = nil
		}
	}()
	if m.prep, err = newPreprocessor(spec); err != nil {
		return nil, fmt.Errorf("embedder %s: %w", spec.Name, err)
	}
	path := spec.FilePath(0)
	onnxPath, err := importTFLite(path, sha, opts.CacheDir, "-embedding", onnxconv.ConvertFileWithEmbedding)
	if err != nil {
		return nil, fmt.Errorf("embedder %s: %w", spec.Name, err)
	}
	ins, outs, err := ort.GetInputOutputInfo(onnxPath)
	if err != nil {
		return nil, fmt.Errorf("embedder %s: %s: %w", spec.Name, path, err)
	}
	if len(ins) != 1 || len(outs) != 2 || outs[1].Name != "embedding" {
		return nil, fmt.Errorf("embedder %s: %s imports with %d inputs and %d outputs, want 1 input and 2 outputs (scores, embedding)",
			spec.Name, path, len(ins), len(outs))
	}
	if err := m.makeInput(ins[0], path); err != nil {
		return nil, err
	}
	if err := m.makeOutput(outs[0], path); err != nil {
		return nil, err
	}
	emb, err := ort.NewEmptyTensor[float32](fixBatch(outs[1].Dimensions))
	if err != nil {
		return nil, fmt.Errorf("embedder %s: embedding tensor: %w", spec.Name, err)
	}
	m.values = append(m.values, emb) // m.Close destroys it
	so, err := sessionOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("embedder %s: %w", spec.Name, err)
	}
	defer so.Destroy()
	s, err := ort.NewAdvancedSession(onnxPath, []string{ins[0].Name}, []string{outs[0].Name, outs[1].Name},
		[]ort.Value{m.values[0]}, []ort.Value{m.out, emb}, so)
	if err != nil {
		return nil, fmt.Errorf("embedder %s: %s: open session: %w", spec.Name, path, err)
	}
	m.sessions = append(m.sessions, s)
	return &Embedder{Model: m, emb: emb}, nil
}

// Dims is the length of the embedding.
func (e *Embedder) Dims() int { return int(e.emb.GetShape().FlattenedSize()) }

// Embed preprocesses img, runs the model once and returns a copy of the
// embedding; Scores then holds the model's class scores for the same run.
func (e *Embedder) Embed(img gocv.Mat) ([]float32, error) {
	if err := e.SetInput(img); err != nil {
		return nil, err
	}
	if err := e.Run(); err != nil {
		return nil, err
	}
	return append([]float32(nil), e.Embedding()...), nil
}

// Embedding is the embedding of the last Run; it is overwritten by the
// next Run.
func (e *Embedder) Embedding() []float32 { return e.emb.GetData() }
