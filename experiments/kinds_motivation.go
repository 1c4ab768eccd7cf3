package experiments

import (
	"context"
	"fmt"
	"strings"
	"time"

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
	return &Result{
		Records: map[string]any{"motivation": rows},
		Tables:  []string{"motivation"},
		Measures: map[string]any{"images": len(out.Images), "roles": roles, "models": out.Models,
			"optimum_top1": opt1, "optimum_top5": opt5, "distinct_optimum_top1": distinct(opt1)},
		Settings: map[string]any{"models": p.Only},
		Notes:    motivationNotes(out),
	}, nil
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
	if n := len(out.Models); n > 1 && mean[out.Models[0]] > 0 {
		m["latency_ratio_largest_to_cheapest"] = mean[out.Models[n-1]] / mean[out.Models[0]]
		order := append([]string(nil), out.Models...)
		sortByValue(order, mean)
		m["latency_order"] = order
	}
	return &Result{
		Records:  map[string]any{"image_times": rows},
		Tables:   []string{"image-times"},
		Figures:  []FigureOut{{View: "image-times"}},
		Measures: m,
		Settings: map[string]any{"models": p.Only, "timing": timing},
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
