package datasets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Unknown is the Label of an item whose class is not known (an unlabelled set).
const Unknown = -1

// NumClasses is the number of ImageNet classes; labels are 0..NumClasses-1
// unless a synset file says otherwise.
const NumClasses = 1000

// Standard file names inside a set folder.
const (
	LabelsFile  = "labels.txt"
	SynsetsFile = "synset_words.txt"
)

// Item is one image of a set.
type Item struct {
	File  string // path relative to the set's Dir, with forward slashes
	Label int    // class index 0..999, or Unknown (-1)
}

// Class is one line of a synset file.
type Class struct {
	Index  int    // line number, counting from 0
	Synset string // WordNet id, e.g. n01440764
	Names  string // e.g. "tench, Tinca tinca"
}

// Set is a labelled image set.
type Set struct {
	Name    string  // base name of Dir
	Dir     string  // folder the item paths are relative to
	Items   []Item  // sorted by File
	Classes []Class // from synset_words.txt; nil when the set has none
}

// Options selects how LoadWith reads a folder. The zero value detects the
// layout as Load does.
type Options struct {
	// Synsets is a synset_words.txt outside the set folder. When empty,
	// DIR/synset_words.txt is used if it exists.
	Synsets string
	// GroundTruth is a "FILE INDEX" file for a flat folder of images (layout
	// c). When set, labels.txt and subfolders are not consulted.
	GroundTruth string
	// Unlabelled accepts a flat folder with no labels at all: every item gets
	// Label Unknown. Meant for classify runs, never for evaluation.
	Unlabelled bool
}

// Load reads the set in dir, detecting its layout: labels.txt if present,
// else one subfolder per class. See the package documentation.
func Load(dir string) (*Set, error) { return LoadWith(dir, Options{}) }

// LoadWithGroundTruth reads a flat folder of images labelled by gtFile
// ("FILE INDEX" lines, e.g. the ImageNet validation ground truth). Images in
// dir without an entry are an error; entries without an image are ignored.
func LoadWithGroundTruth(dir, gtFile string) (*Set, error) {
	return LoadWith(dir, Options{GroundTruth: gtFile})
}

// LoadWith reads the set in dir as opt says.
func LoadWith(dir string, opt Options) (*Set, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("load dataset: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("load dataset %s: not a folder", dir)
	}
	s := &Set{Name: filepath.Base(filepath.Clean(dir)), Dir: filepath.Clean(dir)}

	synPath := opt.Synsets
	if synPath == "" {
		if p := filepath.Join(dir, SynsetsFile); fileExists(p) {
			synPath = p
		}
	}
	if synPath != "" {
		if s.Classes, err = ReadSynsets(synPath); err != nil {
			return nil, fmt.Errorf("load dataset %s: %w", dir, err)
		}
	}
	nClasses := NumClasses
	if s.Classes != nil {
		nClasses = len(s.Classes)
	}

	labels := filepath.Join(dir, LabelsFile)
	switch {
	case opt.GroundTruth != "":
		err = s.loadFlat(opt.GroundTruth, nClasses)
	case fileExists(labels):
		err = s.loadLabels(labels, nClasses)
	case hasSubdirs(dir):
		err = s.loadImageFolder(nClasses)
	case opt.Unlabelled:
		err = s.loadFlat("", nClasses)
	default:
		err = fmt.Errorf("found no %s and no class subfolders: add %s (lines FILE INDEX), "+
			"put each class in its own subfolder named by its class index (0, 1, ...), or give a ground-truth file (-ground-truth FILE; ground_truth: in an experiment spec)",
			LabelsFile, LabelsFile)
	}
	if err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", dir, err)
	}
	if len(s.Items) == 0 {
		return nil, fmt.Errorf("load dataset %s: no images", dir)
	}
	slices.SortFunc(s.Items, func(a, b Item) int { return strings.Compare(a.File, b.File) })
	return s, nil
}

// Path returns the filesystem path of item i.
func (s *Set) Path(i int) string {
	return filepath.Join(s.Dir, filepath.FromSlash(s.Items[i].File))
}

