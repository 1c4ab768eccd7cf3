package baselines

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Markdown renders a report's tables: the calibrated methods on the test
// set beside random routing at their latency, then the single models and
// the oracle.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Candidates (cost order): %s; %d training, %d test images; optimum model of the test images: %s.\n\n",
		strings.Join(r.Candidates, ", "), r.TrainImages, r.TestImages, shares(r.TestTargets))
	b.WriteString("| method | objective | train: top-1 %, ms (met) | test top-1 % | test mean ms | p95 ms | models/img | selection % | random at that ms: top-1 % (expected) | share of images |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---|---|\n")
	for _, e := range r.Methods {
		obj, train, sel, rnd := "-", "-", "-", "-"
		if e.Objective != nil {
			obj = e.Objective.String()
		}
		if e.Train != nil {
			met := "met"
			if e.Met != nil && !*e.Met {
				met = "not met"
			}
			train = fmt.Sprintf("%.1f, %.3f (%s)", e.Train.Accuracy, e.Train.MeanMS, met)
		}
		if e.SelectionAcc != nil {
			sel = fmt.Sprintf("%.1f", *e.SelectionAcc)
		}
		if e.RandomResult != nil {
			rnd = fmt.Sprintf("%.1f (%.1f)", e.RandomResult.Accuracy, e.Random.ExpectedAcc)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.3f | %.3f | %.2f | %s | %s | %s |\n",
			e.Method, obj, train, e.Test.Accuracy, e.Test.MeanMS, e.Test.P95MS, e.Test.Runs, sel, rnd, shares(e.Test.Share))
	}
	b.WriteString("\n| model | test top-1 % | ms |\n|---|---:|---:|\n")
	for _, e := range r.Singles {
		fmt.Fprintf(&b, "| %s | %.1f | %.3f |\n", strings.TrimPrefix(e.Method, "single/"), e.Test.Accuracy, e.Test.MeanMS)
	}
	fmt.Fprintf(&b, "| oracle over the candidates | %.1f | %.3f |\n", r.Oracle.Test.Accuracy, r.Oracle.Test.MeanMS)
	return b.String()
}

// shares formats a share map, largest first.
func shares(m map[string]float64) string {
	type kv struct {
		k string
		v float64
	}
	var s []kv
	for k, v := range m {
		s = append(s, kv{k, v})
	}
	slices.SortFunc(s, func(a, b kv) int {
		if a.v != b.v {
			if a.v > b.v {
				return -1
			}
			return 1
		}
		return strings.Compare(a.k, b.k)
	})
	var parts []string
	for _, x := range s {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", x.k, x.v))
	}
	return strings.Join(parts, ", ")
}

// WriteRecords writes report.json (everything), curves.csv (one row per
// curve point), methods.csv (one row per method, singles and oracle
// included) and report.md into dir, plus manifest.json when manifest is
// not nil.
func WriteRecords(dir string, r Report, manifest any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("baselines: records: %w", err)
	}
	write := func(name string, data []byte) error {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("baselines: records: %w", err)
		}
		return nil
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("baselines: records: %w", err)
	}
	if err := write("report.json", append(js, '\n')); err != nil {
		return err
	}
	if manifest != nil {
		mj, err := json.MarshalIndent(manifest, "", "  ")
		if err != nil {
			return fmt.Errorf("baselines: records: manifest: %w", err)
		}
		if err := write("manifest.json", append(mj, '\n')); err != nil {
			return err
		}
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	curves := [][]string{{"method", "set", "param", "images", "accuracy_pct", "mean_ms", "p95_ms", "models_per_image"}}
	for _, c := range r.Curves {
		curves = append(curves, []string{c.Method, c.Set, num(c.Param), strconv.Itoa(c.Result.Images),
			num(c.Result.Accuracy), num(c.Result.MeanMS), num(c.Result.P95MS), num(c.Result.Runs)})
	}
	methods := [][]string{{"method", "objective", "train_accuracy_pct", "train_mean_ms", "met", "test_accuracy_pct",
		"test_mean_ms", "test_p95_ms", "models_per_image", "overhead_ms", "selection_accuracy_pct",
		"random_accuracy_pct", "random_expected_accuracy_pct", "shares"}}
	all := append(append(slices.Clone(r.Methods), r.Singles...), r.Oracle)
	for _, e := range all {
		row := []string{e.Method, "", "", "", "", num(e.Test.Accuracy), num(e.Test.MeanMS), num(e.Test.P95MS),
			num(e.Test.Runs), num(e.OverheadMS), "", "", "", shares(e.Test.Share)}
		if e.Objective != nil {
			row[1] = e.Objective.String()
		}
		if e.Train != nil {
			row[2], row[3] = num(e.Train.Accuracy), num(e.Train.MeanMS)
		}
		if e.Met != nil {
			row[4] = strconv.FormatBool(*e.Met)
		}
		if e.SelectionAcc != nil {
			row[10] = num(*e.SelectionAcc)
		}
		if e.RandomResult != nil {
			row[11], row[12] = num(e.RandomResult.Accuracy), num(e.Random.ExpectedAcc)
		}
		methods = append(methods, row)
	}
	for name, rows := range map[string][][]string{"curves.csv": curves, "methods.csv": methods} {
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := w.WriteAll(rows); err != nil {
			return fmt.Errorf("baselines: records: %s: %w", name, err)
		}
		if err := write(name, []byte(b.String())); err != nil {
			return err
		}
	}
	return write("report.md", []byte(r.Markdown()))
}
