package premodel

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/modelpick/modelpick/profileview"

	"github.com/modelpick/modelpick/selection"
)

// SelectionRecord is one run of Algorithm 1 on a store, as select-models
// writes it: the trace with the names and costs its indices refer to.
type SelectionRecord struct {
	Store       string                `json:"store"`
	Criterion   profileview.Criterion `json:"criterion"`
	Datasets    []string              `json:"datasets"`
	Images      int                   `json:"images"`
	CostThreads int                   `json:"cost_threads"`
	Models      []string              `json:"models"`
	Cost        []float64             `json:"cost_ms"`
	Chosen      []string              `json:"chosen"`
	Trace       selection.Trace       `json:"trace"`
}

// SelectModels runs Algorithm 1 on a profile.
func SelectModels(p *profileview.View, theta float64) (SelectionRecord, error) {
	tr, err := p.SelectModels(theta)
	if err != nil {
		return SelectionRecord{}, fmt.Errorf("select models on %s: %w", p.Store, err)
	}
	rec := SelectionRecord{Store: p.Store, Criterion: p.Criterion, Datasets: p.Datasets, Images: len(p.Items),
		CostThreads: p.CostFrom.Threads, Models: p.Models, Cost: p.Cost, Trace: tr}
	for _, j := range tr.Chosen {
		rec.Chosen = append(rec.Chosen, p.Models[j])
	}
	return rec, nil
}

// WriteSelection writes a selection record into dir: selection.json (the
// whole record), fig5_optimum_share.csv (per model: cost, accuracy, share
// of images it is the optimum for, rank in the chosen set; and "none") and
// fig6_steps.csv (per step and model: accuracy on the images the set
// before the step fails, Figs 6b and 6c, with the step's candidate, gain
// and whether it was added).
func WriteSelection(dir string, rec SelectionRecord) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write selection: %w", err)
	}
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("write selection: %w", err)
	}
	tr := rec.Trace
	fig5 := [][]string{{"model", "cost_ms", "accuracy_pct", "optimum_share_pct", "chosen_rank"}}
	for j, m := range rec.Models {
		rank := ""
		if k := slices.Index(tr.Chosen, j); k >= 0 {
			rank = strconv.Itoa(k + 1)
		}
		fig5 = append(fig5, []string{m, num(rec.Cost[j]), num(tr.Accuracy[j]), num(tr.OptimumShare[j]), rank})
	}
	fig5 = append(fig5, []string{"none", "", "", num(tr.NoneShare), ""})
	fig6 := [][]string{{"step", "before", "failed_images", "model", "accuracy_on_failed_pct", "candidate", "set_oracle_pct", "gain_pp", "added"}}
	for s, st := range tr.Steps {
		before := make([]string, len(st.Before))
		for k, j := range st.Before {
			before[k] = rec.Models[j]
		}
		for j, m := range rec.Models {
			fig6 = append(fig6, []string{strconv.Itoa(s + 1), strings.Join(before, " "), strconv.Itoa(st.Failed), m,
				num(st.AccuracyOnFailed[j]), strconv.FormatBool(j == st.Candidate), num(st.Oracle), num(st.Gain), strconv.FormatBool(st.Added)})
		}
	}
	for name, data := range map[string][]byte{
		"selection.json":         append(js, '\n'),
		"fig5_optimum_share.csv": csvBytes(fig5),
		"fig6_steps.csv":         csvBytes(fig6),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write selection: %w", err)
		}
	}
	return nil
}

// Markdown summarises a selection record.
func (rec SelectionRecord) Markdown() string {
	var b strings.Builder
	tr := rec.Trace
	fmt.Fprintf(&b, "Algorithm 1 on %s (%d images, criterion %s, theta %g pp): chose %s, oracle %.1f%%.\n\n",
		strings.Join(rec.Datasets, ", "), rec.Images, rec.Criterion, tr.Theta, strings.Join(rec.Chosen, ", "), tr.Oracle)
	fmt.Fprintln(&b, "| model | cost ms | accuracy % | optimum for % |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|")
	for j, m := range rec.Models {
		fmt.Fprintf(&b, "| %s | %.3f | %.1f | %.1f |\n", m, rec.Cost[j], tr.Accuracy[j], tr.OptimumShare[j])
	}
	fmt.Fprintf(&b, "| none | | | %.1f |\n\n", tr.NoneShare)
	for i, st := range tr.Steps {
		fmt.Fprintf(&b, "step %d: %d images failed by the set, candidate %s, oracle %.1f%% (gain %.2f pp), added %v\n",
			i+1, st.Failed, rec.Models[st.Candidate], st.Oracle, st.Gain, st.Added)
	}
	return b.String()
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

func csvBytes(rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.WriteAll(rows) // writes to memory: cannot fail
	return b.Bytes()
}
