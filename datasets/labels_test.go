package datasets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, want string }{
		{"n01440764 tench, Tinca tinca\nn01443537 goldfish\n", "tench, Tinca tinca|goldfish"},
		{"background\ntench, Tinca tinca\ngoldfish\n", "tench, Tinca tinca|goldfish"},
		{"cat\ndog", "cat|dog"},
	} {
		p := filepath.Join(dir, "l.txt")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadLabels(p)
		if err != nil || strings.Join(got, "|") != c.want {
			t.Errorf("%q: %v %v", c.text, got, err)
		}
	}
	p := filepath.Join(dir, "gap.txt")
	_ = os.WriteFile(p, []byte("a\n\nb\n"), 0o644)
	if _, err := ReadLabels(p); err == nil {
		t.Error("blank line accepted")
	}
}
