package report

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Markdown renders a table through tablewriter's markdown renderer, header
// as given (no upper-casing), cells unwrapped, "|" escaped.
func Markdown(header []string, rows [][]string) string {
	var b bytes.Buffer
	t := tablewriter.NewTable(&b, tablewriter.WithRenderer(renderer.NewMarkdown()),
		tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoFormat(tw.Off),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone), tablewriter.WithRowAutoWrap(tw.WrapNone))
	t.Header(escape(header))
	for _, r := range rows {
		if err := t.Append(escape(r)); err != nil {
			return fmt.Sprintf("(table error: %v)\n", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Sprintf("(table error: %v)\n", err)
	}
	return b.String()
}

func escape(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.ReplaceAll(c, "|", `\|`)
	}
	return out
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

func mark(b bool) string {
	if b {
		return "✓"
	}
	return "✗"
}

// SharesTable is Fig 5's data.
func SharesTable(rows []OptimumShare, nonePct float64, noneImages int) string {
	rows = append([]OptimumShare(nil), rows...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Cost < rows[j].Cost })
	var out [][]string
	for _, r := range rows {
		order := ""
		if r.Chosen {
			order = strconv.Itoa(r.Order)
		}
		out = append(out, []string{r.Model, f2(r.Cost) + " " + r.CostUnit, f1(r.AccuracyPct), strconv.Itoa(r.Images), f1(r.SharePct), order})
	}
	out = append(out, []string{"none correct", "", "", strconv.Itoa(noneImages), f1(nonePct), ""})
	return Markdown([]string{"model", "cost", "accuracy (%)", "optimum for (images)", "share (%)", "chosen (order)"}, out)
}

// StepsTable is Algorithm 1's trace.
func StepsTable(rows []SelectionStep) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{strconv.Itoa(r.Step), r.Candidate, strconv.Itoa(r.Failed), f2(r.GainPP), f2(r.OraclePct), yes(r.Added)})
	}
	return Markdown([]string{"step", "candidate", "images failed before", "gain (points)", "oracle of the set (%)", "added"}, out)
}

// SubsetAccuracyTable is Fig 6's data: one column per panel.
func SubsetAccuracyTable(rows []SubsetAccuracy) string {
	var panels, models []string
	seenP, seenM := map[string]bool{}, map[string]bool{}
	val := map[[2]string]SubsetAccuracy{}
	for _, r := range rows {
		if !seenP[r.Panel] {
			seenP[r.Panel] = true
			panels = append(panels, r.Panel)
		}
		if !seenM[r.Model] {
			seenM[r.Model] = true
			models = append(models, r.Model)
		}
		val[[2]string{r.Panel, r.Model}] = r
	}
	header := []string{"model"}
	for _, p := range panels {
		var any SubsetAccuracy
		for _, m := range models {
			if r, ok := val[[2]string{p, m}]; ok {
				any = r
				break
			}
		}
		header = append(header, fmt.Sprintf("(%s) %s, %d images (%%)", p, any.Subset, any.Images))
	}
	var out [][]string
	for _, m := range models {
		row := []string{m}
		for _, p := range panels {
			r, ok := val[[2]string{p, m}]
			switch {
			case !ok:
				row = append(row, "")
			case r.Picked:
				row = append(row, "**"+f1(r.AccuracyPct)+"** (picked)")
			default:
				row = append(row, f1(r.AccuracyPct))
			}
		}
		out = append(out, row)
	}
	return Markdown(header, out)
}

// MotivationTable is Table 1: per image, each model's top-1 and top-5
// correctness (✓/✗), models cheapest first.
func MotivationTable(rows []MotivationCell) string {
	var models []string
	seen := map[string]bool{}
	byImage := map[int][]MotivationCell{}
	var images []int
	for _, r := range rows {
		if !seen[r.Model] {
			seen[r.Model] = true
			models = append(models, r.Model)
		}
		if _, ok := byImage[r.Image]; !ok {
			images = append(images, r.Image)
		}
		byImage[r.Image] = append(byImage[r.Image], r)
	}
	header := []string{"image", "shows"}
	for _, m := range models {
		header = append(header, m+" top-1 / top-5")
	}
	var out [][]string
	for _, im := range images {
		rs := byImage[im]
		row := []string{fmt.Sprintf("%d: %s (class %d)", im, rs[0].File, rs[0].Label), rs[0].Role}
		for _, m := range models {
			cellText := ""
			for _, r := range rs {
				if r.Model == m {
					cellText = mark(r.Top1) + " / " + mark(r.Top5)
				}
			}
			row = append(row, cellText)
		}
		out = append(out, row)
	}
	return Markdown(header, out)
}

