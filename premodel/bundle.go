package premodel

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/selection"
)

// BundleFormat and BundleVersion identify a bundle's manifest. Bump
// BundleVersion on any change to the layout that an older build could
// misread: LoadBundle refuses other versions.
const (
	BundleFormat  = "modelpick-bundle"
	BundleVersion = 1
)

// The fixed names inside a bundle folder.
const (
	manifestFile = "manifest.json"
	learnerFile  = "learner.bin"
	traceFile    = "trace.json"
	labelsFile   = "labels.txt"
	trainXFile   = "arrays/train_x.npy"
	trainYFile   = "arrays/train_y.npy"
	scalerMin    = "arrays/scaler_min.npy"
	scalerMax    = "arrays/scaler_max.npy"
	looFile      = "arrays/loo_dist.npy"
)

// Manifest is a bundle's manifest.json: everything needed to rebuild the
// premodel and its classifier, and to check that nothing changed since.
type Manifest struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	CreatedAt string `json:"created_at"`
	Revision  string `json:"modelpick_revision"`
	GoVersion string `json:"go"`
	// Router is the kind of router: "learner" (a Premodel; the default
	// when absent) or "softmax-cascade" (Cascade set).
	Router    string          `json:"router"`
	Criterion Criterion       `json:"criterion"`
	Learner   string          `json:"learner"`
	Params    learners.Params `json:"params"`
	Seed      int64           `json:"seed"`
	ThetaPP   float64         `json:"theta_pp"`
	// CandidatesFrom says whether Algorithm 1 chose the candidates or the
	// user named them.
	CandidatesFrom string      `json:"candidates_from"`
	Candidates     []string    `json:"candidates"`
	Fallback       string      `json:"fallback"` // a model name, or "none"
	Confidence     Confidence  `json:"confidence"`
	Features       FeatureInfo `json:"features"`
	Models         []ModelInfo `json:"models"`
	Labels         LabelsInfo  `json:"labels"`
	Arrays         ArrayInfo   `json:"arrays"`
	LearnerFile    string      `json:"learner_file"`
	TraceFile      string      `json:"trace_file,omitempty"`
	Training       Training    `json:"training"`
	// Cascade holds the levels and thresholds of a "softmax-cascade"
	// bundle.
	Cascade *CascadeInfo `json:"cascade,omitempty"`
	// Backbone is the frozen model whose embedding a "cnn" bundle's head
	// reads; its spec and files are among Models.
	Backbone *Backbone `json:"backbone,omitempty"`
	// Files lists every file of the bundle but the manifest, with its
	// SHA-256: LoadBundle refuses a bundle whose files differ.
	Files []FileInfo `json:"files"`
}

// FeatureInfo says which features the premodel reads and how they were
// computed.
type FeatureInfo struct {
	Names     []string `json:"names"`
	ConfigKey string   `json:"config_key"`
	MaxSide   int      `json:"max_side"`
}

// ModelInfo is one model the bundle may run, with its spec (file paths
// relative to the bundle) and the hashes of its files.
type ModelInfo struct {
	Name        string          `json:"name"`
	Spec        json.RawMessage `json:"spec"`
	Files       []FileInfo      `json:"files"`
	FilesSHA256 string          `json:"files_sha256"` // as in the store: comma-joined, file order
}

// LabelsInfo describes the class names.
type LabelsInfo struct {
	File   string `json:"file,omitempty"` // "" when the bundle has no names
	Source string `json:"source"`
	Count  int    `json:"count"`
}

// ArrayInfo names the numeric arrays (.npy).
type ArrayInfo struct {
	TrainX    string `json:"train_x"`
	TrainY    string `json:"train_y"`
	ScalerMin string `json:"scaler_min"`
	ScalerMax string `json:"scaler_max"`
	LOODist   string `json:"loo_dist"`
}

