package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/inference"
)

// committeeSpecs writes two dummy model files (only hashed and copied
// here, never run) and a spec with the two models and a committee of
// them.
func committeeSpecs(t *testing.T, dir string) []inference.Spec {
	t.Helper()
	for _, m := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, m+".onnx"), []byte("not really onnx: "+m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sf, err := inference.ParseSpec([]byte(`models:
  - {name: a, files: [a.onnx], input_size: 8, label_offset: 1, num_classes: 10}
  - {name: b, files: [b.onnx], input_size: 8, label_offset: 1, num_classes: 10}
  - {name: a+b, members: [a, b]}
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	return sf.Models
}

// TestCommitteeModel writes a bundle whose models are a committee alone
// (its members are no models of the bundle) and a committee beside one of
// its members: the members' files are copied once, listed and hashed, the
// committee's spec reads back with its members, and a changed member file
// is refused.
func TestCommitteeModel(t *testing.T) {
	src := t.TempDir()
	specs := committeeSpecs(t, src)
	sha, err := specs[2].FilesSHA256()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		specs []inference.Spec
	}{{"alone", specs[2:]}, {"beside a member", []inference.Spec{specs[0], specs[2]}}} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bundle")
			var names []string
			for _, s := range c.specs {
				names = append(names, s.Name)
			}
			if err := Write(dir, Contents{Manifest: Manifest{Router: "test"}, Specs: c.specs, Profiled: map[string]string{"a+b": sha}}); err != nil {
				t.Fatal(err)
			}
			b, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, f := range b.Manifest.Files {
				paths = append(paths, f.Path)
			}
			if want := []string{"models/a/a.onnx", "models/b/b.onnx"}; !slices.Equal(paths, want) {
				t.Errorf("bundle files %v, want %v (each member's once)", paths, want)
			}
			got, err := b.Specs(names)
			if err != nil {
				t.Fatal(err)
			}
			com := got[len(got)-1]
			if !com.IsCommittee() || !slices.Equal(com.Members, []string{"a", "b"}) || len(com.MemberSpecs) != 2 {
				t.Fatalf("committee read back as %+v", com)
			}
			if s, err := com.FilesSHA256(); err != nil || s != sha {
				t.Errorf("committee files hash %q (%v), want %q", s, err, sha)
			}
			for _, p := range com.FilePaths() {
				if !strings.HasPrefix(p, dir) {
					t.Errorf("member file %s is outside the bundle", p)
				}
			}
			// A member's file changed after training is refused, by name.
			if err := os.WriteFile(filepath.Join(dir, "models", "b", "b.onnx"), []byte("changed"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Open(dir)
			if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "models/b/b.onnx") || !strings.Contains(err.Error(), "retrain") {
				t.Errorf("changed member file: %v", err)
			}
		})
	}
	// Files the store profiled under the committee's name must be its
	// members'.
	err = Write(filepath.Join(t.TempDir(), "bundle"), Contents{Specs: specs[2:], Profiled: map[string]string{"a+b": "other"}, Store: "s.db"})
	if err == nil || !strings.Contains(err.Error(), "not the ones profiled in store s.db") {
		t.Errorf("committee profiled with other files: %v", err)
	}
}
