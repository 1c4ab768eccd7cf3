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

// Claim is one statement of the paper and how we check it, or why it
// cannot be checked here.
type Claim struct {
	ID string `yaml:"id"`
	// Artifact is the experiment (results/ARTIFACT) that measures it.
	Artifact string `yaml:"artifact"`
	// Criterion is the success criterion the claim rests on: top1, top5,
	// or empty when it rests on neither (features, latency ratios).
	Criterion string `yaml:"criterion"`
	Claim     string `yaml:"claim"`
	// Section is where the paper says it, in the paper's own numbering
	// (../shared/paper), and Quote its words exactly; "..." joins pieces.
	Section string `yaml:"section"`
	Quote   string `yaml:"quote"`
	// Paper is the paper's value as shown to readers.
	Paper string `yaml:"paper"`
	// Measure is the key in results/ARTIFACT/measures.json.
	Measure string `yaml:"measure"`
	// Compare is how ours is compared with Expect: equal, abs, rel,
	// at_least, at_most, or between (Expect is [lo, hi]).
	Compare string `yaml:"compare"`
	Expect  any    `yaml:"expect"`
	// Tolerance widens the band in which the claim holds (see Band).
	Tolerance float64 `yaml:"tolerance"`
	// Contradiction is where the paper says otherwise elsewhere.
	Contradiction string `yaml:"contradiction"`
	// Why explains a difference with a measured figure; {ARTIFACT/KEY}
	// names one (see expandWhy), so it is this run's.
	Why string `yaml:"why"`
	// NotComparable, when set, says why this project cannot check the
	// claim; such a claim has no artifact or measure.
	NotComparable string `yaml:"not_comparable"`
	// BeyondPaper marks our own questions, which quote nothing.
	BeyondPaper bool `yaml:"beyond_paper"`
}

// Claim statuses. A claim holds when its measure lies in the claim's band
// (Band): reproduced when the measure's interval lies within the band,
// deviates when it lies wholly outside, inconclusive when it straddles a
// bound. A measure without an interval is decided on its value alone
// (reproduced or deviates, shown as "no interval").
const (
	Reproduced    = "reproduced"
	Inconclusive  = "inconclusive"
	Deviates      = "deviates"
	NotAttempted  = "not attempted"
	NotComparable = "not comparable"
)

// Statuses lists them in the order reports tally them.
var Statuses = []string{Reproduced, Inconclusive, Deviates, NotAttempted, NotComparable}

// ClaimsFile is experiments/claims.yaml.
type ClaimsFile struct {
	// Setting is where the paper's numbers come from, as figures label
	// them beside ours.
	Setting PaperSetting `yaml:"setting"`
	Claims  []Claim      `yaml:"claims"`
}

// PaperSetting names the paper's platform and models in a few words
// (Label), with the section and quote that say so.
type PaperSetting struct {
	Label   string `yaml:"label"`
	Section string `yaml:"section"`
	Quote   string `yaml:"quote"`
}

// ReadClaims reads and checks a claims file (unknown fields rejected).
func ReadClaims(path string) ([]Claim, error) {
	f, err := ReadClaimsFile(path)
	return f.Claims, err
}

// ReadClaimsFile reads and checks a claims file, setting included.
func ReadClaimsFile(path string) (ClaimsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ClaimsFile{}, fmt.Errorf("claims: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f ClaimsFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return ClaimsFile{}, fmt.Errorf("claims %s: %w", path, err)
	}
	if st := f.Setting; st != (PaperSetting{}) && (st.Label == "" || st.Section == "" || st.Quote == "") {
		return ClaimsFile{}, fmt.Errorf("claims %s: setting needs label, section and quote", path)
	}
	seen := map[string]bool{}
	for i, c := range f.Claims {
		where := fmt.Sprintf("claims %s: claims[%d] (%s)", path, i, c.ID)
		if c.ID == "" || seen[c.ID] {
			return ClaimsFile{}, fmt.Errorf("%s: id empty or repeated", where)
		}
		seen[c.ID] = true
		if err := c.check(); err != nil {
			return ClaimsFile{}, fmt.Errorf("%s: %w", where, err)
		}
	}
	return f, nil
}

