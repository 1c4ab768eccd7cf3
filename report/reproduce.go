package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
//	section NAME     the artifact's block: command and time, our table and
//	                 figure, its claims with the paper's value and status
//	claims           every claim in one table
//	timings          every experiment's status, compute time and command
//	measure NAME KEY one measured value ("n/a" when absent)
func Reproduce(tmplText, resultsDir string, claims []Claim) (string, error) {
	results := Evaluate(claims, resultsDir)
	funcs := template.FuncMap{
		"section": func(name string) (string, error) { return section(resultsDir, name, results) },
		"claims":  func() string { return claimsTable(results, true) },
		"timings": func() (string, error) { return timings(resultsDir) },
		"measure": func(name, key string) string { return measureText(resultsDir, name, key) },
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

func section(resultsDir, name string, all []ClaimResult) (string, error) {
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
	for _, f := range m.Figures {
		fmt.Fprintf(&b, "![%s](figures/%s.png)\n\n", f, f)
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

func claimsTable(rs []ClaimResult, withArtifact bool) string {
	header := []string{"claim", "paper", "ours", "compared", "status", "why"}
	if withArtifact {
		header = append([]string{"artifact"}, header...)
	}
	var rows [][]string
	for _, r := range rs {
		ours := r.Ours
		why := r.Why
		if r.Status == NotAttempted {
			ours = "—"
			why = r.Reason
		}
		row := []string{r.Claim.Claim, r.Paper, ours, compared(r.Claim), "**" + r.Status + "**", why}
		if withArtifact {
			row = append([]string{r.Artifact}, row...)
		}
		rows = append(rows, row)
	}
	return Markdown(header, rows)
}

func compared(c Claim) string {
	e := show(c.Expect)
	switch c.Compare {
	case "equal":
		return "= " + e
	case "abs":
		return fmt.Sprintf("%s ± %s", e, show(c.Tolerance))
	case "rel":
		return fmt.Sprintf("%s ± %s%%", e, show(100*c.Tolerance))
	case "at_least":
		if c.Tolerance > 0 {
			return fmt.Sprintf("≥ %s (tolerance %s)", e, show(c.Tolerance))
		}
		return "≥ " + e
	case "at_most":
		if c.Tolerance > 0 {
			return fmt.Sprintf("≤ %s (tolerance %s)", e, show(c.Tolerance))
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
