package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/profileview"
)

// Format and Version identify a bundle's manifest. Bump Version on any
// change to the layout that an older build could misread: Open refuses
// other versions.
const (
	Format  = "modelpick-bundle"
	Version = 1
)

// The fixed names inside a bundle folder.
const (
	ManifestFile = "manifest.json"
	labelsFile   = "labels.txt"
)

// ErrBundle marks a bundle that cannot be used: another format or version,
// a missing or changed file, or inconsistent contents.
var ErrBundle = errors.New("unusable bundle")

// Manifest is the part of manifest.json every router kind shares; a
// kind's own settings sit beside these fields (Contents.Settings).
type Manifest struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	CreatedAt string `json:"created_at"`
	Revision  string `json:"modelpick_revision"`
	GoVersion string `json:"go"`
	// Router is the router kind (package routers); "" in manifests
	// written before the field is "learner".
	Router    string                `json:"router"`
	Criterion profileview.Criterion `json:"criterion"`
	// CandidatesFrom says how the candidates were chosen (Algorithm 1, or
	// given).
	CandidatesFrom string      `json:"candidates_from"`
	Candidates     []string    `json:"candidates"`
	Fallback       string      `json:"fallback"` // a model name, or "none"
	Models         []ModelInfo `json:"models"`
	Labels         LabelsInfo  `json:"labels"`
	Training       Training    `json:"training"`
	// Files lists every file of the bundle but the manifest, with its
	// SHA-256: Open refuses a bundle whose files differ.
	Files []FileInfo `json:"files"`
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

// Training describes the data a bundle was trained on.
type Training struct {
	Store        string         `json:"store"`
	Datasets     []string       `json:"datasets"`
	Images       int            `json:"images"`
	Models       []string       `json:"models"`
	CostMS       []float64      `json:"cost_ms"`
	CostThreads  int            `json:"cost_threads"`
	TargetCounts map[string]int `json:"target_counts,omitempty"`
	Excluded     map[string]int `json:"excluded"`
	Command      string         `json:"command,omitempty"`
}

// TrainingOf describes a training profile of images rows.
func TrainingOf(v *profileview.View, images int) Training {
	return Training{Store: v.Store, Datasets: v.Datasets, Images: images, Models: v.Models, CostMS: v.Cost,
		CostThreads: v.CostFrom.Threads, Excluded: v.Excluded}
}

// FileInfo is one file of a bundle.
type FileInfo struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Contents is what Write packs.
type Contents struct {
	// Manifest holds the shared fields; Write fills Format, Version,
	// CreatedAt, GoVersion, Models, Labels and Files.
	Manifest Manifest
	// Settings are the router kind's own manifest fields (a struct whose
	// JSON fields sit beside the shared ones).
	Settings any
	// Files are the router kind's own files, by path inside the bundle.
	Files map[string][]byte
	// Specs are the models the router may run, with resolvable files;
	// each file is copied and must hash as Profiled says (when it names
	// the model).
	Specs []inference.Spec
	// Profiled is each model's files hash in the training store, named
	// Store in errors.
	Profiled map[string]string
	Store    string
	// Labels are the class names (nil: none), and LabelsSource where
	// they came from.
	Labels       []string
	LabelsSource string
}

// Write writes a bundle into dir. It is assembled beside dir and renamed
// into place; an existing bundle at dir is replaced, any other non-empty
// folder is refused.
func Write(dir string, c Contents) error {
	if err := checkTarget(dir); err != nil {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".bundle-*")
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	defer os.RemoveAll(tmp)
	manifest, err := assemble(tmp, c)
	if err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ManifestFile), manifest, 0o644); err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("write bundle %s: replace the old bundle: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	return nil
}

// checkTarget refuses to overwrite a folder that is not a bundle.
func checkTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("write bundle %s: %w", dir, err)
	case len(entries) == 0 || fileExists(filepath.Join(dir, ManifestFile)):
		return nil
	}
	return fmt.Errorf("write bundle %s: the folder exists, is not empty and holds no %s: choose another -out", dir, ManifestFile)
}

// assemble writes every file but the manifest into tmp and returns the
// manifest's bytes.
func assemble(tmp string, c Contents) ([]byte, error) {
	m := c.Manifest
	m.Format, m.Version, m.GoVersion = Format, Version, runtime.Version()
	m.CreatedAt = time.Now().UTC().Format(time.RFC3339)
	w := &writer{dir: tmp}
	for _, rel := range slices.Sorted(maps.Keys(c.Files)) {
		w.write(rel, c.Files[rel])
	}
	m.Labels = LabelsInfo{Source: c.LabelsSource, Count: len(c.Labels)}
	if len(c.Labels) > 0 {
		w.write(labelsFile, []byte(strings.Join(c.Labels, "\n")+"\n"))
		m.Labels.File = labelsFile
	}
	m.Models = nil
	for _, spec := range c.Specs {
		mi, err := copyModel(w, spec, c.Profiled, c.Store)
		if err != nil {
			return nil, err
		}
		m.Models = append(m.Models, mi)
	}
	if w.err != nil {
		return nil, w.err
	}
	sort.Slice(w.files, func(i, j int) bool { return w.files[i].Path < w.files[j].Path })
	m.Files = w.files
	return merge(m, c.Settings)
}

