package experiments

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/modelpick/modelpick/bootstrap"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/report"
)

// motivation runs the chain for the study's models and picks its images.
func (e *Env) motivation(ctx context.Context, s *Spec, p *MotivationParams) (*chain, stages.PickImagesOut, error) {
	if len(p.Images) != 1 {
		return nil, stages.PickImagesOut{}, s.errAt("images", "the motivation study takes one image set, got %d", len(p.Images))
	}
	c, err := e.profiled(ctx, s, p.Chain, false)
	if err != nil {
		return nil, stages.PickImagesOut{}, err
	}
	out, err := pipeline.Do(ctx, e.R, stages.PickImages(), stages.PickImagesIn{Store: c.joined.Store,
		Dataset: c.sets[0].Name, Models: p.Only, Latency: c.latency})
	return c, out, err
}

func motivationNotes(out stages.PickImagesOut) []string {
	var cands []string
	for _, r := range []string{stages.RoleCheap, stages.RoleMid, stages.RoleCrit, stages.RoleLargest} {
		cands = append(cands, fmt.Sprintf("%s: %d", r, out.Candidates[r]))
	}
	notes := []string{fmt.Sprintf("Images chosen automatically among the candidates of each role (%s), the clearest "+
		"first (the deciding model's top score, then the file name); models in cost order (%s).",
		strings.Join(cands, ", "), out.CostSource)}
	if len(out.Images) < 3 {
		notes = append(notes, fmt.Sprintf("Only %d of the three roles had a candidate in this set.", len(out.Images)))
	}
	return notes
}

func runMotivationCorrectness(ctx context.Context, e *Env, s *Spec, p *MotivationParams) (*Result, error) {
	_, out, err := e.motivation(ctx, s, p)
	if err != nil {
		return nil, err
	}
	var rows []report.MotivationCell
	var roles []string
	for i, im := range out.Images {
		roles = append(roles, im.Role)
		for j, m := range out.Models {
			rows = append(rows, report.MotivationCell{Image: i + 1, Role: im.Role, File: im.File, Label: im.Label,
				Model: m, CostMS: out.Cost[j], Top1: im.Top1[j], Top5: im.Top5[j], Predicted: im.Pred[j]})
		}
	}
	// The optimum model of each image under each criterion: the first
	// (cheapest) correct one.
	var opt1, opt5 []string
	for _, im := range out.Images {
		opt1 = append(opt1, firstTrue(out.Models, im.Top1))
		opt5 = append(opt5, firstTrue(out.Models, im.Top5))
	}
	dep, err := criterionDependent(out)
	if err != nil {
		return nil, err
	}
	return &Result{
		Records: map[string]any{"motivation": rows},
		Tables:  []string{"motivation"},
		Measures: map[string]any{"images": len(out.Images), "roles": roles, "models": out.Models,
			"optimum_top1": opt1, "optimum_top5": opt5, "distinct_optimum_top1": distinct(opt1),
			"n_criterion_dependent_images": bootInterval(dep, 1)},
		Settings: map[string]any{"models": p.Only},
		Notes:    motivationNotes(out),
	}, nil
}

// criterionDependent counts the set's images whose optimum among the
// study's models is a model under both criteria, a different one under
// top-1 than under top-5, with its bootstrap interval over the images.
func criterionDependent(out stages.PickImagesOut) (stages.Interval, error) {
	dep := make([]bool, len(out.Optimum1))
	for i := range dep {
		a, b := out.Optimum1[i], out.Optimum5[i]
		dep[i] = a >= 0 && b >= 0 && a != b
	}
	return bootstrap.Statistic(len(dep), func(idx []int) float64 {
		k := 0
		for _, i := range idx {
			if dep[i] {
				k++
			}
		}
		return float64(k)
	}, stages.BootResamples, stages.BootSeed, stages.BootConfidence)
}

func firstTrue(models []string, ok []bool) string {
	for j, b := range ok {
		if b {
			return models[j]
		}
	}
	return "none"
}

func distinct(v []string) int {
	seen := map[string]bool{}
	for _, x := range v {
		seen[x] = true
	}
	return len(seen)
}

