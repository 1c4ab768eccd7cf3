package stages

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/buildinfo"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/profileview"
)

// DataSet is a labelled image set as a stage input.
type DataSet struct {
	// Name is the set's name in stores (the folder's base name).
	Name string `json:"name"`
	// Dir is the image folder, hashed with every file in it.
	Dir pipeline.File `json:"dir"`
	// GroundTruth is a "FILE INDEX" file for a flat folder, or nil.
	GroundTruth *pipeline.File `json:"ground_truth,omitempty"`
	// Limit keeps the first Limit images in file order (0 = all).
	Limit int `json:"limit"`
}

// describe names the set for progress lines: "imagenet-val-dev" or
// "imagenet-val-dev (first 60 images)".
func (d DataSet) describe() string {
	if d.Limit > 0 {
		return fmt.Sprintf("%s (first %d images)", d.Name, d.Limit)
	}
	return d.Name
}

// NewDataSet hashes the folder (and ground-truth file) and checks that it
// loads as a labelled set.
func NewDataSet(r *pipeline.Runner, dir, groundTruth string, limit int) (DataSet, error) {
	var d DataSet
	set, err := loadSet(dir, groundTruth)
	if err != nil {
		return d, err
	}
	if d.Dir, err = r.HashDir(dir); err != nil {
		return d, err
	}
	if groundTruth != "" {
		f, err := r.HashFile(groundTruth)
		if err != nil {
			return d, err
		}
		d.GroundTruth = &f
	}
	d.Name, d.Limit = set.Name, limit
	return d, nil
}

func loadSet(dir, gt string) (*datasets.Set, error) {
	if gt != "" {
		return datasets.LoadWithGroundTruth(dir, gt)
	}
	return datasets.Load(dir)
}

// Load reads the set.
func (d DataSet) Load() (*datasets.Set, error) {
	gt := ""
	if d.GroundTruth != nil {
		gt = d.GroundTruth.Path
	}
	return loadSet(d.Dir.Path, gt)
}

// Items returns the indices of the set's items the limit keeps.
func (d DataSet) Items(set *datasets.Set) []int {
	n := len(set.Items)
	if d.Limit > 0 && d.Limit < n {
		n = d.Limit
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// Model is a candidate model as a stage input: its spec and its files.
type Model struct {
	Spec inference.Spec
	// Files are the spec's resolved files (a committee's: its members'),
	// hashed.
	Files []pipeline.File
}

// MarshalJSON leaves the spec's file paths out: the files' identities
// stand for them, so a moved assets folder keeps every key.
func (m Model) MarshalJSON() ([]byte, error) {
	s := m.Spec
	s.Files = nil
	s.MemberSpecs = slices.Clone(s.MemberSpecs)
	for i := range s.MemberSpecs {
		s.MemberSpecs[i].Files = nil
	}
	return json.Marshal(struct {
		Spec  inference.Spec  `json:"spec"`
		Files []pipeline.File `json:"files"`
	}{s, m.Files})
}

// LoadModels reads a model spec file, keeps the models named in only (all
// when empty, in the file's order otherwise in only's order) and hashes
// their files.
func LoadModels(r *pipeline.Runner, specPath string, only []string) ([]Model, error) {
	sf, err := inference.ParseSpecFile(specPath)
	if err != nil {
		return nil, err
	}
	specs := sf.Models
	if len(only) > 0 {
		specs = nil
		for _, name := range only {
			i := slices.IndexFunc(sf.Models, func(s inference.Spec) bool { return s.Name == name })
			if i < 0 {
				return nil, fmt.Errorf("model spec %s: no model %q", specPath, name)
			}
			specs = append(specs, sf.Models[i])
		}
	}
	out := make([]Model, len(specs))
	for i, s := range specs {
		out[i].Spec = s
		for _, p := range s.FilePaths() {
			f, err := r.HashFile(p)
			if err != nil {
				return nil, fmt.Errorf("model %s: %w", s.Name, err)
			}
			out[i].Files = append(out[i].Files, f)
		}
	}
	return out, nil
}

func specsOf(ms []Model) []inference.Spec {
	out := make([]inference.Spec, len(ms))
	for i, m := range ms {
		out[i] = m.Spec
	}
	return out
}

func namesOf(ms []Model) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Spec.Name
	}
	return out
}

// Runtime is the inference runtime as a stage input: the ONNX Runtime
// library's bytes (a user's CUDA build is another library, so another
// key), the thread count and the execution provider; and the folder
// imported TFLite models are cached in (not part of the key: the import is
// keyed by the file and the importer's version).
type Runtime struct {
	Library     pipeline.File `json:"library"`
	Threads     int           `json:"threads"`
	Provider    string        `json:"provider"`
	ImportCache string        `json:"-"`
}

// NewRuntime hashes the ONNX Runtime library lib; TFLite models are
// imported into importCache.
func NewRuntime(r *pipeline.Runner, lib, importCache string, threads int) (Runtime, error) {
	f, err := r.HashFile(lib)
	if err != nil {
		return Runtime{}, fmt.Errorf("ONNX Runtime library: %w (run `make ort`, or point MODELPICK_ORT_LIB to your build)", err)
	}
	if threads <= 0 {
		threads = 1
	}
	return Runtime{Library: f, Threads: threads, Provider: "cpu", ImportCache: importCache}, nil
}

func (rt Runtime) options() inference.Options {
	return inference.Options{Threads: rt.Threads, Provider: rt.Provider, ORTLibrary: rt.Library.Path, CacheDir: rt.ImportCache}
}

// Versions of the code outside this package that stage outputs depend on.
func goVersion() string     { return "go " + buildinfo.Go() }
func opencvVersion() string { return "opencv " + buildinfo.OpenCV() }

// Criterion says when a model is correct on an image: "top1" or "top5"
// (profileview.Criterion, as a stage input).
type Criterion = string

// Latency is per-model latency from a source other than this device's
// cost profile (published figures), with the source named; it overrides
// the store's costs.
type Latency = profileview.Published
