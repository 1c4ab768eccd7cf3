// Package device holds a device's recorded cost profile: every quantity
// the experiments measure on the device rather than compute (each model's
// latency, the per-image latencies of Fig 1d, feature-extraction times),
// with the platform, the date, the load it was measured under and the keys
// it is valid for (the models' files, the importer, the ONNX Runtime
// version, the feature definitions).
//
// Correctness does not depend on the hardware; cost does, and a cost
// measured again moves by a few percent from run to run on a shared
// machine. So the experiments do not measure cost on every cold run: `make
// reproduce` reads the recorded profile (experiments/device/NAME.json,
// committed beside the specs it serves), and `make measure` measures every
// quantity again and rewrites it. A profile that no longer matches the
// models, the importer, the runtime or the features stops the run with an
// error naming `make measure`; nothing is measured silently.
package device

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Format names this file format; a profile of another format is refused.
const Format = "modelpick device profile 1"

// Fix is what to do when the profile does not hold what a run needs.
const Fix = "run `make measure` to measure this device again and rewrite the profile (it takes a few minutes on a quiet machine)"

// Profile is one device's recorded costs. Save writes it in a fixed order,
// so two profiles of equal content are equal files.
type Profile struct {
	Format string `json:"format"`
	// Platform describes the machine (CPU, cores, OS/arch, board).
	Platform   string `json:"platform"`
	MeasuredAt string `json:"measured_at"`
	// Load says how busy the machine was while it was measured.
	Load    Load   `json:"load"`
	Command string `json:"command"`
	// Revision is the code revision that measured it.
	Revision string `json:"revision,omitempty"`
	// Amended lists later runs that added quantities the profile lacked
	// (reproduce -measure-missing), each with its date, revision and load.
	Amended []string `json:"amended,omitempty"`
	// Valid is what the recorded costs belong to.
	Valid Key `json:"valid_for"`
	// Drift is the model latencies' spread across separate measurement
	// blocks of the same session.
	Drift *Drift `json:"drift,omitempty"`

	Decisions     []Decision      `json:"decisions"`
	Models        []Model         `json:"models"`
	Images        []Image         `json:"image_latency"`
	FeatureSets   []FeatureSet    `json:"feature_sets"`
	FeatureImages []FeatureImages `json:"feature_images"`

	path string
	mu   sync.Mutex
}

// Load is the machine's load average (/proc/loadavg) before and after the
// measurement, with a note on what else ran.
type Load struct {
	Before string `json:"before"`
	After  string `json:"after"`
	Note   string `json:"note,omitempty"`
}

// Key is what recorded costs depend on besides the device. A model's cost
// also depends on its files, recorded with each model.
type Key struct {
	// Importer is the TFLite-to-ONNX importer's version (onnxconv.Version):
	// it decides the graph ONNX Runtime runs.
	Importer string `json:"importer"`
	// ONNXRuntime is the runtime's version string.
	ONNXRuntime string `json:"onnxruntime"`
	// Features is the feature definitions' version (features.Version).
	Features string `json:"features"`
}

// Drift summarises how far each model's mean latency moved between
// measurement blocks of one session.
type Drift struct {
	Blocks int `json:"blocks"`
	// MaxRel is the largest max/min - 1 over models of their block means;
	// MaxRelOrder the same of each model's block mean over its block's
	// geometric mean of all models: the drift that can reorder models
	// (a block that is faster for every model reorders none).
	MaxRel      float64 `json:"max_rel"`
	MaxRelOrder float64 `json:"max_rel_order"`
	// Recorded is the block whose latencies Models holds (0-based).
	Recorded int `json:"recorded_block"`
	// BlockMeansMS are each model's block means, in the order of Models.
	BlockMeansMS map[string][]float64 `json:"block_means_ms"`
	Method       string               `json:"method"`
}