// Training describes the data a bundle was trained on.
type Training struct {
	Store        string         `json:"store"`
	Datasets     []string       `json:"datasets"`
	Images       int            `json:"images"`
	Models       []string       `json:"models"`
	CostMS       []float64      `json:"cost_ms"`
	CostThreads  int            `json:"cost_threads"`
	TargetCounts map[string]int `json:"target_counts"`
	Excluded     map[string]int `json:"excluded"`
	Command      string         `json:"command,omitempty"`
}

// FileInfo is one file of a bundle.
type FileInfo struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// BundleInput is what WriteBundle packs besides the premodel.
type BundleInput struct {
	// Set is the training set the premodel was trained on.
	Set *Set
	// Specs are the specs of (at least) every model of Premodel.Models(),
	// with resolvable files; each file is copied into the bundle and must
	// hash as the store registered it.
	Specs []inference.Spec
	// MaxSide is the feature extractor's working-image side (0: default).
	MaxSide int
	// Labels are the class names (nil: none), and LabelsSource where they
	// came from.
	Labels       []string
	LabelsSource string
	Revision     string
	Command      string
}

// Bundle is a loaded bundle.
type Bundle struct {
	Dir      string
	Manifest Manifest
	// Router is what the bundle routes with: Premodel for a "learner"
	// bundle, Cascade for a "softmax-cascade" one (the other is nil).
	Router   Router
	Premodel *Premodel
	Cascade  *SoftmaxCascade
	// Specs are the models the premodel may run, in Premodel.Models()
	// order, with files inside the bundle.
	Specs  []inference.Spec
	Labels []string
}

// WriteBundle writes a premodel, the model files it may run and the class
// names into dir. The bundle is assembled beside dir and renamed into
// place, so a failed write never leaves half a bundle; an existing bundle
// at dir is replaced, any other non-empty folder is refused.
func WriteBundle(dir string, p *Premodel, in BundleInput) error {
	if p == nil || p.learner == nil || in.Set == nil {
		return errors.New("write bundle: need a trained premodel and its training set")
	}
	if p.Backbone != nil {
		if err := p.Backbone.check(p.FeatureNames, p.ConfigKey); err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
		return writeAtomically(dir, func(tmp string) (Manifest, error) { return assemble(tmp, p, in, 0) })
	}
	ex, err := features.NewExtractor(p.FeatureNames, features.Options{MaxSide: in.MaxSide})
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if ex.ConfigKey() != p.ConfigKey {
		return fmt.Errorf("write bundle: features were stored under %s, but max side %d gives %s: pass the -max-side the features were extracted with",
			p.ConfigKey, in.MaxSide, ex.ConfigKey())
	}
	return writeAtomically(dir, func(tmp string) (Manifest, error) { return assemble(tmp, p, in, ex.MaxSide()) })
}

// bundleModels are the models a bundle holds: the router's, and a CNN
// premodel's backbone.
func bundleModels(r Router) []string {
	out := r.Models()
	if p, ok := r.(*Premodel); ok && p.Backbone != nil && !slices.Contains(out, p.Backbone.Model) {
		out = append(out, p.Backbone.Model)
	}
	return out
}

// checkTarget refuses to overwrite a folder that is not a bundle.
func checkTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("write bundle %s: %w", dir, err)
	case len(entries) == 0 || fileExists(filepath.Join(dir, manifestFile)):
		return nil
	}
	return fmt.Errorf("write bundle %s: the folder exists, is not empty and holds no %s: choose another -out", dir, manifestFile)
}

