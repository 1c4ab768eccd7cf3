package committee

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/inference"
)

// Rule states how Select chooses committees; it is written into the
// generated spec and result so neither needs this code to be read.
const Rule = "among the single models and every committee of k distinct single models for each size k given, " +
	"keep a committee when no other of them has top-1 on the training images at least as high and estimated cost at most as low, " +
	"one of the two strictly (the accuracy/cost Pareto front; singles and every size compete, so a committee no better than a cheaper model or committee is left out). " +
	"Top-1 is exact, from the cached full probability vectors averaged as the committee model averages them; " +
	"the estimated cost is the sum of the members' mean latencies in the training store, used only to rank: " +
	"a chosen committee's own cost is measured when it is profiled."

// Candidate is a single model or a committee scored on the training set.
type Candidate struct {
	Name    string   `json:"name"`
	Members []string `json:"members"` // one name for a single model
	Top1    float64  `json:"top1"`    // fraction of the training images
	Top5    float64  `json:"top5"`
	// CostMS is a single model's measured mean latency, or the sum of a
	// committee's members' (an estimate, for this rule only).
	CostMS      float64 `json:"cost_ms"`
	Chosen      bool    `json:"chosen"`
	DominatedBy string  `json:"dominated_by,omitempty"`
}

// Selection is the rule's outcome with everything it read.
type Selection struct {
	Rule       string      `json:"rule"`
	Sizes      []int       `json:"sizes"`
	Dataset    string      `json:"dataset"`
	Images     int         `json:"images"`
	Candidates []Candidate `json:"candidates"`
	// CostThreads is the thread count the costs were measured at.
	CostThreads int `json:"cost_threads"`
	// Inputs are set by the caller: the spec, the cost store, the cached
	// vectors' keys, the command.
	Inputs map[string]any `json:"inputs"`
}

// Chosen are the chosen committees in candidate order.
func (s *Selection) Chosen() []Candidate {
	var out []Candidate
	for _, c := range s.Candidates {
		if c.Chosen {
			out = append(out, c)
		}
	}
	return out
}

// CommitteeName is the generated name of a committee: its members joined
// by "+", in spec order.
func CommitteeName(members []string) string { return strings.Join(members, "+") }

// Select scores the single models (probs, in spec order) and every
// committee of each size in sizes on the training vectors, with costMS the
// singles' measured mean latencies, and marks the committees Rule keeps.
func Select(probs []*Probs, costMS map[string]float64, sizes []int) (*Selection, error) {
	if err := sameImages(probs); err != nil {
		return nil, fmt.Errorf("select committees: %w", err)
	}
	for _, p := range probs {
		if _, ok := costMS[p.Model]; !ok {
			return nil, fmt.Errorf("select committees: no measured cost for %s", p.Model)
		}
	}
	if len(sizes) == 0 {
		return nil, errors.New("select committees: no committee sizes")
	}
	for i, k := range sizes {
		if slices.Contains(sizes[:i], k) {
			return nil, fmt.Errorf("select committees: size %d given twice", k)
		}
		if k < 2 || k > len(probs) {
			return nil, fmt.Errorf("select committees: size %d: want 2..%d (the number of single models)", k, len(probs))
		}
	}
	sel := &Selection{Rule: Rule, Sizes: slices.Clone(sizes), Dataset: probs[0].Dataset}
	score := func(members []string) (Candidate, error) {
		t, err := NewTrace(probs, members)
		if err != nil {
			return Candidate{}, err
		}
		sel.Images = len(t.Files)
		c := Candidate{Name: CommitteeName(members), Members: slices.Clone(members)}
		c.Top1, c.Top5 = t.Accuracy(len(members) - 1)
		for _, m := range members {
			c.CostMS += costMS[m]
		}
		return c, nil
	}
	var singles []Candidate
	for _, p := range probs {
		c, err := score([]string{p.Model})
		if err != nil {
			return nil, fmt.Errorf("select committees: %w", err)
		}
		singles = append(singles, c)
	}
	sel.Candidates = append(sel.Candidates, singles...)
	all := make([]string, len(probs))
	for i, p := range probs {
		all[i] = p.Model
	}
	for _, k := range sizes {
		for _, members := range combinations(all, k) {
			c, err := score(members)
			if err != nil {
				return nil, fmt.Errorf("select committees: %w", err)
			}
			sel.Candidates = append(sel.Candidates, c)
		}
	}
	for i := len(singles); i < len(sel.Candidates); i++ {
		c := &sel.Candidates[i]
		c.DominatedBy = dominator(*c, sel.Candidates)
		c.Chosen = c.DominatedBy == ""
	}
	return sel, nil
}