// Model is one model's latency (one inference, Run only), as the cost
// stage measures it.
type Model struct {
	Model string `json:"model"`
	// Files are the content identities of the model's files.
	Files        []string `json:"files"`
	Threads      int      `json:"threads"`
	N            int      `json:"n"`
	MeanMS       float64  `json:"mean_ms"`
	StdMS        float64  `json:"std_ms"`
	MedianMS     float64  `json:"median_ms"`
	P95MS        float64  `json:"p95_ms"`
	CILowMS      float64  `json:"ci_low_ms"`
	CIHighMS     float64  `json:"ci_high_ms"`
	Converged    bool     `json:"converged"`
	Warnings     []string `json:"warnings,omitempty"`
	EnergyJ      *float64 `json:"energy_j"`
	IdleW        *float64 `json:"idle_w,omitempty"`
	EnergyStatus string   `json:"energy_status"`
	// PlatformJSON is the platform as the costs table stores it.
	PlatformJSON string `json:"platform_json"`
	MeasuredAt   string `json:"measured_at"`
}

// Image is one (image, model) latency: preprocessing plus inference of
// one decoded image (Fig 1d).
type Image struct {
	Dataset string `json:"dataset"`
	File    string `json:"file"`
	// Identity is the image file's content identity.
	Identity string   `json:"identity"`
	Model    string   `json:"model"`
	Files    []string `json:"model_files"`
	N        int      `json:"n"`
	MeanMS   float64  `json:"mean_ms"`
	CILowMS  float64  `json:"ci_low_ms"`
	CIHighMS float64  `json:"ci_high_ms"`
}

// FeatureSet is the mean time per image to decode an image and extract a
// feature set, the best of Reps repetitions per image, over Images.
type FeatureSet struct {
	Names   []string `json:"names"`
	MaxSide int      `json:"max_side"`
	Reps    int      `json:"reps"`
	// Images are the timed images' content identities, in order.
	Images []string `json:"images"`
	MS     float64  `json:"ms_per_image"`
	// ImageMS is each image's time (Images' order), MS their mean: a ratio
	// of two sets timed together gets its interval from them.
	ImageMS []float64 `json:"ms_by_image,omitempty"`
}

// FeatureImages is the time to extract a feature set from each image of a
// data set (one timed extraction per image after a warm-up, as a premodel
// serving it pays): the premodel's feature overhead.
type FeatureImages struct {
	Dataset string   `json:"dataset"`
	Names   []string `json:"names"`
	MaxSide int      `json:"max_side"`
	// MS maps an image's content hash (sha256 hex) to its time, and
	// DecodeMS to the time of the decode alone (part of MS).
	MS       map[string]float64 `json:"ms_by_sha256"`
	DecodeMS map[string]float64 `json:"decode_ms_by_sha256"`
}

// Decision is a premodel's mean decision time per image (scaling, learner,
// neighbour search), per fold of one cross-validation, identified by the
// cross-validation's cache key without its timings (the premodel-cv
// stage's inputs: store, features, learner, folds, seed).
type Decision struct {
	Key    string    `json:"key"`
	Stage  string    `json:"stage"`
	FoldMS []float64 `json:"fold_ms"`
}

// DecisionTimes returns a cross-validation's recorded decision times.
func (p *Profile) DecisionTimes(key string) ([]float64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range p.Decisions {
		if d.Key == key {
			return slices.Clone(d.FoldMS), nil
		}
	}
	return nil, fmt.Errorf("device profile %s has no decision times of the premodel cross-validation %.16s (its inputs changed: "+
		"features, learner, folds, seed or the code): %s", p.path, key, Fix)
}

// PutDecision records a cross-validation's decision times.
func (p *Profile) PutDecision(d Decision) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Decisions = slices.DeleteFunc(p.Decisions, func(x Decision) bool { return x.Key == d.Key })
	p.Decisions = append(p.Decisions, d)
}

// New starts an empty profile to be written to path.
func New(path string) *Profile {
	return &Profile{Format: Format, path: path}
}