// assemble writes every file but the manifest into tmp and returns the
// manifest.
func assemble(tmp string, p *Premodel, in BundleInput, maxSide int) (Manifest, error) {
	s := in.Set
	m := Manifest{
		Format: BundleFormat, Version: BundleVersion, CreatedAt: time.Now().UTC().Format(time.RFC3339),
		Revision: in.Revision, GoVersion: runtime.Version(), Router: RouterLearner,
		Criterion: p.Criterion, Learner: p.LearnerName, Params: p.Params, Seed: p.Seed, ThetaPP: p.Theta,
		CandidatesFrom: "algorithm 1", Candidates: p.Candidates, Fallback: orNone(p.Fallback), Confidence: p.Confidence,
		Features:    FeatureInfo{Names: p.FeatureNames, ConfigKey: p.ConfigKey, MaxSide: maxSide},
		Arrays:      ArrayInfo{TrainX: trainXFile, TrainY: trainYFile, ScalerMin: scalerMin, ScalerMax: scalerMax, LOODist: looFile},
		LearnerFile: learnerFile,
		Training: Training{Store: s.Store, Datasets: s.Datasets, Images: len(s.X), Models: s.Models, CostMS: s.Cost,
			CostThreads: s.CostThreads, TargetCounts: targetCounts(p), Excluded: s.Excluded, Command: in.Command},
	}
	if p.Trace == nil {
		m.CandidatesFrom = "given"
	}
	if p.Backbone != nil {
		m.Router, m.Backbone = RouterCNN, p.Backbone
	}
	w := &writer{dir: tmp}
	lb, err := p.learner.MarshalBinary()
	if err != nil {
		return m, err
	}
	w.write(learnerFile, lb)
	w.write(trainXFile, npyMatrix(p.TrainX, len(p.FeatureNames)))
	w.write(trainYFile, npyInts(p.TrainY))
	w.write(scalerMin, npyFloats(p.Scaler.Min))
	w.write(scalerMax, npyFloats(p.Scaler.Max))
	w.write(looFile, npyFloats(p.LOODist))
	if p.Trace != nil {
		tb, err := json.MarshalIndent(TraceRecord{Models: s.Models, Cost: s.Cost, Trace: *p.Trace}, "", "  ")
		if err != nil {
			return m, err
		}
		w.write(traceFile, append(tb, '\n'))
		m.TraceFile = traceFile
	}
	m.Labels = LabelsInfo{Source: in.LabelsSource, Count: len(in.Labels)}
	if len(in.Labels) > 0 {
		w.write(labelsFile, []byte(strings.Join(in.Labels, "\n")+"\n"))
		m.Labels.File = labelsFile
	}
	for _, name := range bundleModels(p) {
		mi, err := copyModel(w, name, in.Specs, s.Profile)
		if err != nil {
			return m, err
		}
		m.Models = append(m.Models, mi)
	}
	if w.err != nil {
		return m, w.err
	}
	sort.Slice(w.files, func(i, j int) bool { return w.files[i].Path < w.files[j].Path })
	m.Files = w.files
	return m, nil
}

// TraceRecord is Algorithm 1's trace with the names and costs of the models
// its indices refer to.
type TraceRecord struct {
	Models []string        `json:"models"`
	Cost   []float64       `json:"cost_ms"`
	Trace  selection.Trace `json:"trace"`
}

func targetCounts(p *Premodel) map[string]int {
	out := map[string]int{}
	for _, y := range p.TrainY {
		if y == learners.None {
			out["none"]++
		} else {
			out[p.Candidates[y]]++
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return FallbackNone
	}
	return s
}

// copyModel copies a model's files into models/NAME/ and returns its
// entry, after checking that the files are the ones the store profiled.
func copyModel(w *writer, name string, specs []inference.Spec, prof *Profile) (ModelInfo, error) {
	i := slices.IndexFunc(specs, func(s inference.Spec) bool { return s.Name == name })
	if i < 0 {
		return ModelInfo{}, fmt.Errorf("no spec for model %s: pass the model spec file it was profiled with (-models)", name)
	}
	spec := specs[i]
	sha, err := spec.FilesSHA256()
	if err != nil {
		return ModelInfo{}, fmt.Errorf("model %s: %w", name, err)
	}
	if j := prof.ModelIndex(name); j >= 0 && prof.FilesSHA256[j] != sha {
		return ModelInfo{}, fmt.Errorf("model %s: its files (sha256 %.12s) are not the ones profiled in store %s (%.12s): "+
			"point -models to the profiled files, or profile these again", name, sha, prof.Store, prof.FilesSHA256[j])
	}
	mi := ModelInfo{Name: name, FilesSHA256: sha}
	local := spec
	local.Files = make([]string, len(spec.Files))
	used := map[string]bool{}
	for k := range spec.Files {
		src := spec.FilePath(k)
		base := filepath.Base(src)
		if used[base] {
			base = fmt.Sprintf("%d_%s", k, base)
		}
		used[base] = true
		rel := path.Join("models", name, base)
		data, err := os.ReadFile(src)
		if err != nil {
			return ModelInfo{}, fmt.Errorf("model %s: %w", name, err)
		}
		w.write(rel, data)
		local.Files[k] = rel
		mi.Files = append(mi.Files, FileInfo{Path: rel, SHA256: hexSHA(data), Bytes: int64(len(data))})
	}
	b, err := json.Marshal(local)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("model %s: spec: %w", name, err)
	}
	mi.Spec = b
	return mi, nil
}

