package committee

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/buildinfo"
	"github.com/modelpick/modelpick/internal/ortenv"
	"github.com/modelpick/modelpick/internal/progress"
	"github.com/modelpick/modelpick/onnxconv"
)

// probsVersion changes whenever the cached vectors for the same inputs
// would differ (their layout, or how they are computed).
const probsVersion = "1"

// Probs is one single model's full output vector (its de-quantised
// Scores, background included) on every image of a set, in the set's
// item order.
type Probs struct {
	Model       string   `json:"model"`
	Dataset     string   `json:"dataset"`
	Files       []string `json:"files"`
	Labels      []int    `json:"labels"`
	Errors      []string `json:"errors"` // "" or why image i was unreadable (its row is all 0)
	Outputs     int      `json:"outputs"`
	LabelOffset int      `json:"label_offset"`
	NumClasses  int      `json:"num_classes"`
	// Inputs are what the cache key hashes: the model's spec and files,
	// the images' bytes and labels, the importer, runtime and OpenCV.
	Inputs     map[string]string `json:"inputs"`
	Key        string            `json:"key"`
	DataSHA256 string            `json:"data_sha256"` // of the vectors file
	// P holds the vectors row by row: image i is P[i*Outputs:(i+1)*Outputs].
	P []float32 `json:"-"`
}

// Row is image i's output vector.
func (p *Probs) Row(i int) []float32 { return p.P[i*p.Outputs : (i+1)*p.Outputs] }

// ProbsOptions configure ComputeProbs.
type ProbsOptions struct {
	Load     inference.Options
	CacheDir string // required (commands pass the user's cache folder); vectors go in CacheDir/probs
	Limit    int    // the first Limit images of the set (0 = all)
	Progress io.Writer
}

