package experiments

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/modelpick/modelpick/internal/settings"
)

// Spec is one experiment: an artifact of the paper, the analysis that
// makes it (its kind) and the kind's own parameters.
type Spec struct {
	// Name is the file's base name; results go to results/NAME and
	// figures to figures/NAME*.
	Name string `yaml:"name"`
	// Artifact is the paper's name for it, e.g. "Fig 5" or "Table 3".
	Artifact string `yaml:"artifact"`
	Title    string `yaml:"title"`
	// Kind selects the analysis (kinds.go).
	Kind  string   `yaml:"kind"`
	Notes []string `yaml:"notes"`
	// Params are the kind's parameters (a pointer to its params struct),
	// decoded from the spec's other fields.
	Params Params `yaml:"-"`

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
	if err := checkVars(path, b); err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, specYAMLError(path, nil, err)
	}
	if len(root.Content) == 0 {
		return nil, &SpecError{File: path, Line: 1, Msg: "empty spec"}
	}
	doc := root.Content[0]
	s.lines = map[string]int{}
	lineField := map[int]string{}
	walkLines(doc, "", s.lines, lineField)
	if err := s.checkKnown(); err != nil {
		return nil, err
	}
	if err := doc.Decode(s); err != nil {
		return nil, specYAMLError(path, lineField, err)
	}
	if err := s.checkHeader(); err != nil {
		return nil, err
	}
	k := Kinds()[s.Kind]
	s.Params = k.Params()
	if err := doc.Decode(s.Params); err != nil {
		return nil, specYAMLError(path, lineField, err)
	}
	if err := s.checkFields(); err != nil {
		return nil, err
	}
	if err := s.Params.validate(checker{s}); err != nil {
		return nil, err
	}
	return s, nil
}

var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// checkVars refuses a spec naming an environment variable (${VAR}, which
// Resolve expands) that is not set: an unset one would resolve to the
// spec's own folder, and the error would name the wrong thing.
func checkVars(path string, b []byte) error {
	for i, line := range strings.Split(string(b), "\n") {
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		for _, m := range varRE.FindAllStringSubmatch(line, -1) {
			if v, ok := os.LookupEnv(m[1]); m[1] != "assets" && (!ok || v == "") {
				return &SpecError{File: path, Line: i + 1, Msg: fmt.Sprintf("the environment variable %s is not set (the spec reads ${%s}): "+
					"set it, e.g. %s=PATH modelpick ... (make example sets MODELS, IMAGES and TEST_IMAGES)", m[1], m[1], m[1])}
			}
		}
	}
	return nil
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

// header are the fields every kind accepts.
var header = []string{"name", "artifact", "title", "kind", "notes"}

// knownFields lists every field a spec of some kind may hold.
func knownFields() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range header {
		seen[f], out = true, append(out, f)
	}
	for _, name := range KindNames() {
		fields, _ := paramFields(Kinds()[name].Params())
		for _, f := range fields {
			if !seen[f] {
				seen[f], out = true, append(out, f)
			}
		}
	}
	return out
}

// topFields lists the spec's top-level fields, sorted.
func (s *Spec) topFields() []string {
	var top []string
	for p := range s.lines {
		if !strings.ContainsAny(p, ".[") {
			top = append(top, p)
		}
	}
	sort.Strings(top)
	return top
}

// checkKnown refuses a field no kind reads.
func (s *Spec) checkKnown() error {
	known := knownFields()
	for _, f := range s.topFields() {
		if !slices.Contains(known, f) {
			return s.errAt(f, "unknown field (known: %s)", strings.Join(known, ", "))
		}
	}
	return nil
}

// checkHeader checks the fields every spec has.
func (s *Spec) checkHeader() error {
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
	if _, ok := Kinds()[s.Kind]; !ok {
		return s.errAt("kind", "%q is not a kind: one of %s", s.Kind, strings.Join(KindNames(), ", "))
	}
	return nil
}

// checkFields requires the fields the kind needs and refuses the fields
// it does not read.
func (s *Spec) checkFields() error {
	fields, required := paramFields(s.Params)
	for _, f := range required {
		if !s.Has(f) {
			return s.errAt(f, "required by kind %s (missing)", s.Kind)
		}
	}
	for _, f := range s.topFields() {
		if !slices.Contains(header, f) && !slices.Contains(fields, f) {
			return s.errAt(f, "not used by kind %s (it reads %s)", s.Kind, strings.Join(fields, ", "))
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