// merge writes the shared fields and the kind's settings as one JSON
// object.
func merge(m Manifest, settings any) ([]byte, error) {
	fields := map[string]json.RawMessage{}
	for _, v := range []any{settings, m} {
		if v == nil {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		if err := json.Unmarshal(b, &fields); err != nil {
			return nil, fmt.Errorf("manifest: the router's settings are not a JSON object: %w", err)
		}
	}
	b, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// copyModel copies a model's files into models/NAME/ (a committee's: each
// member's into models/MEMBER/) and returns its entry, after checking that
// the files are the ones the store profiled.
func copyModel(w *writer, spec inference.Spec, profiled map[string]string, store string) (ModelInfo, error) {
	name := spec.Name
	sha, err := spec.FilesSHA256()
	if err != nil {
		return ModelInfo{}, fmt.Errorf("model %s: %w", name, err)
	}
	if want, ok := profiled[name]; ok && want != sha {
		return ModelInfo{}, fmt.Errorf("model %s: its files (sha256 %.12s) are not the ones profiled in store %s (%.12s): "+
			"point -models to the profiled files, or profile these again", name, sha, store, want)
	}
	mi := ModelInfo{Name: name, FilesSHA256: sha}
	local := spec
	if spec.IsCommittee() {
		// A committee has no files of its own: its members' are copied,
		// and its spec lists their specs with the copies' paths.
		local.MemberSpecs = make([]inference.Spec, len(spec.MemberSpecs))
		for j, m := range spec.MemberSpecs {
			lm, files, err := copyFiles(w, m)
			if err != nil {
				return ModelInfo{}, fmt.Errorf("model %s: member %s: %w", name, m.Name, err)
			}
			local.MemberSpecs[j] = lm
			mi.Files = append(mi.Files, files...)
		}
	} else {
		var files []FileInfo
		if local, files, err = copyFiles(w, spec); err != nil {
			return ModelInfo{}, fmt.Errorf("model %s: %w", name, err)
		}
		mi.Files = files
	}
	b, err := json.Marshal(local)
	if err != nil {
		return ModelInfo{}, fmt.Errorf("model %s: spec: %w", name, err)
	}
	mi.Spec = b
	return mi, nil
}

// copyFiles copies a single model's files into models/NAME/ and returns
// its spec with the copies' paths.
func copyFiles(w *writer, spec inference.Spec) (inference.Spec, []FileInfo, error) {
	local := spec
	local.Files = make([]string, len(spec.Files))
	used := map[string]bool{}
	var files []FileInfo
	for k := range spec.Files {
		src := spec.FilePath(k)
		base := filepath.Base(src)
		if used[base] {
			base = fmt.Sprintf("%d_%s", k, base)
		}
		used[base] = true
		rel := path.Join("models", spec.Name, base)
		data, err := os.ReadFile(src)
		if err != nil {
			return local, nil, err
		}
		w.write(rel, data)
		local.Files[k] = rel
		files = append(files, FileInfo{Path: rel, SHA256: hexSHA(data), Bytes: int64(len(data))})
	}
	return local, files, nil
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
	if i := slices.IndexFunc(w.files, func(f FileInfo) bool { return f.Path == rel }); i >= 0 {
		// A model that is also a committee's member: one copy.
		if w.files[i].SHA256 != hexSHA(data) {
			w.err = fmt.Errorf("two different files would be %s: give the models distinct names", rel)
		}
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

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Bundle is an opened bundle: its manifest and its verified files.
type Bundle struct {
	Dir      string
	Manifest Manifest
	// Labels are the class names (nil: none).
	Labels []string
	raw    []byte
	files  map[string][]byte
}

// Open reads a bundle, checking its format and version and the SHA-256 of
// every file it lists, and reads its class names.
func Open(dir string) (*Bundle, error) {
	fail := func(format string, a ...any) (*Bundle, error) {
		return nil, fmt.Errorf("load bundle %s: %s: %w", dir, fmt.Sprintf(format, a...), ErrBundle)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w (is it a folder written by modelpick train?)", dir, err)
	}
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return fail("%s is not JSON: %v", ManifestFile, err)
	}
	if head.Format != Format {
		return fail("%s has format %q, want %q: not a modelpick bundle", ManifestFile, head.Format, Format)
	}
	if head.Version != Version {
		return fail("bundle version %d, but this build of modelpick reads version %d: retrain it with this build (modelpick train), "+
			"or use the modelpick version that wrote it", head.Version, Version)
	}
	b := &Bundle{Dir: dir, raw: raw}
	if err := json.Unmarshal(raw, &b.Manifest); err != nil {
		return fail("%s: %v", ManifestFile, err)
	}
	if b.files, err = verifyFiles(dir, b.Manifest.Files); err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", dir, err)
	}
	if f := b.Manifest.Labels.File; f != "" {
		data, err := b.File(f)
		if err != nil {
			return nil, fmt.Errorf("load bundle %s: %w", dir, err)
		}
		b.Labels = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	return b, nil
}

// Settings decodes the router kind's own manifest fields into v.
func (b *Bundle) Settings(v any) error {
	if err := json.Unmarshal(b.raw, v); err != nil {
		return fmt.Errorf("%s: %v: %w", ManifestFile, err, ErrBundle)
	}
	return nil
}

// File returns a verified file's bytes; a file the manifest does not list
// is refused.
func (b *Bundle) File(rel string) ([]byte, error) {
	data, ok := b.files[rel]
	if !ok {
		return nil, fmt.Errorf("%s is needed but not listed (with its hash) in %s: %w", rel, ManifestFile, ErrBundle)
	}
	return data, nil
}

// Specs returns the specs of the named models, with files inside the
// bundle, after checking each model's entry and files.
func (b *Bundle) Specs(names []string) ([]inference.Spec, error) {
	fail := func(format string, a ...any) ([]inference.Spec, error) {
		return nil, fmt.Errorf("load bundle %s: %s: %w", b.Dir, fmt.Sprintf(format, a...), ErrBundle)
	}
	var out []inference.Spec
	for _, name := range names {
		mi, ok := b.Model(name)
		if !ok {
			return fail("model %s is used but has no entry in %s", name, ManifestFile)
		}
		for _, f := range mi.Files {
			if _, err := b.File(f.Path); err != nil {
				return nil, fmt.Errorf("load bundle %s: model %s: %w", b.Dir, name, err)
			}
		}
		spec, err := entrySpec(mi.Spec, b.Dir)
		if err != nil {
			return fail("model %s: spec: %v", name, err)
		}
		rels := specFiles(spec)
		if spec.Name != name || len(rels) != len(mi.Files) {
			return fail("model %s: spec names %q with %d files, entry lists %d", name, spec.Name, len(rels), len(mi.Files))
		}
		for k, f := range rels {
			if path.Clean(f) != mi.Files[k].Path {
				return fail("model %s: spec file %s is not the listed %s", name, f, mi.Files[k].Path)
			}
		}
		out = append(out, spec)
	}
	return out, nil
}

// entrySpec parses a model entry's spec; a committee's lists its members'
// specs, which resolve as models of the same spec file.
func entrySpec(raw json.RawMessage, dir string) (inference.Spec, error) {
	var c struct {
		Name        string            `json:"name"`
		Members     []string          `json:"members"`
		MemberSpecs []json.RawMessage `json:"member_specs"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return inference.Spec{}, err
	}
	if c.Members == nil {
		sf, err := inference.ParseSpec([]byte(`{"models": [`+string(raw)+`]}`), dir)
		if err != nil {
			return inference.Spec{}, err
		}
		return sf.Models[0], nil
	}
	own, err := json.Marshal(map[string]any{"name": c.Name, "members": c.Members})
	if err != nil {
		return inference.Spec{}, err
	}
	parts := make([]string, 0, len(c.MemberSpecs)+1)
	for _, m := range c.MemberSpecs {
		parts = append(parts, string(m))
	}
	sf, err := inference.ParseSpec([]byte(`{"models": [`+strings.Join(append(parts, string(own)), ",")+`]}`), dir)
	if err != nil {
		return inference.Spec{}, err
	}
	return sf.Models[len(sf.Models)-1], nil
}

// specFiles are the files a spec runs, as written (a committee: its
// members', in member order).
func specFiles(s inference.Spec) []string {
	if !s.IsCommittee() {
		return s.Files
	}
	var out []string
	for _, m := range s.MemberSpecs {
		out = append(out, m.Files...)
	}
	return out
}

// Model returns a model's entry.
func (b *Bundle) Model(name string) (ModelInfo, bool) {
	i := slices.IndexFunc(b.Manifest.Models, func(mi ModelInfo) bool { return mi.Name == name })
	if i < 0 {
		return ModelInfo{}, false
	}
	return b.Manifest.Models[i], true
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
