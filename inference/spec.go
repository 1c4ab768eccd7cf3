package inference

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/modelpick/modelpick/internal/settings"
)

// Spec declares one candidate classifier: where its files are and how an
// image must be prepared for it. A candidate may be a chain of files (the
// output of one feeds the next), as the shared MobileNet v1 1.0 is stored.
type Spec struct {
	Name  string   `yaml:"name" json:"name"`
	Files []string `yaml:"files" json:"files"` // .onnx, or .tflite imported to ONNX on load
	// InputSize is the square side the image is resized to (e.g. 224).
	InputSize int `yaml:"input_size" json:"input_size"`
	// Layout of the first file's input tensor: NHWC or NCHW.
	Layout string `yaml:"layout" json:"layout"`
	// DType of the first file's input tensor: float32 or uint8. Imported
	// TFLite models take float32 real values and quantise inside the graph
	// with the TFLite input tensor's own scale and zero point.
	DType string `yaml:"dtype" json:"dtype"`
	// Mean and Std normalise RGB pixels (0..255): x = (p - mean) / std.
	// uint8 inputs ignore them and receive raw pixels.
	Mean [3]float64 `yaml:"mean" json:"mean"`
	Std  [3]float64 `yaml:"std" json:"std"`
	// ChannelOrder of the input: RGB (TF/PyTorch models) or BGR (Caffe).
	ChannelOrder string `yaml:"channel_order" json:"channel_order"`
	// CropFraction is the central crop kept before resizing (TF-slim
	// evaluation uses 0.875); 1 keeps the whole image.
	CropFraction float64 `yaml:"crop_fraction" json:"crop_fraction"`
	// Resize is the interpolation: bilinear (default; half-pixel centres),
	// tf_bilinear (TF1 legacy), or OpenCV's area, nearest or bicubic.
	Resize string `yaml:"resize" json:"resize"`
	// LabelOffset is subtracted from output indices to get 0..NumClasses-1
	// (the shared TFLite models have a background class at index 0).
	LabelOffset int `yaml:"label_offset" json:"label_offset"`
	NumClasses  int `yaml:"num_classes" json:"num_classes"`
	// MMACs is informational (multiply-accumulates per image, millions);
	// a committee's is the sum of its members'.
	MMACs float64 `yaml:"mmacs,omitempty" json:"mmacs,omitempty"`

	// Members makes the entry a committee (committee.go): the names of
	// other models of the same spec file, whose probability vectors it
	// averages. A committee has no files or preprocessing of its own.
	Members []string `yaml:"members,omitempty" json:"members,omitempty"`
	// MemberSpecs are the members' specs, resolved by ParseSpec; they are
	// never written in YAML, and travel with the spec in JSON so a stored
	// committee names exactly what it averaged.
	MemberSpecs []Spec `yaml:"-" json:"member_specs,omitempty"`

	// dir is the folder of the spec file, for relative Files.
	dir string
}

// SpecFile is a YAML document listing candidate models.
type SpecFile struct {
	Path   string `yaml:"-" json:"-"`
	Models []Spec `yaml:"models" json:"models"`
}

// ParseSpecFile reads and validates a model spec file. Unknown fields, fields
// of the wrong type and invalid values are rejected with the file, line and
// field named, before any model is loaded.
func ParseSpecFile(path string) (*SpecFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model spec: %w", err)
	}
	sf, err := ParseSpec(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("model spec %s: %w", path, err)
	}
	sf.Path = path
	return sf, nil
}

// ParseSpec parses spec YAML; relative file paths resolve against dir.
// "${assets}" in a path expands to the shared-assets folder
// (settings.Assets()), and other ${VAR}s to environment variables.
func ParseSpec(data []byte, dir string) (*SpecFile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var sf SpecFile
	if err := dec.Decode(&sf); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty spec: want a `models:` list")
		}
		return nil, fmt.Errorf("%w (see models/ladder.yaml for the expected fields)", err)
	}
	if len(sf.Models) == 0 {
		return nil, errors.New("no models: want a non-empty `models:` list")
	}
	if err := nullMembers(data); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i := range sf.Models {
		s := &sf.Models[i]
		s.dir = dir
		if s.IsCommittee() {
			// Checked after every model is read: members may come later.
			if err := s.ownFieldsUnset(); err != nil {
				return nil, fmt.Errorf("models[%d] (%s): %w", i, s.Name, err)
			}
		} else {
			s.setDefaults()
			if err := s.Validate(); err != nil {
				return nil, fmt.Errorf("models[%d] (%s): %w", i, s.Name, err)
			}
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("models[%d]: duplicate name %q", i, s.Name)
		}
		seen[s.Name] = true
	}
	if err := resolveCommittees(sf.Models); err != nil {
		return nil, err
	}
	return &sf, nil
}