func runMotivationLatency(ctx context.Context, e *Env, s *Spec, p *MotivationParams) (*Result, error) {
	c, out, err := e.motivation(ctx, s, p)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, im := range out.Images {
		files = append(files, im.File)
	}
	var ms []stages.Model
	for _, name := range out.Models { // cost order
		for _, m := range c.models {
			if m.Spec.Name == name {
				ms = append(ms, m)
			}
		}
	}
	// Twelve (image, model) pairs: a few seconds each at most, so that a
	// busy machine, where the interval may never reach 5%, cannot stall it.
	timing := e.timing()
	if timing.MaxDuration == 0 || timing.MaxDuration > 3*time.Second {
		timing.MaxDuration = 3 * time.Second
	}
	lat, err := e.imageLatency(ctx, stages.ImageLatencyIn{Set: c.sets[0], Files: files,
		Models: ms, Runtime: c.rt, Timing: timing, Platform: stages.PlatformID()})
	if err != nil {
		return nil, err
	}
	var rows []report.ImageTime
	mean := map[string]float64{}
	for _, l := range lat.Latencies {
		i := 0
		for k, f := range files {
			if f == l.File {
				i = k
			}
		}
		rows = append(rows, report.ImageTime{Image: i + 1, Role: out.Images[i].Role, File: l.File, Model: l.Model,
			N: l.N, MeanMS: l.MeanMS, CILowMS: l.CILowMS, CIHighMS: l.CIHighMS})
		mean[l.Model] += l.MeanMS / float64(len(files))
	}
	m := map[string]any{"models": out.Models, "images": len(files)}
	ratios, exprs := fig1dRatios(out, rows, c.sets[0].Name)
	terms := map[string]report.Interval{}
	for _, r := range rows {
		terms[report.ImageKey(c.sets[0].Name, r.File, r.Model)] = report.Interval{Value: r.MeanMS, Lo: r.CILowMS, Hi: r.CIHighMS,
			Method: "recorded latency on the image (device profile), 95% t-interval"}
	}
	for k, v := range ratios {
		m[k] = v
	}
	if n := len(out.Models); n > 1 && mean[out.Models[0]] > 0 {
		order := append([]string(nil), out.Models...)
		sortByValue(order, mean)
		m["latency_order"] = order
	}
	return &Result{
		Records:   map[string]any{"image_times": rows},
		Tables:    []string{"image-times"},
		Figures:   []FigureOut{{View: "image-times"}},
		Measures:  m,
		CostExprs: exprs,
		CostTerms: terms,
		Settings:  map[string]any{"models": p.Only, "timing": timing},
		Notes: append(motivationNotes(out), "Time: preprocessing (crop, resize, normalise) plus inference of one image, "+
			"one thread, repeated until the 95% CI is within 5% of the mean; decoding excluded."),
	}, nil
}

func sortByValue(names []string, v map[string]float64) {
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && v[names[j]] < v[names[j-1]]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
}

// latencyRatioMethod says how a ratio of recorded latencies gets its
// interval.
const latencyRatioMethod = "ratio of recorded mean latencies (device profile); interval from the ends of their 95% t-intervals, " +
	"the numerator's low over the denominator's high and high over low (conservative)"

// fig1dRatios are the §2.1 ratios of Fig 1d's times: the costliest model
// over the cheapest (sums over the images), and on image 2 (a mid model
// needed) and image 3 (the criterion decides) the optimum models' times
// against the cheapest and the costliest. Each carries the recorded
// latencies' intervals through the ratio, and is written as a cost
// expression of the per-image latencies.
func fig1dRatios(out stages.PickImagesOut, rows []report.ImageTime, dataset string) (map[string]any, map[string]report.CostExpr) {
	exprs := map[string]report.CostExpr{}
	term := func(file, model string) []report.CostTerm {
		return []report.CostTerm{{Key: report.ImageKey(dataset, file, model), Weight: 1}}
	}
	type sum struct{ mean, lo, hi float64 }
	at := map[[2]string]sum{}
	total := map[string]sum{}
	for _, r := range rows {
		at[[2]string{r.File, r.Model}] = sum{r.MeanMS, r.CILowMS, r.CIHighMS}
		t := total[r.Model]
		t.mean, t.lo, t.hi = t.mean+r.MeanMS, t.lo+r.CILowMS, t.hi+r.CIHighMS
		total[r.Model] = t
	}
	ratio := func(num, den sum) any {
		if !(den.mean > 0 && den.lo > 0) {
			return nil
		}
		return report.Interval{Value: num.mean / den.mean, Lo: num.lo / den.hi, Hi: num.hi / den.lo, Method: latencyRatioMethod}
	}
	m := map[string]any{}
	n := len(out.Models)
	if n < 2 {
		return m, exprs
	}
	cheap, costly := out.Models[0], out.Models[n-1]
	if v := ratio(total[costly], total[cheap]); v != nil {
		m["latency_ratio_largest_to_cheapest"] = v
		var e report.CostExpr
		for _, im := range out.Images {
			e.Num, e.Den = append(e.Num, term(im.File, costly)...), append(e.Den, term(im.File, cheap)...)
		}
		exprs["latency_ratio_largest_to_cheapest"] = e
	}
	for _, im := range out.Images {
		t := func(model string) sum { return at[[2]string{im.File, model}] }
		put := func(key, num, den string) {
			if v := ratio(t(num), t(den)); v != nil {
				m[key] = v
				exprs[key] = report.CostExpr{Num: term(im.File, num), Den: term(im.File, den)}
			}
		}
		switch im.Role {
		case stages.RoleMid:
			if o := firstTrue(out.Models, im.Top1); o != "none" {
				put("latency_ratio_top1_optimum_to_cheapest_image2", o, cheap)
			}
		case stages.RoleCrit:
			if o := firstTrue(out.Models, im.Top5); o != "none" {
				put("latency_ratio_costliest_to_top5_optimum_image3", costly, o)
				put("latency_ratio_top5_optimum_to_cheapest_image3", o, cheap)
			}
		}
	}
	return m, exprs
}