// Read reads a profile and checks its format.
func Read(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("device profile %s does not exist: %s", path, Fix)
		}
		return nil, fmt.Errorf("device profile: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	p := &Profile{}
	if err := dec.Decode(p); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("device profile %s: %w (a hand edit? %s)", path, err, Fix)
	}
	if p.Format != Format {
		return nil, fmt.Errorf("device profile %s has format %q, this build reads %q: %s", path, p.Format, Format, Fix)
	}
	p.path = path
	return p, nil
}

// Find returns the one profile (*.json) in dir: a folder of profiles
// names the device by its file, and more than one needs choosing.
func Find(dir string) (string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return "", err
	}
	switch len(paths) {
	case 0:
		return "", fmt.Errorf("no device profile (*.json) in %s: %s", dir, Fix)
	case 1:
		return paths[0], nil
	}
	return "", fmt.Errorf("%d device profiles in %s (%s): name one with -device", len(paths), dir, strings.Join(paths, ", "))
}

// Path is the file the profile was read from or will be written to.
func (p *Profile) Path() string { return p.path }

// Check fails, naming what changed, when the profile was not measured for
// the current code: the importer, the runtime or the features. A field
// left empty in cur is not checked.
func (p *Profile) Check(cur Key) error {
	var diffs []string
	for _, d := range []struct{ what, rec, cur string }{
		{"importer (onnxconv)", p.Valid.Importer, cur.Importer},
		{"ONNX Runtime", p.Valid.ONNXRuntime, cur.ONNXRuntime},
		{"feature definitions", p.Valid.Features, cur.Features},
	} {
		if d.cur != "" && d.rec != d.cur {
			diffs = append(diffs, fmt.Sprintf("%s %q, now %q", d.what, d.rec, d.cur))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("device profile %s was measured for %s: %s", p.path, strings.Join(diffs, "; "), Fix)
	}
	return nil
}

// ModelCost returns the recorded latency of a model with these files at this
// thread count.
func (p *Profile) ModelCost(name string, files []string, threads int) (Model, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.Models {
		if m.Model != name || m.Threads != threads {
			continue
		}
		if !slices.Equal(m.Files, files) {
			return m, fmt.Errorf("device profile %s: model %s was measured with files %s, it now has %s: %s",
				p.path, name, strings.Join(m.Files, ", "), strings.Join(files, ", "), Fix)
		}
		return m, nil
	}
	return Model{}, fmt.Errorf("device profile %s has no latency of model %s at %d thread(s) (it has %s): %s",
		p.path, name, threads, p.modelNames(), Fix)
}

func (p *Profile) modelNames() string {
	var n []string
	for _, m := range p.Models {
		n = append(n, m.Model)
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

// ImageLatency returns the recorded latency of a model on an image.
func (p *Profile) ImageLatency(dataset, file, identity, model string, files []string) (Image, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, im := range p.Images {
		if im.Dataset != dataset || im.File != file || im.Model != model {
			continue
		}
		if im.Identity != identity || !slices.Equal(im.Files, files) {
			return im, fmt.Errorf("device profile %s: the latency of %s on %s/%s was measured on other files (image or model changed): %s",
				p.path, model, dataset, file, Fix)
		}
		return im, nil
	}
	return Image{}, fmt.Errorf("device profile %s has no latency of %s on %s/%s (the images of Fig 1d are chosen from the profile: "+
		"another choice needs new timings): %s", p.path, model, dataset, file, Fix)
}

// FeatureSetTime returns the recorded extraction time of a feature set over
// the given images.
func (p *Profile) FeatureSetTime(names []string, maxSide, reps int, images []string) (FeatureSet, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.FeatureSets {
		if slices.Equal(f.Names, names) && f.MaxSide == maxSide && f.Reps == reps && slices.Equal(f.Images, images) {
			return f, nil
		}
	}
	return FeatureSet{}, fmt.Errorf("device profile %s has no extraction time of the feature set %s (max side %d, %d images, %d reps): "+
		"the sets timed follow feature selection, so a change there needs new timings: %s",
		p.path, strings.Join(names, ","), maxSide, len(images), reps, Fix)
}

// FeatureTimes returns the recorded extraction times of a feature set on
// each image of a data set.
func (p *Profile) FeatureTimes(dataset string, names []string, maxSide int) (FeatureImages, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.FeatureImages {
		if f.Dataset == dataset && slices.Equal(f.Names, names) && f.MaxSide == maxSide {
			f.Names, f.MS, f.DecodeMS = slices.Clone(f.Names), maps.Clone(f.MS), maps.Clone(f.DecodeMS)
			return f, nil
		}
	}
	return FeatureImages{}, fmt.Errorf("device profile %s has no per-image extraction time of the feature set %s on %s (max side %d): "+
		"the premodel's features follow feature selection, so a change there needs new timings: %s",
		p.path, strings.Join(names, ","), dataset, maxSide, Fix)
}

// PutModel records a model's latency, replacing one of the same model and
// thread count.
func (p *Profile) PutModel(m Model) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Models = slices.DeleteFunc(p.Models, func(x Model) bool { return x.Model == m.Model && x.Threads == m.Threads })
	p.Models = append(p.Models, m)
}

// PutImage records an (image, model) latency, replacing the same pair's.
func (p *Profile) PutImage(im Image) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Images = slices.DeleteFunc(p.Images, func(x Image) bool {
		return x.Dataset == im.Dataset && x.File == im.File && x.Model == im.Model
	})
	p.Images = append(p.Images, im)
}

// PutFeatureSet records a feature set's extraction time, replacing the
// same set's on the same images.
func (p *Profile) PutFeatureSet(f FeatureSet) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.FeatureSets = slices.DeleteFunc(p.FeatureSets, func(x FeatureSet) bool {
		return slices.Equal(x.Names, f.Names) && x.MaxSide == f.MaxSide && x.Reps == f.Reps && slices.Equal(x.Images, f.Images)
	})
	p.FeatureSets = append(p.FeatureSets, f)
}