func (s *Spec) setDefaults() {
	if s.Layout == "" {
		s.Layout = "NHWC"
	}
	if s.DType == "" {
		s.DType = "float32"
	}
	if s.ChannelOrder == "" {
		s.ChannelOrder = "RGB"
	}
	if s.Resize == "" {
		s.Resize = "bilinear"
	}
	if s.CropFraction == 0 {
		s.CropFraction = 1
	}
	if s.Std == [3]float64{} {
		s.Std = [3]float64{1, 1, 1}
	}
	if s.NumClasses == 0 {
		s.NumClasses = 1000
	}
}

// Validate checks every field without touching the model files' contents
// (a committee: its members, each in full).
func (s *Spec) Validate() error {
	switch {
	case s.Name == "":
		return errors.New("field name: required")
	case strings.ContainsAny(s.Name, " \t\n,/"):
		return fmt.Errorf("field name: %q must not contain spaces, commas or slashes", s.Name)
	case s.IsCommittee():
		return s.validateCommittee()
	case len(s.Files) == 0:
		return errors.New("field files: at least one model file is required")
	case s.InputSize <= 0 || s.InputSize > 4096:
		return fmt.Errorf("field input_size: %d out of range 1..4096", s.InputSize)
	case s.Layout != "NHWC" && s.Layout != "NCHW":
		return fmt.Errorf("field layout: %q, want NHWC or NCHW", s.Layout)
	case s.DType != "float32" && s.DType != "uint8":
		return fmt.Errorf("field dtype: %q, want float32 or uint8", s.DType)
	case s.ChannelOrder != "RGB" && s.ChannelOrder != "BGR":
		return fmt.Errorf("field channel_order: %q, want RGB or BGR", s.ChannelOrder)
	case s.CropFraction <= 0 || s.CropFraction > 1:
		return fmt.Errorf("field crop_fraction: %g, want 0 < f <= 1", s.CropFraction)
	case s.LabelOffset < 0:
		return fmt.Errorf("field label_offset: %d must be >= 0", s.LabelOffset)
	case s.NumClasses <= 0:
		return fmt.Errorf("field num_classes: %d must be > 0", s.NumClasses)
	}
	if _, err := interpolation(s.Resize); err != nil {
		return fmt.Errorf("field resize: %w", err)
	}
	for c, v := range s.Std {
		if v == 0 {
			return fmt.Errorf("field std[%d]: must not be 0", c)
		}
	}
	for i, f := range s.Files {
		p := s.FilePath(i)
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".onnx" && ext != ".tflite" {
			return fmt.Errorf("field files[%d]: %s: want a .onnx or .tflite file", i, f)
		}
		if st, err := os.Stat(p); err != nil {
			return fmt.Errorf("field files[%d]: %w (set %s or fix the path)", i, err, settings.EnvAssets)
		} else if st.IsDir() {
			return fmt.Errorf("field files[%d]: %s is a folder, want a model file", i, p)
		}
	}
	return nil
}

// FilePath is the resolved path of Files[i].
func (s *Spec) FilePath(i int) string {
	p := os.Expand(s.Files[i], func(k string) string {
		if k == "assets" {
			return settings.Assets()
		}
		return os.Getenv(k)
	})
	if !filepath.IsAbs(p) && s.dir != "" {
		p = filepath.Join(s.dir, p)
	}
	return filepath.Clean(p)
}

// FilePaths are the resolved paths of every file the model runs: its own
// Files, or a committee's members' files in member order.
func (s *Spec) FilePaths() []string {
	if s.IsCommittee() {
		var ps []string
		for i := range s.MemberSpecs {
			ps = append(ps, s.MemberSpecs[i].FilePaths()...)
		}
		return ps
	}
	ps := make([]string, len(s.Files))
	for i := range s.Files {
		ps[i] = s.FilePath(i)
	}
	return ps
}

// FilesSHA256 hashes each model file, joined as "sha1,sha2" in file order
// (a committee: its members' files in member order); stored with every
// profile so a changed file is never mixed with old rows.
func (s *Spec) FilesSHA256() (string, error) {
	if s.IsCommittee() {
		sums := make([]string, len(s.MemberSpecs))
		for i := range s.MemberSpecs {
			sum, err := s.MemberSpecs[i].FilesSHA256()
			if err != nil {
				return "", err
			}
			sums[i] = sum
		}
		return strings.Join(sums, ","), nil
	}
	sums := make([]string, len(s.Files))
	for i := range s.Files {
		sum, err := fileSHA256(s.FilePath(i))
		if err != nil {
			return "", err
		}
		sums[i] = sum
	}
	return strings.Join(sums, ","), nil
}

// JSON is the canonical JSON of the spec (stored beside its profiles).
func (s *Spec) JSON() string {
	b, _ := json.Marshal(s) // a struct of plain fields cannot fail to marshal
	return string(b)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
