package experiments

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/learners"
)

// Spec is one experiment: an artifact of the paper and its inputs.
type Spec struct {
	// Name is the file's base name; results go to results/NAME and
	// figures to figures/NAME*.
	Name string `yaml:"name"`
	// Artifact is the paper's name for it, e.g. "Fig 5" or "Table 3".
	Artifact string `yaml:"artifact"`
	Title    string `yaml:"title"`
	// Kind selects the analysis (kinds.go).
	Kind string `yaml:"kind"`

	Images    []ImageSet  `yaml:"images"`
	Models    string      `yaml:"models"`
	Only      []string    `yaml:"only"`
	Criterion string      `yaml:"criterion"`
	Criteria  []string    `yaml:"criteria"`
	Learner   string      `yaml:"learner"`
	Learners  []string    `yaml:"learners"`
	K         int         `yaml:"k"`
	Folds     int         `yaml:"folds"`
	Seed      int64       `yaml:"seed"`
	Theta     float64     `yaml:"theta"`
	Threshold float64     `yaml:"threshold"`
	Tolerance float64     `yaml:"tolerance"`
	Timing    int         `yaml:"timing_images"`
	Import    *ImportSpec `yaml:"import"`
	// Latency is a file of published per-model latencies (LatencyFile).
	Latency string   `yaml:"latency"`
	Notes   []string `yaml:"notes"`

	// Path is the spec file; Dir its folder (relative paths resolve there).
	Path string `yaml:"-"`
	Dir  string `yaml:"-"`
	// lines maps each field path (e.g. "images[0].dir") to its line.
	lines map[string]int
}

// ImageSet is a labelled image folder.
type ImageSet struct {
	Dir         string `yaml:"dir"`
	GroundTruth string `yaml:"ground_truth"`
	// Limit keeps the first Limit images in file order (0 = all).
	Limit int `yaml:"limit"`
}

// ImportSpec names external per-image results (package external).
type ImportSpec struct {
	Dir         string   `yaml:"dir"`
	Format      string   `yaml:"format"`
	Dataset     string   `yaml:"dataset"`
	GroundTruth string   `yaml:"ground_truth"`
	Models      []string `yaml:"models"`
}

// SpecError is a problem with a spec, at a line, in a field.
type SpecError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *SpecError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Field == "" {
		return loc + ": " + e.Msg
	}
	return fmt.Sprintf("%s: field %s: %s", loc, e.Field, e.Msg)
}

// errAt returns a SpecError at field's line (the spec's first line when
// the field is absent).
func (s *Spec) errAt(field, format string, args ...any) error {
	line := s.lines[field]
	if line == 0 {
		line = 1
	}
	return &SpecError{File: s.Path, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Has reports whether the spec sets field (a top-level YAML key).
func (s *Spec) Has(field string) bool { _, ok := s.lines[field]; return ok }

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)
var unknownRE = regexp.MustCompile(`^field (\S+) not found in type`)

// ParseSpec reads and validates a spec file: YAML syntax and types, known
// fields only, the kind's required and allowed fields, values, and that
// every input it names exists. Nothing runs.
func ParseSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("experiment spec: %w", err)
	}
	s := &Spec{Path: path, Dir: filepath.Dir(path)}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, specYAMLError(path, nil, err)
	}
	if len(root.Content) == 0 {
		return nil, &SpecError{File: path, Line: 1, Msg: "empty spec"}
	}
	s.lines = map[string]int{}
	lineField := map[int]string{}
	walkLines(root.Content[0], "", s.lines, lineField)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil && !errors.Is(err, io.EOF) {
		return nil, specYAMLError(path, lineField, err)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// specYAMLError turns yaml.v3's messages ("line 7: cannot unmarshal ...")
// into SpecErrors naming the field at that line.
func specYAMLError(path string, lineField map[int]string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			return &SpecError{File: path, Line: n, Msg: "YAML syntax: " + m[2]}
		}
		return &SpecError{File: path, Msg: "YAML: " + msg}
	}
	var errs []string
	for _, e := range te.Errors {
		m := lineRE.FindStringSubmatch(e)
		if m == nil {
			errs = append(errs, (&SpecError{File: path, Msg: e}).Error())
			continue
		}
		n, _ := strconv.Atoi(m[1])
		field, msg := lineField[n], m[2]
		if u := unknownRE.FindStringSubmatch(msg); u != nil {
			field, msg = u[1], "unknown field (known: "+strings.Join(knownFields(), ", ")+")"
		}
		errs = append(errs, (&SpecError{File: path, Line: n, Field: field, Msg: msg}).Error())
	}
	return errors.New(strings.Join(errs, "; "))
}