// ImageTimeTable is Fig 1d's data.
func ImageTimeTable(rows []ImageTime) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{fmt.Sprintf("%d: %s", r.Image, r.File), r.Model, f2(r.MeanMS),
			fmt.Sprintf("[%s, %s]", f2(r.CILowMS), f2(r.CIHighMS)), strconv.Itoa(r.N)})
	}
	return Markdown([]string{"image", "model", "mean (ms)", "95% CI (ms)", "runs"}, out)
}

// FeatureTable is Table 2.
func FeatureTable(rows []FeatureDef) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{strconv.Itoa(r.Index), "`" + r.Name + "`", r.Kind, r.Definition})
	}
	return Markdown([]string{"#", "feature", "kind", "definition"}, out)
}

// RemovalTable is Table 3.
func RemovalTable(rows []CorrelationRemoval) string {
	var out [][]string
	for _, r := range rows {
		kept := r.Kept
		if kept == "" {
			kept = "(" + r.Reason + ")"
		}
		rs := ""
		if r.Kept != "" {
			rs = fmt.Sprintf("%+.3f", r.R)
		}
		out = append(out, []string{r.Removed, kept, rs})
	}
	return Markdown([]string{"removed", "kept (correlated with)", "Pearson r"}, out)
}

// KeptTable is Table 4: every feature the filter left, by how often
// elimination kept it; Table 4's set marked, with its importance.
func KeptTable(rows []KeptFeature) string {
	var out [][]string
	for _, r := range rows {
		in, imp := "", ""
		if r.InTable4 {
			in = "yes"
		}
		if r.ImportancePct != nil {
			imp = span(*r.ImportancePct, *r.ImportanceLoPct, *r.ImportanceHiPct, f1)
		}
		out = append(out, []string{r.Feature, r.Kind, f1(r.KeptSharePct), in, imp})
	}
	return Markdown([]string{"feature", "kind", "kept by (% of resamples)", "in Table 4", "importance (%, median [95%])"}, out)
}

// span is a value with its interval.
func span(v, lo, hi float64, f func(float64) string) string {
	return fmt.Sprintf("%s [%s, %s]", f(v), f(lo), f(hi))
}

// ImportanceTable is Figs 7 and 12's data: one row per criterion and
// feature, in rank order.
func ImportanceTable(rows []Importance) string {
	var out [][]string
	for _, r := range rows {
		in := ""
		if r.InTable4 {
			in = "yes"
		}
		out = append(out, []string{r.Criterion, strconv.Itoa(r.Rank), r.Feature, in, f1(r.KeptSharePct),
			span(r.DropMedianPP, r.DropLoPP, r.DropHiPP, f2), span(r.ImportancePct, r.ImportanceLoPct, r.ImportanceHiPct, f1), f2(r.DropPP)})
	}
	return Markdown([]string{"criterion", "rank", "feature", "in Table 4", "kept by (% of resamples)",
		"accuracy lost (points, median [95%])", "importance (%, median [95%])", "accuracy lost, all images (points)"}, out)
}

// SweepTable is Fig 13's data.
func SweepTable(rows []SweepPoint) string {
	var out [][]string
	for _, r := range rows {
		ms := "not measured"
		if r.ExtractMS != nil {
			ms = strconv.FormatFloat(*r.ExtractMS, 'f', 3, 64)
		}
		out = append(out, []string{strconv.Itoa(r.NFeatures), r.Stage, f2(r.AccuracyPct), span(r.MedianPct, r.LoPct, r.HiPct, f2),
			f2(r.SelectionPct), ms, r.Removed})
	}
	return Markdown([]string{"features", "stage", "premodel accuracy, all images (%)", "over resamples (%, median [95%])",
		"selection accuracy, all images (%)", "extraction (ms/image)", "removed to reach it"}, out)
}

// ModelTable lists models with accuracy, latency and Algorithm 1's choice.
func ModelTable(rows []ModelSummary) string {
	var out [][]string
	for _, r := range rows {
		order := ""
		if r.Chosen {
			order = strconv.Itoa(r.Order)
		}
		out = append(out, []string{r.Model, f1(r.Top1Pct), f1(r.LatencyMS), f1(r.OptimumSharePct), order})
	}
	return Markdown([]string{"model", "top-1 (%)", "latency (ms)", "optimum for (% of images)", "chosen (order)"}, out)
}

// ScalarTable lists named numbers.
func ScalarTable(rows []Scalar) string {
	var out [][]string
	for _, r := range rows {
		out = append(out, []string{r.Name, strconv.FormatFloat(r.Value, 'g', 6, 64), r.Unit})
	}
	return Markdown([]string{"quantity", "value", "unit"}, out)
}
