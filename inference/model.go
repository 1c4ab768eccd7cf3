package inference

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/internal/ortenv"
	"github.com/modelpick/modelpick/onnxconv"
)

// Options are the runtime settings of a loaded model.
type Options struct {
	// Threads is ONNX Runtime's intra-op thread count (default 1: one core
	// per model keeps latency measurements stable on small boards).
	Threads int
	// Provider is the execution provider: cpu (default), cuda or tensorrt.
	Provider string
	// CacheDir holds TFLite files imported to ONNX; a TFLite model needs
	// one (commands pass the user's cache folder).
	CacheDir string
	// ORTLibrary overrides the ONNX Runtime shared library path.
	ORTLibrary string
}

func (o Options) withDefaults() Options {
	if o.Threads <= 0 {
		o.Threads = 1
	}
	if o.Provider == "" {
		o.Provider = "cpu"
	}
	return o
}

// Model is one loaded candidate: its ONNX Runtime sessions (one per chained
// file), tensors allocated once and reused for every image, and its
// preprocessor. Not safe for concurrent use; load one per worker.
type Model struct {
	Spec     Spec
	FilesSHA string // sha256 of each source file, comma-joined
	Threads  int
	Provider string

	sessions []*ort.AdvancedSession
	values   []ort.Value // values[i] is session i's input, values[i+1] its output
	inF32    *ort.Tensor[float32]
	inU8     *ort.Tensor[uint8]
	out      *ort.Tensor[float32]
	prep     *preprocessor

	// A committee has no sessions of its own: its members, their output
	// buffers, and the mean of those (committee.go).
	members   []*Model
	memberOut [][]float32
	mean      []float32
}

// Load resolves, imports (TFLite → ONNX, cached) and opens every file of
// the spec, and checks that the tensors chain and match the spec's input
// size, layout and dtype and its class count. Errors name the file and field.
// A committee loads each of its members.
func Load(spec Spec, opts Options) (m *Model, err error) {
	opts = opts.withDefaults()
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("model %s: %w", spec.Name, err)
	}
	if spec.IsCommittee() {
		return loadCommittee(spec, opts)
	}
	if err := ortenv.Init(opts.ORTLibrary); err != nil {
		return nil, err
	}
	sha, err := spec.FilesSHA256()
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", spec.Name, err)
	}
	m = &Model{Spec: spec, FilesSHA: sha, Threads: opts.Threads, Provider: opts.Provider}
	defer func() {
		if err != nil {
			m.Close()
			m = nil
		}
	}()
	if m.prep, err = newPreprocessor(spec); err != nil {
		return nil, fmt.Errorf("model %s: %w", spec.Name, err)
	}
	so, err := sessionOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", spec.Name, err)
	}
	defer so.Destroy()

	shaList := strings.Split(sha, ",")
	var prevOut *ort.InputOutputInfo
	for i := range spec.Files {
		path := spec.FilePath(i)
		onnxPath, err := onnxFile(path, shaList[i], opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("model %s: files[%d]: %w", spec.Name, i, err)
		}
		ins, outs, err := ort.GetInputOutputInfo(onnxPath)
		if err != nil {
			return nil, fmt.Errorf("model %s: files[%d] %s: %w", spec.Name, i, path, err)
		}
		if len(ins) != 1 || len(outs) != 1 {
			return nil, fmt.Errorf("model %s: files[%d] %s: has %d inputs and %d outputs, want 1 and 1", spec.Name, i, path, len(ins), len(outs))
		}
		in, out := ins[0], outs[0]
		if i == 0 {
			if err := m.makeInput(in, path); err != nil {
				return nil, err
			}
		} else if err := chainable(*prevOut, in); err != nil {
			return nil, fmt.Errorf("model %s: files[%d] %s does not chain after files[%d]: %w", spec.Name, i, path, i-1, err)
		}
		last := i == len(spec.Files)-1
		if last {
			if err := m.makeOutput(out, path); err != nil {
				return nil, err
			}
		} else {
			if out.DataType != ort.TensorElementDataTypeFloat {
				return nil, fmt.Errorf("model %s: files[%d] %s: intermediate output %q is %s, want float", spec.Name, i, path, out.Name, out.DataType)
			}
			t, err := ort.NewEmptyTensor[float32](fixBatch(out.Dimensions))
			if err != nil {
				return nil, fmt.Errorf("model %s: files[%d]: %w", spec.Name, i, err)
			}
			m.values = append(m.values, t)
		}
		s, err := ort.NewAdvancedSession(onnxPath, []string{in.Name}, []string{out.Name},
			[]ort.Value{m.values[i]}, []ort.Value{m.values[i+1]}, so)
		if err != nil {
			return nil, fmt.Errorf("model %s: files[%d] %s: open session: %w", spec.Name, i, path, err)
		}
		m.sessions = append(m.sessions, s)
		o := out
		prevOut = &o
	}
	return m, nil
}

