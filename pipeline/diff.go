package pipeline

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// maxDiffs is how many differences a verify record keeps.
const maxDiffs = 20

// Diff is one field that differs between a cached output and a re-run.
type Diff struct {
	// Path is the field, e.g. "costs[2].mean_ms"; "" is the whole value.
	Path   string `json:"path"`
	Cached string `json:"cached"`
	Now    string `json:"now"`
	// Volatile says the field is a declared measurement.
	Volatile bool `json:"volatile"`
}

func (d Diff) String() string {
	kind := "DIFFERS"
	if d.Volatile {
		kind = "varies (measurement)"
	}
	p := d.Path
	if p == "" {
		p = "(output)"
	}
	return fmt.Sprintf("%s %s: cached %s, now %s", p, kind, d.Cached, d.Now)
}

// Compare lists the fields in which two JSON outputs differ, files compared
// by identity, sorted by path; volatile holds the stage's Volatile patterns.
func Compare(cached, now []byte, volatile []string) ([]Diff, error) {
	a, err := decode(cached)
	if err != nil {
		return nil, fmt.Errorf("cached output: %w", err)
	}
	b, err := decode(now)
	if err != nil {
		return nil, fmt.Errorf("new output: %w", err)
	}
	var out []Diff
	diffValues("", identities(a), identities(b), &out)
	for i := range out {
		out[i].Volatile = isVolatile(out[i].Path, volatile)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func diffValues(path string, a, b any, out *[]Diff) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		for k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffValues(p, x[k], y[k], out)
		}
		return
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			diffValues(fmt.Sprintf("%s[%d]", path, i), x[i], y[i], out)
		}
		return
	}
	sa, sb := text(a), text(b)
	if sa != sb {
		*out = append(*out, Diff{Path: path, Cached: shorten(sa), Now: shorten(sb)})
	}
}

func text(v any) string {
	if v == nil {
		return "(absent)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

var index = regexp.MustCompile(`\[[0-9]+\]`)

// isVolatile reports whether path is, or lies below, one of the patterns
// ("[*]" matches any index).
func isVolatile(path string, patterns []string) bool {
	p := index.ReplaceAllString(path, "[*]")
	for _, pat := range patterns {
		if p == pat || strings.HasPrefix(p, pat+".") || strings.HasPrefix(p, pat+"[") {
			return true
		}
	}
	return false
}