func (c Claim) check() error {
	switch c.Criterion {
	case "", "top1", "top5":
	default:
		return fmt.Errorf("criterion %q, want top1, top5 or none", c.Criterion)
	}
	if c.Claim == "" {
		return fmt.Errorf("claim is required")
	}
	if c.NotComparable != "" {
		if c.BeyondPaper || c.Measure != "" || c.Compare != "" || c.Expect != nil {
			return fmt.Errorf("a not_comparable claim has no measure, compare or expect and is the paper's (not beyond_paper)")
		}
		return nil
	}
	if c.Artifact == "" || c.Paper == "" || c.Measure == "" {
		return fmt.Errorf("artifact, paper and measure are required (or not_comparable with the reason)")
	}
	if c.Tolerance < 0 {
		return fmt.Errorf("tolerance %v is negative", c.Tolerance)
	}
	switch c.Compare {
	case "equal":
		return nil
	case "abs", "rel", "at_least", "at_most":
		if _, ok := number(c.Expect); !ok {
			return fmt.Errorf("compare %s needs a numeric expect, got %v", c.Compare, c.Expect)
		}
		return nil
	case "between":
		if lo, hi, ok := pair(c.Expect); !ok || lo > hi {
			return fmt.Errorf("compare between needs expect [lo, hi] with lo <= hi, got %v", c.Expect)
		}
		return nil
	}
	return fmt.Errorf("compare %q, want equal, abs, rel, at_least, at_most or between", c.Compare)
}

// Band is the range of values for which a numeric claim holds:
//
//	equal     [e, e]
//	abs       [e - tol, e + tol]
//	rel       [e(1 - tol), e(1 + tol)]
//	at_least  [e - tol, +inf)
//	at_most   (-inf, e + tol]
//	between   [lo - tol, hi + tol]
//
// ok is false for a non-numeric expect (compared by equality).
func Band(c Claim) (lo, hi float64, ok bool) {
	if c.Compare == "between" {
		a, b, ok := pair(c.Expect)
		return a - c.Tolerance, b + c.Tolerance, ok
	}
	e, ok := number(c.Expect)
	if !ok {
		return 0, 0, false
	}
	t := c.Tolerance
	switch c.Compare {
	case "abs":
		return e - t, e + t, true
	case "rel":
		a, b := e*(1-t), e*(1+t)
		return math.Min(a, b), math.Max(a, b), true
	case "at_least":
		return e - t, math.Inf(1), true
	case "at_most":
		return math.Inf(-1), e + t, true
	}
	return e, e, true // equal
}

// Decide gives the status of an estimate [lo, hi] against a band: within
// it reproduced, wholly outside deviates, else inconclusive. A point value
// is an estimate with lo = hi.
func Decide(bandLo, bandHi, lo, hi float64) string {
	const eps = 1e-9
	switch {
	case lo >= bandLo-eps && hi <= bandHi+eps:
		return Reproduced
	case hi < bandLo-eps || lo > bandHi+eps:
		return Deviates
	}
	return Inconclusive
}

// Interval is a measured value with its uncertainty. measures.json holds
// it as {"value": x, "lo": a, "hi": b, "method": "..."}; a plain number,
// string, list or object without "value" is a value without interval.
type Interval struct {
	Value float64 `json:"value"`
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	// Method says how the interval was computed (e.g. "paired bootstrap
	// over the test images, 2000 resamples, seed 1").
	Method string `json:"method"`
}

// Measured is one entry of measures.json.
type Measured struct {
	Value any
	// Interval is nil when the measure carries none.
	Interval *Interval
}

