package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// whyRef is a measured figure named inside a claim's why: {ARTIFACT/KEY}
// is replaced by results/ARTIFACT/measures.json's KEY as it was measured
// in this run, with its interval, so an explanation never quotes a number
// from another run.
var whyRef = regexp.MustCompile(`\{([a-z0-9-]+)/([A-Za-z0-9_.%-][A-Za-z0-9_.% -]*)\}`)

// WhyRefs lists the {ARTIFACT/KEY} references in a why text.
func WhyRefs(why string) [][2]string {
	var out [][2]string
	for _, m := range whyRef.FindAllStringSubmatch(why, -1) {
		out = append(out, [2]string{m[1], m[2]})
	}
	return out
}

// expandWhy replaces each reference by its measured value; one that is not
// measured reads "(not measured: ARTIFACT/KEY)".
func expandWhy(why, resultsDir string) string {
	cache := map[string]map[string]any{}
	return whyRef.ReplaceAllStringFunc(why, func(ref string) string {
		m := whyRef.FindStringSubmatch(ref)
		art, key := m[1], m[2]
		ms, ok := cache[art]
		if !ok {
			ms = readMeasures(filepath.Join(resultsDir, art))
			cache[art] = ms
		}
		v, ok := ms[key]
		if !ok || v == nil {
			return fmt.Sprintf("(not measured: %s/%s)", art, key)
		}
		if pm, err := ParseMeasure(v); err == nil {
			return showMeasured(pm)
		}
		return show(v)
	})
}

func readMeasures(dir string) map[string]any {
	var ms map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "measures.json"))
	if err != nil || json.Unmarshal(b, &ms) != nil {
		return nil
	}
	return ms
}