// dominator names the most accurate candidate of pool that dominates c,
// or "" when none does.
func dominator(c Candidate, pool []Candidate) string {
	best := -1
	for i, o := range pool {
		if o.Name == c.Name {
			continue
		}
		if o.Top1 >= c.Top1 && o.CostMS <= c.CostMS && (o.Top1 > c.Top1 || o.CostMS < c.CostMS) {
			if best < 0 || o.Top1 > pool[best].Top1 {
				best = i
			}
		}
	}
	if best < 0 {
		return ""
	}
	return pool[best].Name
}

// combinations lists every k-subset of names, each in the order of names,
// in lexicographic order of positions.
func combinations(names []string, k int) [][]string {
	var out [][]string
	idx := make([]int, k)
	var rec func(start, depth int)
	rec = func(start, depth int) {
		if depth == k {
			c := make([]string, k)
			for i, j := range idx {
				c[i] = names[j]
			}
			out = append(out, c)
			return
		}
		for j := start; j <= len(names)-(k-depth); j++ {
			idx[depth] = j
			rec(j+1, depth+1)
		}
	}
	rec(0, 0)
	return out
}

// WriteSpec writes the single models' spec file src, unchanged, with the
// chosen committees appended after a header stating the command, the rule
// and its inputs, then reads the result back as a spec to check it. The
// source's `models:` list must be its last top-level key.
func (s *Selection) WriteSpec(src, dst string, header []string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("committee spec: %w", err)
	}
	sf, err := inference.ParseSpec(data, filepath.Dir(src))
	if err != nil {
		return fmt.Errorf("committee spec: source %s: %w", src, err)
	}
	for _, m := range sf.Models {
		if m.IsCommittee() {
			return fmt.Errorf("committee spec: source %s already has committee %s: give the spec of the single models alone", src, m.Name)
		}
	}
	var b bytes.Buffer
	for _, h := range header {
		fmt.Fprintf(&b, "# %s\n", h)
	}
	b.WriteString("#\n")
	b.Write(bytes.TrimRight(data, "\n"))
	fmt.Fprintf(&b, "\n\n  # Committees chosen by the rule above (%d of %d considered).\n", len(s.Chosen()), len(s.Candidates)-len(sf.Models))
	for _, c := range s.Chosen() {
		fmt.Fprintf(&b, "  # %s: top-1 %.1f%%, top-5 %.1f%% on %s (%d images); estimated cost %.2f ms\n",
			c.Name, 100*c.Top1, 100*c.Top5, s.Dataset, s.Images, c.CostMS)
		fmt.Fprintf(&b, "  - name: %s\n    members: [%s]\n", c.Name, strings.Join(c.Members, ", "))
	}
	out := b.Bytes()
	if _, err := inference.ParseSpec(out, filepath.Dir(dst)); err != nil {
		return fmt.Errorf("committee spec: the written spec would not parse in %s (is `models:` the source's last key, are its paths absolute or ${assets}?): %w", filepath.Dir(dst), err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("committee spec: %w", err)
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		return fmt.Errorf("committee spec: %w", err)
	}
	return nil
}

// WriteJSON writes the selection with every candidate and its inputs.
func (s *Selection) WriteJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("committee selection: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("committee selection: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