// walkLines records the line of every mapping key, by dotted path, and the
// deepest field on each line.
func walkLines(n *yaml.Node, prefix string, lines map[string]int, byLine map[int]string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if prefix != "" {
				p = prefix + "." + k.Value
			}
			lines[p] = k.Line
			byLine[k.Line] = p
			walkLines(v, p, lines, byLine)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			if _, ok := lines[p]; !ok {
				lines[p] = c.Line
			}
			if _, ok := byLine[c.Line]; !ok {
				byLine[c.Line] = p
			}
			walkLines(c, p, lines, byLine)
		}
	}
}

// knownFields lists the spec's YAML keys.
func knownFields() []string {
	return []string{"name", "artifact", "title", "kind", "images", "models", "only", "criterion", "criteria",
		"learner", "learners", "k", "folds", "seed", "theta", "threshold", "tolerance", "timing_images", "import", "latency", "notes"}
}

// always are the fields every kind accepts.
var always = []string{"name", "artifact", "title", "kind", "notes"}

func (s *Spec) validate() error {
	base := strings.TrimSuffix(filepath.Base(s.Path), filepath.Ext(s.Path))
	switch {
	case s.Name == "":
		return s.errAt("name", "required (the file's base name, %q)", base)
	case s.Name != base:
		return s.errAt("name", "%q but the file is %s: they must match (results/%s)", s.Name, filepath.Base(s.Path), base)
	case s.Artifact == "":
		return s.errAt("artifact", "required, e.g. \"Fig 5\"")
	case s.Kind == "":
		return s.errAt("kind", "required: one of %s", strings.Join(KindNames(), ", "))
	}
	k, ok := Kinds()[s.Kind]
	if !ok {
		return s.errAt("kind", "%q is not a kind: one of %s", s.Kind, strings.Join(KindNames(), ", "))
	}
	for _, f := range k.Needs {
		if !s.Has(f) {
			return s.errAt(f, "required by kind %s (missing)", s.Kind)
		}
	}
	allowed := append(append(append([]string{}, always...), k.Needs...), k.Allows...)
	var top []string
	for p := range s.lines {
		if !strings.ContainsAny(p, ".[") {
			top = append(top, p)
		}
	}
	sort.Strings(top)
	for _, f := range top {
		if !slices.Contains(allowed, f) {
			return s.errAt(f, "not used by kind %s (it reads %s)", s.Kind, strings.Join(append(k.Needs, k.Allows...), ", "))
		}
	}
	return s.validateValues()
}