// ParseMeasure reads one measures.json value.
func ParseMeasure(v any) (Measured, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Measured{Value: v}, nil
	}
	val, ok := m["value"]
	if !ok {
		return Measured{Value: v}, nil // an object measure (e.g. counts by kind)
	}
	x, isNum := number(val)
	lo, hasLo := m["lo"]
	hi, hasHi := m["hi"]
	if !hasLo && !hasHi {
		return Measured{Value: val}, nil
	}
	l, okL := number(lo)
	h, okH := number(hi)
	if !isNum || !okL || !okH {
		return Measured{}, fmt.Errorf("an interval needs numeric value, lo and hi, got %v", v)
	}
	if l > x || x > h {
		return Measured{}, fmt.Errorf("interval [%v, %v] does not hold its value %v", l, h, x)
	}
	method, _ := m["method"].(string)
	return Measured{Value: x, Interval: &Interval{Value: x, Lo: l, Hi: h, Method: method}}, nil
}

// ClaimResult is a claim with our value and its status.
type ClaimResult struct {
	Claim
	// Ours is the measure; nil when none was read.
	Ours   *Measured
	Status string
	// Reason says why a claim was not attempted or is not comparable.
	Reason string
}

// NoInterval reports a status decided on a value without an interval.
func (r ClaimResult) NoInterval() bool {
	return r.Ours != nil && r.Ours.Interval == nil && (r.Status == Reproduced || r.Status == Deviates)
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
	c.Why = expandWhy(c.Why, resultsDir)
	if c.NotComparable != "" {
		return ClaimResult{Claim: c, Status: NotComparable, Reason: c.NotComparable}
	}
	r := ClaimResult{Claim: c, Status: NotAttempted}
	dir := filepath.Join(resultsDir, c.Artifact)
	var st struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "status.json")); err != nil {
		r.Reason = fmt.Sprintf("no results: run %s (measure %s)", c.Artifact, c.Measure)
		return r
	} else if json.Unmarshal(b, &st) == nil && st.Status != "done" {
		r.Reason = fmt.Sprintf("%s %s: %s", c.Artifact, st.Status, st.Reason)
		return r
	}
	ms := readMeasures(dir)
	if ms == nil {
		r.Reason = "no readable measures.json in " + dir
		return r
	}
	v, ok := ms[c.Measure]
	if !ok || v == nil {
		r.Reason = fmt.Sprintf("measure %s not produced by %s", c.Measure, c.Artifact)
		return r
	}
	m, err := ParseMeasure(v)
	if err != nil {
		r.Reason = fmt.Sprintf("measure %s of %s: %v", c.Measure, c.Artifact, err)
		return r
	}
	r.Ours = &m
	lo, hi, numeric := Band(c)
	if !numeric { // a name, a list, true/false: equal or not
		if equalValues(m.Value, c.Expect) {
			r.Status = Reproduced
		} else {
			r.Status = Deviates
		}
		return r
	}
	x, ok := number(m.Value)
	if !ok {
		r.Ours, r.Reason = nil, fmt.Sprintf("measure %s of %s is not a number: %v", c.Measure, c.Artifact, m.Value)
		return r
	}
	ivLo, ivHi := x, x
	if m.Interval != nil {
		ivLo, ivHi = m.Interval.Lo, m.Interval.Hi
	}
	r.Status = Decide(lo, hi, ivLo, ivHi)
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

// pair reads a two-number list (between's expect).
func pair(v any) (lo, hi float64, ok bool) {
	l, isList := v.([]any)
	if !isList || len(l) != 2 {
		return 0, 0, false
	}
	a, okA := number(l[0])
	b, okB := number(l[1])
	return a, b, okA && okB
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
		if math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
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
		if m, err := ParseMeasure(x); err == nil && m.Interval != nil {
			return showMeasured(m)
		}
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

// showMeasured formats a value with its interval, "x [lo, hi]".
func showMeasured(m Measured) string {
	if m.Interval == nil {
		return show(m.Value)
	}
	return fmt.Sprintf("%s [%s, %s]", show(m.Interval.Value), show(m.Interval.Lo), show(m.Interval.Hi))
}