// PutFeatureImages records per-image extraction times, replacing those of
// the same data set and feature set.
func (p *Profile) PutFeatureImages(f FeatureImages) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.FeatureImages = slices.DeleteFunc(p.FeatureImages, func(x FeatureImages) bool {
		return x.Dataset == f.Dataset && slices.Equal(x.Names, f.Names) && x.MaxSide == f.MaxSide
	})
	p.FeatureImages = append(p.FeatureImages, f)
}

// Save writes the profile to its path in a fixed order (atomically: a
// killed write leaves the old file).
func (p *Profile) Save() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	slices.SortFunc(p.Models, func(a, b Model) int {
		return cmpAll(strings.Compare(a.Model, b.Model), a.Threads-b.Threads)
	})
	slices.SortFunc(p.Decisions, func(a, b Decision) int { return strings.Compare(a.Key, b.Key) })
	slices.SortFunc(p.Images, func(a, b Image) int {
		return cmpAll(strings.Compare(a.Dataset, b.Dataset), strings.Compare(a.File, b.File), strings.Compare(a.Model, b.Model))
	})
	slices.SortFunc(p.FeatureSets, func(a, b FeatureSet) int {
		return cmpAll(a.MaxSide-b.MaxSide, strings.Compare(strings.Join(a.Names, ","), strings.Join(b.Names, ",")), a.Reps-b.Reps,
			strings.Compare(strings.Join(a.Images, ","), strings.Join(b.Images, ",")))
	})
	slices.SortFunc(p.FeatureImages, func(a, b FeatureImages) int {
		return cmpAll(strings.Compare(a.Dataset, b.Dataset), a.MaxSide-b.MaxSide, strings.Compare(strings.Join(a.Names, ","), strings.Join(b.Names, ",")))
	})
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("device profile %s: %w", p.path, err)
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o755); err != nil {
		return fmt.Errorf("device profile: %w", err)
	}
	tmp := p.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("device profile: %w", err)
	}
	if err := os.Rename(tmp, p.path); err != nil {
		return fmt.Errorf("device profile: %w", err)
	}
	return nil
}

func cmpAll(c ...int) int {
	for _, x := range c {
		if x != 0 {
			return x
		}
	}
	return 0
}
