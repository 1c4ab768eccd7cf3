package report

import (
	"os"
	"path/filepath"
	"testing"
)

func TestExpandWhy(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "fig8"), 0o755); err != nil {
		t.Fatal(err)
	}
	ms := `{"top1": {"value": 58.03, "lo": 54.1, "hi": 61.7, "method": "bootstrap"}, "n": 7}`
	if err := os.WriteFile(filepath.Join(dir, "fig8", "measures.json"), []byte(ms), 0o644); err != nil {
		t.Fatal(err)
	}
	got := expandWhy("premodel {fig8/top1}% with {fig8/n} models; {fig8/gone} and {fig9/x}", dir)
	want := "premodel 58.03 [54.10, 61.70]% with 7 models; (not measured: fig8/gone) and (not measured: fig9/x)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestClaimsWhyRefsResolve: every {ARTIFACT/KEY} a claim's why names is a
// measure the committed results/ hold, so REPRODUCE.md never prints
// "(not measured: ...)" after make reproduce.
func TestClaimsWhyRefsResolve(t *testing.T) {
	claims, err := ReadClaims(filepath.Join("..", "experiments", "claims.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claims {
		for _, ref := range WhyRefs(c.Why) {
			ms := readMeasures(filepath.Join("..", "results", ref[0]))
			if v, ok := ms[ref[1]]; !ok || v == nil {
				t.Errorf("claim %s: why names {%s/%s}, which results/%s/measures.json does not hold", c.ID, ref[0], ref[1], ref[0])
			}
		}
	}
}
