package experiments

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMalformedSpecRejected: every malformed spec is refused by ParseSpec,
// before any stage runs, naming the file, the line and the field.
func TestMalformedSpecRejected(t *testing.T) {
	tp := newTiny(t)
	good := "name: bad\nartifact: Fig 5\ntitle: t\nkind: optimum-shares\nimages:\n  - dir: set\nmodels: models.yaml\n" +
		"latency: latency.yaml\ncriterion: top1\ntheta: 0.5\n"
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown field", good + "colour: red\n", "bad.yaml:11: field colour: unknown field"},
		{"wrong type", strings.Replace(good, "theta: 0.5", "theta: [0.5]", 1), "bad.yaml:10: field theta: cannot unmarshal"},
		{"wrong type in a list", strings.Replace(good, "  - dir: set", "  - dir: set\n    limit: ten", 1), "bad.yaml:7: field images[0].limit: cannot unmarshal"},
		{"missing input", strings.Replace(good, "criterion: top1\n", "", 1), "bad.yaml:1: field criterion: required by kind optimum-shares"},
		{"missing image folder", strings.Replace(good, "dir: set", "dir: nowhere", 1), "bad.yaml:6: field images[0].dir: image folder"},
		{"missing model spec", strings.Replace(good, "models: models.yaml", "models: none.yaml", 1), "bad.yaml:7: field models: model spec"},
		{"bad criterion", strings.Replace(good, "top1", "top3", 1), "bad.yaml:9: field criterion: \"top3\", want top1 or top5"},
		{"field the kind does not read", good + "folds: 10\n", "bad.yaml:11: field folds: not used by kind optimum-shares"},
		{"unknown kind", strings.Replace(good, "optimum-shares", "fig99", 1), "bad.yaml:4: field kind: \"fig99\" is not a kind"},
		{"name mismatch", strings.Replace(good, "name: bad", "name: other", 1), "bad.yaml:1: field name: \"other\" but the file is bad.yaml"},
		{"bad learner", "name: bad\nartifact: T3\nkind: correlation-filter\nimages:\n  - dir: set\nmodels: models.yaml\ncriterion: top1\n" +
			"learner: forest\nk: 5\nfolds: 3\nseed: 1\nthreshold: 0.75\ntolerance: 0.5\n", "bad.yaml:8: field learner:"},
		{"negative theta", strings.Replace(good, "theta: 0.5", "theta: -1", 1), "bad.yaml:10: field theta: -1, want >= 0"},
		{"bad latency file", strings.Replace(good, "latency: latency.yaml", "latency: models.yaml", 1), "bad.yaml:8: field latency:"},
		{"YAML syntax", good + "images: [\n", "bad.yaml:11: YAML syntax"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(tp.dir, "bad.yaml")
			writeText(t, p, c.yaml)
			_, err := ParseSpec(p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	// Nothing ran: the cache was never created.
	if _, err := os.Stat(tp.cache); err == nil {
		t.Error("a rejected spec created the pipeline cache")
	}
}

// TestParseAllJoinsErrors: reproduce checks every spec first and reports
// all the bad ones, ignoring claims.yaml.
func TestParseAllJoinsErrors(t *testing.T) {
	dir := t.TempDir()
	writeText(t, filepath.Join(dir, "one.yaml"), "name: one\nartifact: T2\nkind: feature-list\n")
	writeText(t, filepath.Join(dir, "two.yaml"), "name: two\nartifact: T2\nkind: feature-list\nfolds: 2\n")
	writeText(t, filepath.Join(dir, "three.yaml"), "name: three\nkind: feature-list\n")
	writeText(t, filepath.Join(dir, ClaimsFile), "claims: []\n")
	specs, err := ParseAll(dir)
	if err == nil || !strings.Contains(err.Error(), "two.yaml:4: field folds") || !strings.Contains(err.Error(), "three.yaml:1: field artifact") {
		t.Fatalf("errors: %v", err)
	}
	if len(specs) != 1 || specs[0].Name != "one" {
		t.Errorf("good specs: %v", specs)
	}
}

// TestRealSpecsParse: the repository's own specs are valid (they need the
// shared assets for their image folders).
func TestRealSpecsParse(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "shared", "assets", "images")); err != nil {
		t.Skip("no shared assets beside the checkout")
	}
	specs, err := ParseAll(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) < 15 {
		t.Errorf("only %d specs", len(specs))
	}
	for _, s := range specs {
		if k := Kinds()[s.Kind]; k.Run == nil && k.Pending == "" {
			t.Errorf("%s: kind %s cannot run", s.Name, s.Kind)
		}
	}
}