// ComputeProbs returns each single model's vectors on the set, from the
// cache when its key matches, else by running the models that are missing
// (each image decoded once) and caching the result. A committee is
// refused: its vector is the mean of its members', computed from theirs.
func ComputeProbs(ctx context.Context, specs []inference.Spec, set *datasets.Set, o ProbsOptions) ([]*Probs, error) {
	for _, s := range specs {
		if s.IsCommittee() {
			return nil, fmt.Errorf("probabilities: %s is a committee: cache its members (the committee's vector is the mean of theirs)", s.Name)
		}
	}
	if o.CacheDir == "" {
		return nil, errors.New("probabilities: no cache folder (ProbsOptions.CacheDir)")
	}
	if err := ortenv.Init(o.Load.ORTLibrary); err != nil {
		return nil, err
	}
	items := set.Items
	if o.Limit > 0 && o.Limit < len(items) {
		items = items[:o.Limit]
	}
	imagesHash, err := contentHash(set.Dir, items)
	if err != nil {
		return nil, err
	}
	out := make([]*Probs, len(specs))
	var todo []int
	for i, s := range specs {
		p, err := newProbs(s, set.Name, items, imagesHash, o.Load)
		if err != nil {
			return nil, err
		}
		cached, err := readProbs(o.CacheDir, p)
		if err != nil {
			return nil, err
		}
		if cached != nil {
			out[i] = cached
			continue
		}
		out[i] = p
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return out, nil
	}
	var models []*inference.Model
	defer func() {
		for _, m := range models {
			m.Close()
		}
	}()
	for _, i := range todo {
		m, err := inference.Load(specs[i], o.Load)
		if err != nil {
			return nil, err
		}
		models = append(models, m)
		out[i].P = make([]float32, len(items)*out[i].Outputs)
	}
	prog := progress.New(o.Progress, "probabilities "+set.Name, "img", len(items))
	defer prog.Finish()
	for n, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := inference.DecodeImageFile(filepath.Join(set.Dir, filepath.FromSlash(it.File)))
		if err != nil {
			for _, i := range todo {
				out[i].Errors[n] = err.Error()
			}
			prog.Step()
			continue
		}
		for k, i := range todo {
			err := models[k].SetInput(img)
			if err == nil {
				err = models[k].Run()
			}
			if err != nil {
				img.Close()
				return nil, fmt.Errorf("probabilities %s on %s: %w", specs[i].Name, it.File, err)
			}
			copy(out[i].Row(n), models[k].Scores())
		}
		img.Close()
		prog.Step()
	}
	for _, i := range todo {
		if err := writeProbs(o.CacheDir, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// newProbs describes a model's vectors on the items (no values yet) and
// computes their cache key.
func newProbs(s inference.Spec, dataset string, items []datasets.Item, imagesHash string, load inference.Options) (*Probs, error) {
	sha, err := s.FilesSHA256()
	if err != nil {
		return nil, fmt.Errorf("probabilities %s: %w", s.Name, err)
	}
	noFiles := s
	noFiles.Files = nil // the files' hashes stand for their paths
	threads, provider := load.Threads, load.Provider
	if threads <= 0 {
		threads = 1
	}
	if provider == "" {
		provider = "cpu"
	}
	p := &Probs{Model: s.Name, Dataset: dataset, Outputs: s.NumClasses + s.LabelOffset,
		LabelOffset: s.LabelOffset, NumClasses: s.NumClasses,
		Files: make([]string, len(items)), Labels: make([]int, len(items)), Errors: make([]string, len(items)),
		Inputs: map[string]string{
			"cache_version": probsVersion,
			"spec":          noFiles.JSON(),
			"files_sha256":  sha,
			"images_sha256": imagesHash,
			"importer":      "onnxconv " + onnxconv.Version,
			"runtime":       "onnxruntime " + ortenv.Version(),
			"opencv":        buildinfo.OpenCV(),
			"threads":       fmt.Sprint(threads),
			"provider":      provider,
		}}
	for i, it := range items {
		p.Files[i], p.Labels[i] = it.File, it.Label
	}
	kj, _ := json.Marshal(p.Inputs) // a map of strings: cannot fail; keys sorted
	h := sha256.Sum256(kj)
	p.Key = hex.EncodeToString(h[:])
	return p, nil
}

// contentHash hashes each item's name, label and bytes in order, so a
// changed image (not only a renamed one) gets a new key.
func contentHash(dir string, items []datasets.Item) (string, error) {
	h := sha256.New()
	for _, it := range items {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(it.File)))
		sum := "unreadable"
		if err == nil {
			s := sha256.Sum256(data)
			sum = hex.EncodeToString(s[:])
		} else if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission) {
			return "", fmt.Errorf("probabilities: read %s: %w", it.File, err)
		}
		fmt.Fprintf(h, "%s\t%d\t%s\n", it.File, it.Label, sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cachePaths are an entry's manifest and vectors (little-endian float32).
func cachePaths(dir string, p *Probs) (manifest, data string) {
	base := filepath.Join(dir, "probs", fmt.Sprintf("%s-%s-%s", p.Model, p.Dataset, p.Key[:20]))
	return base + ".json", base + ".f32"
}

// readProbs returns the cached entry for p's key, or nil when there is
// none. An entry whose vectors do not match its manifest is an error
// naming the files to delete.
func readProbs(dir string, p *Probs) (*Probs, error) {
	mp, dp := cachePaths(dir, p)
	mb, err := os.ReadFile(mp)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("probabilities cache: %w", err)
	}
	bad := func(why string) error {
		return fmt.Errorf("probabilities cache %s: %s: delete it and %s to recompute them", mp, why, dp)
	}
	var c Probs
	if err := json.Unmarshal(mb, &c); err != nil {
		return nil, bad(err.Error())
	}
	if c.Key != p.Key || c.Outputs != p.Outputs || len(c.Files) != len(p.Files) {
		return nil, bad("its manifest does not match its key")
	}
	db, err := os.ReadFile(dp)
	if err != nil {
		return nil, bad(err.Error())
	}
	if s := sha256.Sum256(db); hex.EncodeToString(s[:]) != c.DataSHA256 {
		return nil, bad("the vectors' hash differs from the manifest's")
	}
	if len(db) != 4*len(c.Files)*c.Outputs {
		return nil, bad(fmt.Sprintf("%d bytes, want %d", len(db), 4*len(c.Files)*c.Outputs))
	}
	c.P = make([]float32, len(db)/4)
	for i := range c.P {
		c.P[i] = math.Float32frombits(binary.LittleEndian.Uint32(db[4*i:]))
	}
	return &c, nil
}

// writeProbs writes the vectors, then the manifest (its presence marks a
// complete entry), each through a temporary file and a rename.
func writeProbs(dir string, p *Probs) error {
	mp, dp := cachePaths(dir, p)
	db := make([]byte, 4*len(p.P))
	for i, v := range p.P {
		binary.LittleEndian.PutUint32(db[4*i:], math.Float32bits(v))
	}
	s := sha256.Sum256(db)
	p.DataSHA256 = hex.EncodeToString(s[:])
	mb, err := json.MarshalIndent(p, "", " ")
	if err != nil {
		return fmt.Errorf("probabilities cache: %w", err)
	}
	if err := writeAtomic(dp, db); err != nil {
		return err
	}
	return writeAtomic(mp, append(mb, '\n'))
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("probabilities cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".probs-*")
	if err != nil {
		return fmt.Errorf("probabilities cache: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("probabilities cache %s: %w", path, werr)
	}
	return nil
}

// CachePath is where p's vectors are cached in dir (for reports).
func CachePath(dir string, p *Probs) string {
	_, dp := cachePaths(dir, p)
	return dp
}

// sameImages checks that vectors were computed on the same images in the
// same order with one class layout, so they can be averaged row by row.
func sameImages(ps []*Probs) error {
	if len(ps) == 0 {
		return errors.New("no models")
	}
	a := ps[0]
	for _, b := range ps[1:] {
		switch {
		case b.Dataset != a.Dataset || len(b.Files) != len(a.Files):
			return fmt.Errorf("%s covers %s (%d images) but %s covers %s (%d images): compute them on the same set", a.Model, a.Dataset, len(a.Files), b.Model, b.Dataset, len(b.Files))
		case b.Outputs != a.Outputs || b.LabelOffset != a.LabelOffset || b.NumClasses != a.NumClasses:
			return fmt.Errorf("%s and %s have different class layouts (outputs %d/%d)", a.Model, b.Model, a.Outputs, b.Outputs)
		case b.Inputs["images_sha256"] != a.Inputs["images_sha256"]:
			return fmt.Errorf("%s and %s were computed on different image bytes", a.Model, b.Model)
		}
		for i := range a.Files {
			if a.Files[i] != b.Files[i] || a.Labels[i] != b.Labels[i] {
				return fmt.Errorf("%s and %s differ at image %d (%s, %s)", a.Model, b.Model, i, a.Files[i], b.Files[i])
			}
		}
	}
	return nil
}

// byName indexes vectors by model name.
func byName(ps []*Probs) (map[string]*Probs, error) {
	m := map[string]*Probs{}
	for _, p := range ps {
		if _, dup := m[p.Model]; dup {
			return nil, fmt.Errorf("model %s given twice", p.Model)
		}
		m[p.Model] = p
	}
	return m, nil
}

// names lists model names for messages.
func names(ps []*Probs) string {
	n := make([]string, len(ps))
	for i, p := range ps {
		n[i] = p.Model
	}
	return strings.Join(n, ", ")
}