func sessionOptions(opts Options) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*ort.SessionOptions, error) { so.Destroy(); return nil, err }
	if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
		return fail(err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return fail(err)
	}
	switch opts.Provider {
	case "cpu":
	case "cuda":
		cu, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fail(fmt.Errorf("provider cuda: %w (is MODELPICK_ORT_LIB a CUDA build?)", err))
		}
		defer cu.Destroy()
		if err := so.AppendExecutionProviderCUDA(cu); err != nil {
			return fail(fmt.Errorf("provider cuda: %w", err))
		}
	case "tensorrt":
		trt, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return fail(fmt.Errorf("provider tensorrt: %w (is MODELPICK_ORT_LIB a TensorRT build?)", err))
		}
		defer trt.Destroy()
		if err := so.AppendExecutionProviderTensorRT(trt); err != nil {
			return fail(fmt.Errorf("provider tensorrt: %w", err))
		}
	default:
		return fail(fmt.Errorf("provider %q: want cpu, cuda or tensorrt", opts.Provider))
	}
	return so, nil
}

// onnxFile returns an ONNX path for a model file: itself for .onnx, or the
// cached import of a .tflite keyed by its content hash and the importer's
// version, so a changed file or importer never reuses a stale conversion.
func onnxFile(path, sha, cacheDir string) (string, error) {
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		return path, nil
	}
	return importTFLite(path, sha, cacheDir, "", onnxconv.ConvertFile)
}

