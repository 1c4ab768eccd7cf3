package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Claim is one statement of the paper and how we check it.
type Claim struct {
	ID string `yaml:"id"`
	// Artifact is the experiment (results/ARTIFACT) that measures it.
	Artifact string `yaml:"artifact"`
	Claim    string `yaml:"claim"`
	// Paper is the paper's value or statement as shown to readers, and
	// Source where in the paper it is (and how sure the number is).
	Paper  string `yaml:"paper"`
	Source string `yaml:"source"`
	// Measure is the key in results/ARTIFACT/measures.json.
	Measure string `yaml:"measure"`
	// Compare is how ours is compared with Expect: equal, abs, rel,
	// at_least, at_most.
	Compare string `yaml:"compare"`
	Expect  any    `yaml:"expect"`
	// Tolerance widens the comparison: within it the status is "within
	// tolerance"; Exact (default 0) is the band counted as reproduced.
	Tolerance float64 `yaml:"tolerance"`
	Exact     float64 `yaml:"exact"`
	// Why explains the expected differences (hardware, models, data).
	Why string `yaml:"why"`
}

// Claim statuses.
const (
	Reproduced      = "reproduced"
	WithinTolerance = "within tolerance"
	Deviates        = "deviates"
	NotAttempted    = "not attempted"
)

// ClaimsFile is experiments/claims.yaml.
type ClaimsFile struct {
	Claims []Claim `yaml:"claims"`
}

// ReadClaims reads and checks a claims file (unknown fields rejected).
func ReadClaims(path string) ([]Claim, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f ClaimsFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("claims %s: %w", path, err)
	}
	seen := map[string]bool{}
	for i, c := range f.Claims {
		where := fmt.Sprintf("claims %s: claims[%d] (%s)", path, i, c.ID)
		switch {
		case c.ID == "" || seen[c.ID]:
			return nil, fmt.Errorf("%s: id empty or repeated", where)
		case c.Artifact == "" || c.Claim == "" || c.Paper == "" || c.Measure == "":
			return nil, fmt.Errorf("%s: artifact, claim, paper and measure are required", where)
		}
		switch c.Compare {
		case "equal", "abs", "rel", "at_least", "at_most":
		default:
			return nil, fmt.Errorf("%s: compare %q, want equal, abs, rel, at_least or at_most", where, c.Compare)
		}
		if c.Compare != "equal" {
			if _, ok := number(c.Expect); !ok {
				return nil, fmt.Errorf("%s: compare %s needs a numeric expect, got %v", where, c.Compare, c.Expect)
			}
		}
		seen[c.ID] = true
	}
	return f.Claims, nil
}

// ClaimResult is a claim with our value and its status.
type ClaimResult struct {
	Claim
	Ours   string
	Status string
	// Reason says why a claim was not attempted.
	Reason string
}

// Evaluate compares every claim with the measures in resultsDir.
func Evaluate(claims []Claim, resultsDir string) []ClaimResult {
	var out []ClaimResult
	for _, c := range claims {
		out = append(out, evaluate(c, resultsDir))
	}
	return out
}

func evaluate(c Claim, resultsDir string) ClaimResult {
	r := ClaimResult{Claim: c, Status: NotAttempted}
	dir := filepath.Join(resultsDir, c.Artifact)
	var st struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "status.json")); err != nil {
		r.Reason = "no results: run " + c.Artifact
		return r
	} else if json.Unmarshal(b, &st) == nil && st.Status != "done" {
		r.Reason = st.Reason
		return r
	}
	var ms map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "measures.json"))
	if err != nil || json.Unmarshal(b, &ms) != nil {
		r.Reason = "no measures.json in " + dir
		return r
	}
	v, ok := ms[c.Measure]
	if !ok || v == nil {
		r.Reason = "not measured: " + c.Measure
		return r
	}
	r.Ours = show(v)
	if c.Compare == "equal" {
		if equalValues(v, c.Expect) {
			r.Status = Reproduced
		} else {
			r.Status = Deviates
		}
		return r
	}
	ours, ok := number(v)
	want, _ := number(c.Expect)
	if !ok {
		r.Status, r.Reason = NotAttempted, fmt.Sprintf("measure %s is not a number: %v", c.Measure, v)
		return r
	}
	var dev float64 // how far ours is on the wrong side (0 when it holds)
	switch c.Compare {
	case "abs":
		dev = math.Abs(ours - want)
	case "rel":
		dev = math.Abs(ours/want - 1)
	case "at_least":
		dev = math.Max(0, want-ours)
	case "at_most":
		dev = math.Max(0, ours-want)
	}
	const eps = 1e-9
	switch {
	case dev <= c.Exact+eps:
		r.Status = Reproduced
	case dev <= c.Tolerance+eps:
		r.Status = WithinTolerance
	default:
		r.Status = Deviates
	}
	return r
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// equalValues compares a JSON value with a YAML one (numbers by value,
// lists element-wise).
func equalValues(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	if av.Kind() == reflect.Slice && bv.Kind() == reflect.Slice {
		if av.Len() != bv.Len() {
			return false
		}
		for i := 0; i < av.Len(); i++ {
			if !equalValues(av.Index(i).Interface(), bv.Index(i).Interface()) {
				return false
			}
		}
		return true
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// show formats a measure for a table.
func show(v any) string {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e9 {
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		return strconv.FormatFloat(x, 'f', 2, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e)
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}