func (s *Spec) validateValues() error {
	crit := func(field, c string) error {
		if c != "top1" && c != "top5" {
			return s.errAt(field, "%q, want top1 or top5", c)
		}
		return nil
	}
	if s.Has("criterion") {
		if err := crit("criterion", s.Criterion); err != nil {
			return err
		}
	}
	for i, c := range s.Criteria {
		if err := crit(fmt.Sprintf("criteria[%d]", i), c); err != nil {
			return err
		}
	}
	if s.Has("criteria") && len(s.Criteria) == 0 {
		return s.errAt("criteria", "empty list")
	}
	if s.Has("folds") && s.Folds < 2 {
		return s.errAt("folds", "%d, want at least 2", s.Folds)
	}
	if s.Has("k") && s.K < 1 {
		return s.errAt("k", "%d, want at least 1", s.K)
	}
	if s.Has("theta") && s.Theta < 0 {
		return s.errAt("theta", "%v, want >= 0 (percentage points)", s.Theta)
	}
	if s.Has("threshold") && !(s.Threshold > 0 && s.Threshold <= 1) {
		return s.errAt("threshold", "%v, want (0, 1]", s.Threshold)
	}
	if s.Has("tolerance") && s.Tolerance < 0 {
		return s.errAt("tolerance", "%v, want >= 0", s.Tolerance)
	}
	if s.Has("timing_images") && s.Timing < 0 {
		return s.errAt("timing_images", "%d, want >= 0", s.Timing)
	}
	if s.Has("images") && len(s.Images) == 0 {
		return s.errAt("images", "empty list")
	}
	for i, im := range s.Images {
		f := fmt.Sprintf("images[%d]", i)
		if im.Dir == "" {
			return s.errAt(f, "dir: required")
		}
		if st, err := os.Stat(s.Resolve(im.Dir)); err != nil || !st.IsDir() {
			return s.errAt(f+".dir", "image folder %s does not exist (set %s to the shared assets)", s.Resolve(im.Dir), settings.EnvAssets)
		}
		if im.GroundTruth != "" {
			if _, err := os.Stat(s.Resolve(im.GroundTruth)); err != nil {
				return s.errAt(f+".ground_truth", "%v", err)
			}
		}
		if im.Limit < 0 {
			return s.errAt(f+".limit", "%d, want >= 0", im.Limit)
		}
	}
	if s.Has("models") {
		if _, err := os.Stat(s.Resolve(s.Models)); err != nil {
			return s.errAt("models", "model spec %s does not exist", s.Resolve(s.Models))
		}
	}
	if s.Has("learner") {
		if _, err := learners.New(s.Learner, learners.Params{K: max(s.K, 1)}); err != nil {
			return s.errAt("learner", "%v", err)
		}
	}
	if s.Has("learners") && len(s.Learners) == 0 {
		return s.errAt("learners", "empty list")
	}
	for i, l := range s.Learners {
		if _, err := learners.New(l, learners.Params{K: max(s.K, 1)}); err != nil {
			return s.errAt(fmt.Sprintf("learners[%d]", i), "%v", err)
		}
	}
	if s.Import != nil {
		if s.Import.Format != "topk" {
			return s.errAt("import.format", "%q, want topk", s.Import.Format)
		}
		if st, err := os.Stat(s.Resolve(s.Import.Dir)); err != nil || !st.IsDir() {
			return s.errAt("import.dir", "folder %s does not exist", s.Resolve(s.Import.Dir))
		}
		if s.Import.Dataset == "" {
			return s.errAt("import.dataset", "required: the data set's name in the store")
		}
		if s.Import.GroundTruth != "" {
			if _, err := os.Stat(s.Resolve(s.Import.GroundTruth)); err != nil {
				return s.errAt("import.ground_truth", "%v", err)
			}
		}
	}
	if s.Has("latency") {
		if _, err := ReadLatency(s.Resolve(s.Latency)); err != nil {
			return s.errAt("latency", "%v", err)
		}
	}
	return nil
}

// Resolve expands ${assets} (settings.Assets()) and other ${VAR}s and
// makes a relative path relative to the spec's folder.
func (s *Spec) Resolve(p string) string {
	p = os.Expand(p, func(k string) string {
		if k == "assets" {
			return settings.Assets()
		}
		return os.Getenv(k)
	})
	if !filepath.IsAbs(p) {
		p = filepath.Join(s.Dir, p)
	}
	return filepath.Clean(p)
}

// LatencyFile is a file of per-model latencies from a named source.
type LatencyFile struct {
	// Source says where the numbers come from, precisely enough to check.
	Source string `yaml:"source"`
	// Unit must be "ms".
	Unit    string             `yaml:"unit"`
	Latency map[string]float64 `yaml:"latency"`
	Notes   []string           `yaml:"notes"`
}

// ReadLatency reads and checks a latency file.
func ReadLatency(path string) (*LatencyFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var l LatencyFile
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("latency file %s: %w", path, err)
	}
	switch {
	case strings.TrimSpace(l.Source) == "":
		return nil, fmt.Errorf("latency file %s: source: required (where the numbers come from)", path)
	case l.Unit != "ms":
		return nil, fmt.Errorf("latency file %s: unit %q, want ms", path, l.Unit)
	case len(l.Latency) == 0:
		return nil, fmt.Errorf("latency file %s: latency: no models", path)
	}
	for m, v := range l.Latency {
		if !(v > 0) {
			return nil, fmt.Errorf("latency file %s: model %s: %v ms, want > 0", path, m, v)
		}
	}
	return &l, nil
}