// importTFLite converts a .tflite file with convert into the cache, under a
// name that holds its content hash, the importer's version and variant
// (the same file imported differently must not share a cache entry).
func importTFLite(path, sha, cacheDir, variant string, convert func(string) ([]byte, onnxconv.Info, error)) (string, error) {
	if cacheDir == "" {
		return "", fmt.Errorf("import %s: no folder to cache the imported model in (inference.Options.CacheDir)", path)
	}
	dst := filepath.Join(cacheDir, "onnx", fmt.Sprintf("%s-%s-v%s%s.onnx",
		strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), sha[:16], onnxconv.Version, variant))
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	data, _, err := convert(path)
	if err != nil {
		return "", fmt.Errorf("import %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("import cache: %w", err)
	}
	// Write then rename, so a killed run never leaves a half-written model.
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".import-*")
	if err != nil {
		return "", fmt.Errorf("import cache: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", fmt.Errorf("import cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("import cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("import cache: %w", err)
	}
	return dst, nil
}

// fixBatch replaces a dynamic batch dimension with 1.
func fixBatch(s ort.Shape) ort.Shape {
	s = s.Clone()
	if len(s) > 0 && s[0] < 1 {
		s[0] = 1
	}
	return s
}

func (m *Model) makeInput(in ort.InputOutputInfo, path string) error {
	n := int64(m.Spec.InputSize)
	want := ort.NewShape(1, n, n, 3)
	if m.Spec.Layout == "NCHW" {
		want = ort.NewShape(1, 3, n, n)
	}
	got := fixBatch(in.Dimensions)
	if !got.Equals(want) {
		return fmt.Errorf("model %s: %s: input %q has shape %v, but the spec (input_size %d, layout %s) gives %v: fix input_size or layout",
			m.Spec.Name, path, in.Name, in.Dimensions, n, m.Spec.Layout, want)
	}
	var err error
	switch {
	case m.Spec.DType == "float32" && in.DataType == ort.TensorElementDataTypeFloat:
		m.inF32, err = ort.NewEmptyTensor[float32](want)
		m.values = append(m.values, m.inF32)
	case m.Spec.DType == "uint8" && in.DataType == ort.TensorElementDataTypeUint8:
		m.inU8, err = ort.NewEmptyTensor[uint8](want)
		m.values = append(m.values, m.inU8)
	default:
		return fmt.Errorf("model %s: %s: input %q is %s, but the spec says dtype %s: fix dtype",
			m.Spec.Name, path, in.Name, in.DataType, m.Spec.DType)
	}
	if err != nil {
		return fmt.Errorf("model %s: input tensor: %w", m.Spec.Name, err)
	}
	return nil
}

func (m *Model) makeOutput(out ort.InputOutputInfo, path string) error {
	if out.DataType != ort.TensorElementDataTypeFloat {
		return fmt.Errorf("model %s: %s: output %q is %s, want float scores", m.Spec.Name, path, out.Name, out.DataType)
	}
	shape := fixBatch(out.Dimensions)
	if want := int64(m.Spec.NumClasses + m.Spec.LabelOffset); shape.FlattenedSize() != want {
		return fmt.Errorf("model %s: %s: output %q has shape %v (%d scores), but num_classes %d + label_offset %d = %d: fix the spec",
			m.Spec.Name, path, out.Name, out.Dimensions, shape.FlattenedSize(), m.Spec.NumClasses, m.Spec.LabelOffset, want)
	}
	t, err := ort.NewEmptyTensor[float32](shape)
	if err != nil {
		return fmt.Errorf("model %s: output tensor: %w", m.Spec.Name, err)
	}
	m.out = t
	m.values = append(m.values, t)
	return nil
}

func chainable(prev, in ort.InputOutputInfo) error {
	if prev.DataType != in.DataType {
		return fmt.Errorf("output %q is %s but input %q is %s", prev.Name, prev.DataType, in.Name, in.DataType)
	}
	if !fixBatch(prev.Dimensions).Equals(fixBatch(in.Dimensions)) {
		return fmt.Errorf("output %q has shape %v but input %q has %v", prev.Name, prev.Dimensions, in.Name, in.Dimensions)
	}
	return nil
}

// SetInput preprocesses a decoded BGR image into the model's input tensor
// (a committee: into each member's).
func (m *Model) SetInput(img gocv.Mat) error {
	for _, mm := range m.members {
		if err := mm.SetInput(img); err != nil {
			return fmt.Errorf("committee %s: %w", m.Spec.Name, err)
		}
	}
	if m.members != nil {
		return nil
	}
	var err error
	if m.inF32 != nil {
		err = m.prep.fillFloat(img, m.inF32.GetData())
	} else {
		err = m.prep.fillUint8(img, m.inU8.GetData())
	}
	if err != nil {
		return fmt.Errorf("model %s: %w", m.Spec.Name, err)
	}
	return nil
}

// Run runs every chained session on the current input (a committee: each
// member in order, then the mean of their outputs).
func (m *Model) Run() error {
	if m.members != nil {
		return m.runCommittee()
	}
	for i, s := range m.sessions {
		if err := s.Run(); err != nil {
			return fmt.Errorf("model %s: run files[%d]: %w", m.Spec.Name, i, err)
		}
	}
	return nil
}

// Scores is the raw output of the last Run (length NumClasses+LabelOffset);
// it is overwritten by the next Run.
func (m *Model) Scores() []float32 {
	if m.members != nil {
		return m.mean
	}
	return m.out.GetData()
}

// InputData exposes the input tensor's values, so a caller can keep a
// preprocessed input and restore it (cost profiling times Run alone); a
// committee's is a []any of its members'.
func (m *Model) InputData() any {
	if m.members != nil {
		d := make([]any, len(m.members))
		for i, mm := range m.members {
			d[i] = mm.InputData()
		}
		return d
	}
	if m.inF32 != nil {
		return m.inF32.GetData()
	}
	return m.inU8.GetData()
}

// Classify preprocesses img, runs the model and returns the top k classes.
func (m *Model) Classify(img gocv.Mat, k int) (TopK, error) {
	if err := m.SetInput(img); err != nil {
		return TopK{}, err
	}
	if err := m.Run(); err != nil {
		return TopK{}, err
	}
	return Top(m.Scores(), k, m.Spec.LabelOffset, m.Spec.NumClasses), nil
}

// Close releases the sessions and tensors.
func (m *Model) Close() {
	if m == nil {
		return
	}
	for _, mm := range m.members {
		mm.Close()
	}
	m.members, m.memberOut = nil, nil
	for _, s := range m.sessions {
		s.Destroy()
	}
	m.sessions = nil
	for _, v := range m.values {
		v.Destroy()
	}
	m.values = nil
	if m.prep != nil {
		m.prep.close()
		m.prep = nil
	}
}

// TopK holds the k best classes (0-based, after the label offset) and
// their scores, best first.
type TopK struct {
	Index []int     `json:"index"`
	Score []float32 `json:"score"`
}

// Top selects the k highest scores among outputs offset..offset+classes-1,
// ties going to the lower index so results are deterministic.
func Top(scores []float32, k, offset, classes int) TopK {
	if k > classes {
		k = classes
	}
	t := TopK{Index: make([]int, 0, k), Score: make([]float32, 0, k)}
	for c := 0; c < classes && offset+c < len(scores); c++ {
		s := scores[offset+c]
		if len(t.Index) == k && s <= t.Score[k-1] {
			continue
		}
		pos := len(t.Index)
		for pos > 0 && s > t.Score[pos-1] {
			pos--
		}
		if len(t.Index) < k {
			t.Index = append(t.Index, 0)
			t.Score = append(t.Score, 0)
		}
		copy(t.Index[pos+1:], t.Index[pos:len(t.Index)-1])
		copy(t.Score[pos+1:], t.Score[pos:len(t.Score)-1])
		t.Index[pos], t.Score[pos] = c, s
	}
	return t
}