// writer writes bundle files and remembers the first error.
type writer struct {
	dir   string
	files []FileInfo
	err   error
}

func (w *writer) write(rel string, data []byte) {
	if w.err != nil {
		return
	}
	p := filepath.Join(w.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.err = err
		return
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		w.err = err
		return
	}
	w.files = append(w.files, FileInfo{Path: rel, SHA256: hexSHA(data), Bytes: int64(len(data))})
}

func hexSHA(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// ErrBundle marks a bundle that cannot be used: another format or version,
// a missing or changed file, or inconsistent contents.
var ErrBundle = errors.New("unusable bundle")

// LoadBundle reads a bundle, checking its format and version and the
// SHA-256 of every file it lists, and rebuilds the premodel. A changed,
// missing or unlisted-but-needed file is refused, naming the file.
func LoadBundle(dir string) (*Bundle, error) {
	fail := func(format string, a ...any) (*Bundle, error) {
		return nil, fmt.Errorf("load bundle %s: %s: %w", dir, fmt.Sprintf(format, a...), ErrBundle)
	}
	raw, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w (is it a folder written by modelpick train?)", dir, err)
	}
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return fail("%s is not JSON: %v", manifestFile, err)
	}
	if head.Format != BundleFormat {
		return fail("%s has format %q, want %q: not a modelpick bundle", manifestFile, head.Format, BundleFormat)
	}
	if head.Version != BundleVersion {
		return fail("bundle version %d, but this build of modelpick reads version %d: retrain it with this build (modelpick train), "+
			"or use the modelpick version that wrote it", head.Version, BundleVersion)
	}
	b := &Bundle{Dir: dir}
	if err := json.Unmarshal(raw, &b.Manifest); err != nil {
		return fail("%s: %v", manifestFile, err)
	}
	m := &b.Manifest
	files, err := verifyFiles(dir, m.Files)
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", dir, err)
	}
	read := func(rel string) ([]byte, error) {
		data, ok := files[rel]
		if !ok {
			return nil, fmt.Errorf("%s is needed but not listed (with its hash) in %s: %w", rel, manifestFile, ErrBundle)
		}
		return data, nil
	}
	if m.Router == "" {
		m.Router = RouterLearner
	}
	switch m.Router {
	case RouterSoftmaxCascade:
		c, err := rebuildCascade(m)
		if err != nil {
			return nil, fmt.Errorf("load bundle %s: %w", dir, err)
		}
		b.Cascade, b.Router = c, c
	default:
		p, err := rebuild(m, read)
		if err != nil {
			return nil, fmt.Errorf("load bundle %s: %w", dir, err)
		}
		b.Premodel, b.Router = p, p
	}
	if m.Labels.File != "" {
		data, err := read(m.Labels.File)
		if err != nil {
			return nil, fmt.Errorf("load bundle %s: %w", dir, err)
		}
		b.Labels = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	for _, name := range bundleModels(b.Router) {
		i := slices.IndexFunc(m.Models, func(mi ModelInfo) bool { return mi.Name == name })
		if i < 0 {
			return fail("model %s is used but has no entry in %s", name, manifestFile)
		}
		mi := m.Models[i]
		for _, f := range mi.Files {
			if _, err := read(f.Path); err != nil {
				return nil, fmt.Errorf("load bundle %s: model %s: %w", dir, name, err)
			}
		}
		sf, err := inference.ParseSpec([]byte(`{"models": [`+string(mi.Spec)+`]}`), dir)
		if err != nil {
			return fail("model %s: spec: %v", name, err)
		}
		spec := sf.Models[0]
		if spec.Name != name || len(spec.Files) != len(mi.Files) {
			return fail("model %s: spec names %q with %d files, entry lists %d", name, spec.Name, len(spec.Files), len(mi.Files))
		}
		for k, f := range spec.Files {
			if path.Clean(f) != mi.Files[k].Path {
				return fail("model %s: spec file %s is not the listed %s", name, f, mi.Files[k].Path)
			}
		}
		if m.Backbone != nil && name == m.Backbone.Model && mi.FilesSHA256 != m.Backbone.FilesSHA256 {
			return fail("backbone %s: its files hash %.12s, the head was trained on the embedding of %.12s", name, mi.FilesSHA256, m.Backbone.FilesSHA256)
		}
		b.Specs = append(b.Specs, spec)
	}
	return b, nil
}