// Labels returns the items' labels in item order.
func (s *Set) Labels() []int {
	out := make([]int, len(s.Items))
	for i, it := range s.Items {
		out[i] = it.Label
	}
	return out
}

// Hash is the hex sha256 of the sorted (file, label) list: it identifies the
// set's content independently of where the folder lives.
func (s *Set) Hash() string {
	items := slices.Clone(s.Items)
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.File, b.File) })
	h := sha256.New()
	for _, it := range items {
		fmt.Fprintf(h, "%s\t%d\n", it.File, it.Label)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// loadLabels reads layout (a): labels.txt names every image of the set.
func (s *Set) loadLabels(labelsPath string, nClasses int) error {
	pairs, err := readPairs(labelsPath, nClasses)
	if err != nil {
		return err
	}
	var missing []string
	for _, p := range pairs {
		if st, err := os.Stat(filepath.Join(s.Dir, filepath.FromSlash(p.file))); err != nil || !st.Mode().IsRegular() {
			missing = append(missing, fmt.Sprintf("%s (line %d)", p.file, p.line))
			continue
		}
		s.Items = append(s.Items, Item{File: p.file, Label: p.label})
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s names %d images that are not in the folder: %s; "+
			"restore them or remove their lines", labelsPath, len(missing), firstFew(missing))
	}
	return nil
}

// loadFlat reads layout (c): the images at the top of the folder, labelled
// by a ground-truth file (or Unknown when gtPath is "").
func (s *Set) loadFlat(gtPath string, nClasses int) error {
	var gt map[string]pair
	if gtPath != "" {
		pairs, err := readPairs(gtPath, nClasses)
		if err != nil {
			return err
		}
		gt = make(map[string]pair, len(pairs))
		for _, p := range pairs {
			gt[p.file] = p
		}
	}
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return err
	}
	var unlabelled []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !isImage(e.Name()) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		label := Unknown
		if gt != nil {
			p, ok := gt[e.Name()]
			if !ok {
				unlabelled = append(unlabelled, e.Name())
				continue
			}
			label = p.label
		}
		s.Items = append(s.Items, Item{File: e.Name(), Label: label})
	}
	if len(unlabelled) > 0 {
		return fmt.Errorf("%d images have no entry in %s: %s; use the ground truth of the set they come from",
			len(unlabelled), gtPath, firstFew(unlabelled))
	}
	return nil
}

// wnid matches a WordNet synset id, the folder names of ImageNet's ImageFolder layout.
var wnid = regexp.MustCompile(`^n[0-9]{8}$`)

// loadImageFolder reads layout (b): one subfolder per class.
func (s *Set) loadImageFolder(nClasses int) error {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return err
	}
	bySynset := make(map[string]int, len(s.Classes))
	for _, c := range s.Classes {
		bySynset[c.Synset] = c.Index
	}
	seen := make(map[int]string)
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if !e.IsDir() {
			if isImage(name) {
				return fmt.Errorf("image %s lies outside the class subfolders, so it has no class: move it into one", name)
			}
			continue
		}
		var label int
		switch {
		case wnid.MatchString(name):
			if s.Classes == nil {
				return fmt.Errorf("class folder %s is a synset id but there is no %s: put one in the folder or pass Options.Synsets",
					name, SynsetsFile)
			}
			idx, ok := bySynset[name]
			if !ok {
				return fmt.Errorf("class folder %s is not a synset of the synset file", name)
			}
			label = idx
		default:
			n, err := strconv.Atoi(name)
			if err != nil || n < 0 || n >= nClasses || strconv.Itoa(n) != name {
				return fmt.Errorf("class folder %q is neither a synset id (n########) nor a class index 0..%d",
					name, nClasses-1)
			}
			label = n
		}
		if prev, dup := seen[label]; dup {
			return fmt.Errorf("class folders %s and %s both map to class %d", prev, name, label)
		}
		seen[label] = name
		err := filepath.WalkDir(filepath.Join(s.Dir, name), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && isImage(d.Name()) && !strings.HasPrefix(d.Name(), ".") {
				rel, err := filepath.Rel(s.Dir, p)
				if err != nil {
					return err
				}
				s.Items = append(s.Items, Item{File: filepath.ToSlash(rel), Label: label})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("class folder %s: %w", name, err)
		}
	}
	return nil
}

