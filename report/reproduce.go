package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
)

// manifestView is the part of an experiment's manifest.json the report reads.
type manifestView struct {
	Name           string   `json:"name"`
	Artifact       string   `json:"artifact"`
	Title          string   `json:"title"`
	Command        string   `json:"command"`
	ComputedAt     string   `json:"computed_at"`
	ComputeSeconds float64  `json:"compute_seconds"`
	Figures        []string `json:"figures"`
	Stages         []struct {
		Stage          string  `json:"stage"`
		ComputeSeconds float64 `json:"compute_seconds"`
	} `json:"stages"`
	Platform struct {
		CPUModel string `json:"cpu_model"`
		Cores    int    `json:"cores"`
	} `json:"platform"`
}

type statusView struct {
	Name     string `json:"name"`
	Artifact string `json:"artifact"`
	Title    string `json:"title"`
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	Command  string `json:"command"`
}

// Reproduce renders the REPRODUCE.md template (text/template) with
// results from resultsDir and the claims. Figure and result links are
// written relative to the repository root, where REPRODUCE.md lives.
//
// Template functions:
//
//	section NAME CAPTION...
//	                 the artifact's block: command and time, our table and
//	                 figures, its claims with the paper's value and status;
//	                 one caption per figure, in the order the experiment
//	                 draws them, printed under it (a done section whose
//	                 figures and captions do not pair up is an error)
//	claims           every claim this project checks, in one table
//	notcomparable    the paper's claims it cannot check, with the reason
//	tally            how many claims have each status, by criterion
//	timings          every experiment's status, compute time and command
//	measure NAME KEY one measured value with its interval ("n/a" when absent)
func Reproduce(tmplText, resultsDir string, claims []Claim) (string, error) {
	results := Evaluate(claims, resultsDir)
	funcs := template.FuncMap{
		"section": func(name string, captions ...string) (string, error) {
			return section(resultsDir, name, captions, results)
		},
		"claims":        func() string { return claimsTable(results, true) },
		"notcomparable": func() string { return notComparableTable(results) },
		"tally":         func() string { return tally(results) },
		"timings":       func() (string, error) { return timings(resultsDir) },
		"measure":       func(name, key string) string { return measureText(resultsDir, name, key) },
	}
	t, err := template.New("REPRODUCE").Funcs(funcs).Option("missingkey=error").Parse(tmplText)
	if err != nil {
		return "", fmt.Errorf("reproduce template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, nil); err != nil {
		return "", fmt.Errorf("reproduce template: %w", err)
	}
	return b.String(), nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func section(resultsDir, name string, captions []string, all []ClaimResult) (string, error) {
	dir := filepath.Join(resultsDir, name)
	var st statusView
	if err := readJSON(filepath.Join(dir, "status.json"), &st); err != nil {
		return fmt.Sprintf("### %s\n\nNot attempted: no results (run `bin/modelpick run experiments/%s.yaml`).\n", name, name), nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s: %s\n\n", st.Artifact, st.Title)
	var mine []ClaimResult
	for _, c := range all {
		if c.Artifact == name {
			mine = append(mine, c)
		}
	}
	if st.Status != "done" {
		fmt.Fprintf(&b, "`%s` — **%s**: %s\n\n", st.Command, st.Status, st.Reason)
		if len(mine) > 0 {
			b.WriteString(claimsTable(mine, false) + "\n")
		}
		return b.String(), nil
	}
	var m manifestView
	if err := readJSON(filepath.Join(dir, "manifest.json"), &m); err != nil {
		return "", fmt.Errorf("section %s: %w", name, err)
	}
	fmt.Fprintf(&b, "`%s` — computed in %s (%s), on %s (%d cores), %s; records in [results/%s/](results/%s/).\n\n",
		m.Command, seconds(m.ComputeSeconds), stageList(m), m.Platform.CPUModel, m.Platform.Cores, day(m.ComputedAt), name, name)
	if len(captions) != len(m.Figures) {
		return "", fmt.Errorf("section %s: %d figures (%s) and %d captions: give each figure its caption, {{section %q \"CAPTION\" ...}}",
			name, len(m.Figures), strings.Join(m.Figures, ", "), len(captions), name)
	}
	for i, f := range m.Figures {
		fmt.Fprintf(&b, "![%s](figures/%s.png)\n\n*Figure %s: %s*\n\n", f, f, f, strings.TrimSpace(captions[i]))
	}
	table, err := os.ReadFile(filepath.Join(dir, "table.md"))
	if err != nil {
		return "", fmt.Errorf("section %s: %w", name, err)
	}
	text := string(table)
	if strings.HasPrefix(text, "# ") { // the file's own title
		if i := strings.Index(text, "\n"); i >= 0 {
			text = strings.TrimLeft(text[i+1:], "\n")
		}
	}
	b.WriteString(text + "\n")
	if len(mine) > 0 {
		b.WriteString("Paper beside ours:\n\n" + claimsTable(mine, false) + "\n")
	}
	return b.String(), nil
}

func stageList(m manifestView) string {
	var parts []string
	for _, s := range m.Stages {
		parts = append(parts, fmt.Sprintf("%s %s", s.Stage, seconds(s.ComputeSeconds)))
	}
	if len(parts) == 0 {
		return "no stages"
	}
	return "stages: " + strings.Join(parts, ", ")
}

func seconds(s float64) string {
	if s < 10 {
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	}
	if s < 120 {
		return strconv.FormatFloat(s, 'f', 0, 64) + " s"
	}
	return strconv.FormatFloat(s/60, 'f', 1, 64) + " min"
}

func day(ts string) string {
	if len(ts) >= 10 {
		return ts[:10]
	}
	return ts
}

// claimsTable lists claims with the paper's words beside ours: in an
// artifact's section (full) the quote, in the summary (withArtifact) the
// artifact and section only. Intervals' methods are footnoted below it.
func claimsTable(rs []ClaimResult, withArtifact bool) string {
	header := []string{"claim", "paper", "ours", "holds if", "status", "why"}
	if withArtifact {
		header = []string{"artifact", "claim", "section", "paper", "ours", "holds if", "status"}
	}
	var methods []string
	var rows [][]string
	for _, r := range rs {
		if r.Status == NotComparable {
			continue
		}
		ours := "—"
		if r.Ours != nil {
			ours = showMeasured(*r.Ours)
			if iv := r.Ours.Interval; iv != nil && iv.Method != "" {
				i := slices.Index(methods, iv.Method)
				if i < 0 {
					methods = append(methods, iv.Method)
					i = len(methods) - 1
				}
				ours += fmt.Sprintf(" (%c)", 'a'+i)
			}
		}
		status := "**" + r.Status + "**"
		switch {
		case r.NoInterval():
			status += " (no interval)"
		case r.Status == NotAttempted:
			status += ": " + r.Reason
		}
		if withArtifact {
			rows = append(rows, []string{r.Artifact, r.Claim.Claim, sectionOf(r.Claim), r.Paper, ours, holdsIf(r.Claim), status})
			continue
		}
		rows = append(rows, []string{r.Claim.Claim, paperCell(r.Claim), ours, holdsIf(r.Claim), status, r.Why})
	}
	if len(rows) == 0 {
		return ""
	}
	out := Markdown(header, rows)
	for i, m := range methods {
		out += fmt.Sprintf("\n(%c) interval: %s\n", 'a'+i, m)
	}
	return out
}

func sectionOf(c Claim) string {
	if c.BeyondPaper {
		return "beyond the paper"
	}
	return c.Section
}

// paperCell is the paper's value, where it says it and its words, and
// where the paper says otherwise.
func paperCell(c Claim) string {
	s := c.Paper
	if c.BeyondPaper {
		return s + " (beyond the paper)"
	}
	if c.Quote != "" {
		s += fmt.Sprintf(" — %s: “%s”", c.Section, normalizeQuoted(c.Quote))
	}
	if c.Contradiction != "" {
		s += " **The paper contradicts itself:** " + c.Contradiction
	}
	return s
}

// notComparableTable lists the claims this project cannot check, and why.
func notComparableTable(rs []ClaimResult) string {
	var rows [][]string
	for _, r := range rs {
		if r.Status != NotComparable {
			continue
		}
		why := r.Reason
		if r.Contradiction != "" {
			why += " **The paper contradicts itself:** " + r.Contradiction
		}
		rows = append(rows, []string{r.Claim.Claim, r.Section, "“" + normalizeQuoted(r.Quote) + "”", why})
	}
	return Markdown([]string{"claim", "section", "the paper's words", "why not comparable here"}, rows)
}

// TallyRow is one group of claims counted by status.
type TallyRow struct {
	Name string
	// Counts maps a status (Statuses) to its number of claims.
	Counts map[string]int
	// All counts the group; NoInterval those decided without an interval.
	All, NoInterval int
}

// Tally counts the paper's claims by criterion and status, then all of
// them, then our own questions apart.
func Tally(rs []ClaimResult) []TallyRow {
	groups := []struct{ name, criterion string }{{"top-1", "top1"}, {"top-5", "top5"}, {"neither (features, latency)", ""}}
	var rows []TallyRow
	count := func(name string, keep func(ClaimResult) bool) {
		row := TallyRow{Name: name, Counts: map[string]int{}}
		for _, r := range rs {
			if keep(r) {
				row.Counts[r.Status]++
				row.All++
				if r.NoInterval() {
					row.NoInterval++
				}
			}
		}
		rows = append(rows, row)
	}
	for _, g := range groups {
		count("the paper's, "+g.name, func(r ClaimResult) bool { return !r.BeyondPaper && r.Criterion == g.criterion })
	}
	count("the paper's, all", func(r ClaimResult) bool { return !r.BeyondPaper })
	count("beyond the paper", func(r ClaimResult) bool { return r.BeyondPaper })
	return rows
}

// tally is Tally as a markdown table.
func tally(rs []ClaimResult) string {
	header := append(append([]string{"claims"}, Statuses...), "all", "of which without interval")
	var rows [][]string
	for _, t := range Tally(rs) {
		row := []string{t.Name}
		for _, s := range Statuses {
			row = append(row, strconv.Itoa(t.Counts[s]))
		}
		rows = append(rows, append(row, strconv.Itoa(t.All), strconv.Itoa(t.NoInterval)))
	}
	return Markdown(header, rows)
}

// holdsIf is the band in which the claim holds.
func holdsIf(c Claim) string {
	lo, hi, ok := Band(c)
	if !ok {
		return "= " + show(c.Expect)
	}
	e := show(c.Expect)
	t := show(c.Tolerance)
	switch c.Compare {
	case "equal":
		return "= " + e
	case "abs":
		return fmt.Sprintf("%s ± %s", e, t)
	case "rel":
		return fmt.Sprintf("%s ± %s%%", e, show(100*c.Tolerance))
	case "between":
		if c.Tolerance > 0 {
			return fmt.Sprintf("in [%s, %s] (%s ± %s)", show(lo), show(hi), e, t)
		}
		return fmt.Sprintf("in [%s, %s]", show(lo), show(hi))
	case "at_least":
		if c.Tolerance > 0 {
			return fmt.Sprintf("≥ %s (%s − %s)", show(lo), e, t)
		}
		return "≥ " + e
	case "at_most":
		if c.Tolerance > 0 {
			return fmt.Sprintf("≤ %s (%s + %s)", show(hi), e, t)
		}
		return "≤ " + e
	}
	return c.Compare + " " + e
}

func timings(resultsDir string) (string, error) {
	ents, err := os.ReadDir(resultsDir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			if _, err := os.Stat(filepath.Join(resultsDir, e.Name(), "status.json")); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	var rows [][]string
	for _, n := range names {
		var st statusView
		if err := readJSON(filepath.Join(resultsDir, n, "status.json"), &st); err != nil {
			return "", err
		}
		t := "—"
		if st.Status == "done" {
			var m manifestView
			if err := readJSON(filepath.Join(resultsDir, n, "manifest.json"), &m); err != nil {
				return "", err
			}
			t = seconds(m.ComputeSeconds)
		}
		rows = append(rows, []string{st.Artifact, n, st.Status, t, "`" + st.Command + "`"})
	}
	return Markdown([]string{"artifact", "experiment", "status", "compute time (cold, shared stages included)", "command"}, rows), nil
}

func measureText(resultsDir, name, key string) string {
	var ms map[string]any
	if err := readJSON(filepath.Join(resultsDir, name, "measures.json"), &ms); err != nil {
		return "n/a"
	}
	v, ok := ms[key]
	if !ok || v == nil {
		return "n/a"
	}
	return show(v)
}