// verifyFiles hashes every listed file and returns their contents by path.
func verifyFiles(dir string, list []FileInfo) (map[string][]byte, error) {
	out := make(map[string][]byte, len(list))
	for _, f := range list {
		clean := path.Clean(f.Path)
		if f.Path == "" || path.IsAbs(f.Path) || clean != f.Path || strings.HasPrefix(clean, "../") || clean == ".." {
			return nil, fmt.Errorf("file %q: not a plain path inside the bundle: %w", f.Path, ErrBundle)
		}
		fh, err := os.Open(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			return nil, fmt.Errorf("file %s: %w (the bundle is incomplete: copy it whole, or retrain): %w", f.Path, err, ErrBundle)
		}
		data, err := io.ReadAll(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", f.Path, err)
		}
		if got := hexSHA(data); got != f.SHA256 {
			return nil, fmt.Errorf("file %s has sha256 %s, but the manifest says %s: it changed after training; "+
				"restore the original or retrain the bundle: %w", f.Path, got, f.SHA256, ErrBundle)
		}
		out[f.Path] = data
	}
	return out, nil
}

// rebuild restores the premodel from the manifest and the verified files.
func rebuild(m *Manifest, read func(string) ([]byte, error)) (*Premodel, error) {
	bad := func(format string, a ...any) error { return fmt.Errorf(format+": %w", append(a, ErrBundle)...) }
	if m.Router != RouterLearner && m.Router != RouterCNN {
		return nil, bad("router kind %q: this build reads %q, %q and %q: use the modelpick version that wrote the bundle, or retrain it",
			m.Router, RouterLearner, RouterCNN, RouterSoftmaxCascade)
	}
	if (m.Router == RouterCNN) != (m.Backbone != nil) {
		return nil, bad("router %q with backbone %v: a \"cnn\" bundle, and only it, names its backbone", m.Router, m.Backbone)
	}
	if _, err := ParseCriterion(string(m.Criterion)); err != nil {
		return nil, bad("%v", err)
	}
	if len(m.Candidates) == 0 || len(m.Features.Names) == 0 {
		return nil, bad("no candidates or no features")
	}
	if m.Backbone != nil {
		if err := m.Backbone.check(m.Features.Names, m.Features.ConfigKey); err != nil {
			return nil, bad("%v", err)
		}
	} else {
		ex, err := features.NewExtractor(m.Features.Names, features.Options{MaxSide: m.Features.MaxSide})
		if err != nil {
			return nil, bad("features: %v", err)
		}
		if ex.ConfigKey() != m.Features.ConfigKey {
			return nil, bad("trained on features %s, but this build computes %s: retrain the bundle on features extracted by this build",
				m.Features.ConfigKey, ex.ConfigKey())
		}
	}
	p := &Premodel{Criterion: m.Criterion, FeatureNames: m.Features.Names, ConfigKey: m.Features.ConfigKey,
		Candidates: m.Candidates, Confidence: m.Confidence, LearnerName: m.Learner, Params: m.Params,
		Seed: m.Seed, Theta: m.ThetaPP}
	if m.Fallback != FallbackNone {
		p.Fallback = m.Fallback
	}
	p.Backbone = m.Backbone
	var err error
	if p.Confidence.Model == "" || p.Confidence.K < 1 {
		return nil, bad("confidence settings incomplete")
	}
	data := map[string][]byte{}
	for _, rel := range []string{m.LearnerFile, m.Arrays.TrainX, m.Arrays.TrainY, m.Arrays.ScalerMin, m.Arrays.ScalerMax, m.Arrays.LOODist} {
		b, err := read(rel)
		if err != nil {
			return nil, err
		}
		data[rel] = b
	}
	if p.TrainX, err = npyReadMatrix(data[m.Arrays.TrainX]); err != nil {
		return nil, bad("%s: %v", m.Arrays.TrainX, err)
	}
	if p.TrainY, err = npyReadInts(data[m.Arrays.TrainY]); err != nil {
		return nil, bad("%s: %v", m.Arrays.TrainY, err)
	}
	if p.LOODist, err = npyReadFloats(data[m.Arrays.LOODist]); err != nil {
		return nil, bad("%s: %v", m.Arrays.LOODist, err)
	}
	sc := &learners.Scaler{}
	if sc.Min, err = npyReadFloats(data[m.Arrays.ScalerMin]); err != nil {
		return nil, bad("%s: %v", m.Arrays.ScalerMin, err)
	}
	if sc.Max, err = npyReadFloats(data[m.Arrays.ScalerMax]); err != nil {
		return nil, bad("%s: %v", m.Arrays.ScalerMax, err)
	}
	d := len(m.Features.Names)
	switch {
	case len(p.TrainX) < 2:
		return nil, bad("%s holds %d training rows, want at least 2", m.Arrays.TrainX, len(p.TrainX))
	case len(p.TrainX[0]) != d || len(p.TrainY) != len(p.TrainX) || len(p.LOODist) != len(p.TrainX):
		return nil, bad("arrays disagree: %d training rows of %d features (want %d), %d targets, %d distances",
			len(p.TrainX), len(p.TrainX[0]), d, len(p.TrainY), len(p.LOODist))
	case len(sc.Min) != d || len(sc.Max) != d:
		return nil, bad("scaler has %d/%d features, want %d", len(sc.Min), len(sc.Max), d)
	}
	p.Scaler = sc
	if p.learner, err = learners.Load(data[m.LearnerFile]); err != nil {
		return nil, bad("%s: %v", m.LearnerFile, err)
	}
	if p.learner.Name() != m.Learner {
		return nil, bad("%s holds learner %q, the manifest says %q", m.LearnerFile, p.learner.Name(), m.Learner)
	}
	if d, err := p.learner.Predict(p.TrainX[0]); err != nil {
		return nil, bad("%s does not fit the arrays: %v", m.LearnerFile, err)
	} else if len(d.Scores) != len(p.Candidates) {
		return nil, bad("%s decides among %d classes, the manifest names %d candidates", m.LearnerFile, len(d.Scores), len(p.Candidates))
	}
	for i, y := range p.TrainY {
		if y < learners.None || y >= len(p.Candidates) {
			return nil, bad("%s: row %d has class %d, want %d..%d", m.Arrays.TrainY, i, y, learners.None, len(p.Candidates)-1)
		}
	}
	p.nb = learners.NewKNN(learners.Params{K: p.Confidence.K})
	if err := p.nb.Fit(learners.Data{X: p.TrainX, Y: p.TrainY, Classes: len(p.Candidates)}, 0); err != nil {
		return nil, bad("neighbour search: %v", err)
	}
	return p, nil
}
