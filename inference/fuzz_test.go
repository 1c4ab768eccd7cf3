package inference

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The fuzz targets' seeds are committed under testdata/fuzz/<target>; `go
// test` runs only those, `go test -fuzz=<target>` explores from them.

// FuzzParseSpec feeds arbitrary YAML to ParseSpec. It must return an error
// or a spec list that passes its own validation, never panic or hang
// (yaml.v3 bounds alias expansion).
func FuzzParseSpec(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tiny.onnx"), []byte("not parsed by ParseSpec"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(tinyYAML))
	f.Add([]byte(tinyYAML + "  - {name: t2, files: [tiny.onnx], input_size: 8, label_offset: 1, num_classes: 10}\n  - {name: c, members: [tiny, t2]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := ParseSpec(data, dir)
		if err != nil {
			return
		}
		if len(sf.Models) == 0 {
			t.Fatal("accepted a spec without models")
		}
		seen := map[string]bool{}
		for i := range sf.Models {
			s := &sf.Models[i]
			if err := s.Validate(); err != nil {
				t.Fatalf("accepted models[%d] that fails Validate: %v", i, err)
			}
			if seen[s.Name] {
				t.Fatalf("accepted duplicate name %q", s.Name)
			}
			seen[s.Name] = true
			_ = s.JSON()
		}
	})
}

// FuzzDecodeImage feeds arbitrary bytes through the image path of
// profiling: DecodeImage, then preprocessing for both resize families (Go
// bilinear and OpenCV) into float and uint8 tensors. Corrupt, truncated,
// empty and non-image inputs must give an error wrapping ErrDecode, never a
// panic or a process abort. The limit is lower than MaxPixels so a mutated
// header cannot make each run allocate hundreds of megabytes.
func FuzzDecodeImage(f *testing.F) {
	var preps []*preprocessor
	for _, s := range []Spec{
		{Name: "go", InputSize: 7, CropFraction: 0.875, Resize: ResizeBilinear, Layout: "NHWC", DType: "float32", ChannelOrder: "RGB", Std: [3]float64{1, 1, 1}, NumClasses: 10},
		{Name: "cv", InputSize: 5, CropFraction: 1, Resize: "area", Layout: "NCHW", DType: "uint8", ChannelOrder: "BGR", Std: [3]float64{1, 1, 1}, NumClasses: 10},
	} {
		p, err := newPreprocessor(s)
		if err != nil {
			f.Fatal(err)
		}
		defer p.close()
		preps = append(preps, p)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeImageMax(data, 1<<22)
		if err != nil {
			m.Close()
			if !errors.Is(err, ErrDecode) {
				t.Fatalf("error does not wrap ErrDecode: %v", err)
			}
			return
		}
		defer m.Close()
		if m.Empty() || m.Channels() != 3 {
			t.Fatalf("decoded to an unusable Mat: empty=%v channels=%d", m.Empty(), m.Channels())
		}
		fl := make([]float32, 7*7*3)
		if err := preps[0].fillFloat(m, fl); err != nil {
			t.Fatalf("preprocess a decoded image: %v", err)
		}
		u8 := make([]uint8, 5*5*3)
		if err := preps[1].fillUint8(m, u8); err != nil {
			t.Fatalf("preprocess a decoded image: %v", err)
		}
	})
}