// pair is one "FILE INDEX" line, with its line number for error messages.
type pair struct {
	file  string
	label int
	line  int
}

// readPairs reads a "FILE INDEX" file (labels.txt or a ground truth).
// The index is the last field, so file names may contain spaces. Blank lines
// and lines starting with '#' are skipped.
func readPairs(p string, nClasses int) ([]pair, error) {
	lines, err := readLines(p)
	if err != nil {
		return nil, err
	}
	var out []pair
	first := make(map[string]int)
	for i, line := range lines {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cut := strings.LastIndexAny(line, " \t")
		if cut < 0 {
			return nil, fmt.Errorf("%s:%d: %q: want FILE INDEX (an index-only file such as the devkit's "+
				"ILSVRC2012_validation_ground_truth.txt uses other class ids; convert it to FILE INDEX lines first)", p, n, line)
		}
		file, idxText := strings.TrimSpace(line[:cut]), line[cut+1:]
		idx, err := strconv.Atoi(idxText)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: index %q is not an integer", p, n, idxText)
		}
		if idx < 0 || idx >= nClasses {
			return nil, fmt.Errorf("%s:%d: index %d out of range 0..%d", p, n, idx, nClasses-1)
		}
		file = filepath.ToSlash(file)
		if clean := path.Clean(file); clean != file || path.IsAbs(file) || clean == ".." || strings.HasPrefix(clean, "../") {
			return nil, fmt.Errorf("%s:%d: file %q must be a clean path inside the set folder", p, n, file)
		}
		if prev, dup := first[file]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate entry for %s (first on line %d)", p, n, file, prev)
		}
		first[file] = n
		out = append(out, pair{file: file, label: idx, line: n})
	}
	return out, nil
}

// ReadGroundTruth reads a "FILE INDEX" file such as the ImageNet validation
// ground truth, with indices in 0..NumClasses-1.
func ReadGroundTruth(p string) (map[string]int, error) {
	pairs, err := readPairs(p, NumClasses)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(pairs))
	for _, pr := range pairs {
		out[pr.file] = pr.label
	}
	return out, nil
}

// ReadSynsets reads synset_words.txt: line i (from 0) is class i, "SYNSET NAMES".
// Blank lines are only allowed at the end, since one in the middle would shift
// every class after it.
func ReadSynsets(p string) ([]Class, error) {
	lines, err := readLines(p)
	if err != nil {
		return nil, err
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: no classes", p)
	}
	out := make([]Class, 0, len(lines))
	first := make(map[string]int)
	for i, line := range lines {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" {
			return nil, fmt.Errorf("%s:%d: blank line would shift the index of every later class", p, n)
		}
		if i == 0 && strings.EqualFold(line, "background") {
			return nil, fmt.Errorf("%s:1: \"background\": this looks like a 1001-line TF labels file; "+
				"a synset file has one line per class, \"n01440764 tench, Tinca tinca\"", p)
		}
		synset, names, _ := strings.Cut(line, " ")
		synset = strings.TrimSpace(synset)
		if prev, dup := first[synset]; dup {
			return nil, fmt.Errorf("%s:%d: duplicate synset %s (first on line %d)", p, n, synset, prev)
		}
		first[synset] = n
		out = append(out, Class{Index: i, Synset: synset, Names: strings.TrimSpace(names)})
	}
	return out, nil
}

// readLines returns the lines of a text file, without a UTF-8 byte-order mark.
func readLines(p string) ([]string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	text := strings.TrimPrefix(string(b), "\uFEFF")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil, nil
	}
	return strings.Split(text, "\n"), nil
}

// isImage reports whether name has an image extension that decoders here read.
func isImage(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png", ".bmp", ".webp", ".ppm", ".pgm", ".tif", ".tiff", ".gif":
		return true
	}
	return false
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func hasSubdirs(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			return true
		}
	}
	return false
}

// firstFew lists up to five names, so an error stays readable when
// thousands are missing.
func firstFew(names []string) string {
	const max = 5
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max], ", ") + fmt.Sprintf(", and %d more", len(names)-max)
}
