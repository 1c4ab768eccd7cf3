package experiments

import (
	"context"
	"fmt"
	"slices"

	"github.com/modelpick/modelpick/method"

	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/pipeline/stages"
	"github.com/modelpick/modelpick/report"
)

// cnnBackbone is the CNN premodel's frozen backbone: the ladder's
// cheapest model, whose pooled 256-d embedding the head reads.
const cnnBackbone = "mobilenet_v1_0.25_128"

// runCNNPremodel cross-validates, per image set, the spec's premodel on the
// features feature selection keeps and the CNN premodel (learners' cnn
// head on the backbone's stored embedding, the Embedding stage) on the
// same folds.
func runCNNPremodel(ctx context.Context, e *Env, s *Spec, p *OneLearnerParams) (*Result, error) {
	c, err := e.profiled(ctx, s, p.Chain, true)
	if err != nil {
		return nil, err
	}
	bi := slices.IndexFunc(c.models, func(m stages.Model) bool { return m.Spec.Name == cnnBackbone })
	if bi < 0 {
		return nil, fmt.Errorf("cnn premodel: the backbone %s is not among the spec's models", cnnBackbone)
	}
	folds := e.folds(p.Folds)
	var rows []report.MethodSummary
	m := map[string]any{}
	var notes []string
	for _, d := range c.sets {
		fs, err := e.keptFeatures(ctx, c, d, &p.PremodelParams)
		if err != nil {
			return nil, err
		}
		dir := d.Dir
		knn, err := pipeline.Do(ctx, e.R, stages.PremodelCV(), stages.PremodelCVIn{Store: c.joined.Store, Dataset: d.Name,
			Images: &dir, Criterion: string(p.Criterion), Names: fs.Kept, ConfigKey: c.joined.ConfigKey, Learner: p.Learner,
			K: p.K, Theta: p.Theta, Folds: folds, Seed: p.Seed, Platform: stages.PlatformID()})
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", d.Name, p.Learner, err)
		}
		emb, err := pipeline.Do(ctx, e.R, stages.Embedding(), stages.EmbeddingIn{Store: c.joined.Store, Set: d,
			Backbone: c.models[bi], Runtime: c.rt})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		if emb.Failed > 0 {
			return nil, fmt.Errorf("%s: the backbone %s could not embed %d images", d.Name, cnnBackbone, emb.Failed)
		}
		bb := emb.Backbone
		cnn, err := pipeline.Do(ctx, e.R, stages.PremodelCV(), stages.PremodelCVIn{Store: emb.Store, Dataset: d.Name,
			Criterion: string(p.Criterion), Names: emb.Names, ConfigKey: emb.ConfigKey, Learner: "cnn",
			K: p.K, Theta: p.Theta, Folds: folds, Seed: p.Seed, Platform: stages.PlatformID(), Backbone: &bb})
		if err != nil {
			return nil, fmt.Errorf("%s cnn: %w", d.Name, err)
		}
		knnGroup := fmt.Sprintf("%s (%d features)", p.Learner, len(fs.Kept))
		cnnGroup := fmt.Sprintf("cnn (%s embedding, %d-d)", cnnBackbone, bb.Dims)
		kr := premodelRows(summarise(d.Name, knnGroup, knn))
		cr := premodelRows(summarise(d.Name, cnnGroup, cnn))
		if len(kr) != 1 || len(cr) != 1 {
			return nil, fmt.Errorf("%s: want one premodel row per premodel, have %d and %d", d.Name, len(kr), len(cr))
		}
		rows = append(rows, kr[0], cr[0])
		k, n := kr[0], cr[0]
		cost := 0.0
		if j := slices.Index(cnn.Models, cnnBackbone); j >= 0 {
			cost = cnn.CostMS[j]
		}
		dec := 0.0
		for _, f := range cnn.Folds {
			dec += f.Overhead.DecisionMeanMS / float64(len(cnn.Folds))
		}
		// The paper's view of the CNN premodel's cost: the backbone runs
		// for every image, then the head decides.
		paper := cost + dec
		ds := d.Name
		m["cnn_backbone_overhead_ms_"+ds] = paper
		m["cnn_minus_knn_overhead_ms_"+ds] = paper - k.OverheadMS
		m["cnn_routed_to_backbone_pct_"+ds] = routedTo(cnn, cnnBackbone)
		m["knn_top1_"+ds], m["cnn_top1_"+ds] = k.Top1Pct, n.Top1Pct
		m["knn_mean_ms_"+ds], m["cnn_mean_ms_"+ds] = k.MeanMS, n.MeanMS
		m["knn_overhead_ms_"+ds], m["cnn_overhead_ms_"+ds] = k.OverheadMS, n.OverheadMS
		if k.SelectionAccPct != nil && n.SelectionAccPct != nil {
			m["knn_selection_accuracy_"+ds], m["cnn_selection_accuracy_"+ds] = *k.SelectionAccPct, *n.SelectionAccPct
			m["cnn_minus_knn_selection_pp_"+ds] = *n.SelectionAccPct - *k.SelectionAccPct
		}
		m["cnn_minus_knn_top1_pp_"+ds] = n.Top1Pct - k.Top1Pct
		m["knn_features_"+ds] = len(fs.Kept)
		m["backbone_cost_ms_"+ds] = cost
		m["cnn_less_accurate_"+ds] = n.Top1Pct < k.Top1Pct
		m["cnn_costlier_overhead_"+ds] = paper > k.OverheadMS
		notes = append(notes, fmt.Sprintf("%s: the %s premodel on %d kept features reaches %.1f%% top-1 (selection accuracy %s) "+
			"with %.2f ms overhead per image; the CNN premodel %.1f%% (selection accuracy %s), routing %.1f%% of images to its own "+
			"backbone; its overhead is %.2f ms per image as the backbone's profiled cost (%.2f ms) plus the head's decision, %.2f ms "+
			"when the backbone's run counts as the answer wherever it is chosen (the table's premodel ms); the embedding "+
			"stage measured the backbone at %.2f ms run + %.2f ms preprocessing per image.",
			ds, p.Learner, len(fs.Kept), k.Top1Pct, pct(k.SelectionAccPct), k.OverheadMS, n.Top1Pct, pct(n.SelectionAccPct),
			routedTo(cnn, cnnBackbone), paper, cost, n.OverheadMS, emb.Timing.RunMS, emb.Timing.PreprocessMS))
	}
	st := premodelSettings(&p.PremodelParams, e, p.Learner, nil)
	st["backbone"] = cnnBackbone
	return &Result{Records: map[string]any{"methods": rows}, Tables: []string{"groups"}, Figures: []FigureOut{{View: "groups"}},
		Measures: m, Settings: st,
		Notes: append(append(notes, premodelNotes(&p.PremodelParams, e)...),
			"CNN premodel: a logistic-regression head (learners' cnn) on the frozen backbone's pooled embedding, stored per image "+
				"by the embedding stage; its candidates are Algorithm 1's on each training fold, as for the kNN premodel, on the same folds. "+
				"Its overhead is the backbone's cost from the cost profile (nothing when the backbone is the chosen model, its run being "+
				"the answer) plus the head's decision; the kNN premodel's is its feature extraction timed here plus its decision.")}, nil
}

// routedTo is the mean share of test images (percent) the premodel sends
// to model.
func routedTo(out stages.PremodelCVOut, model string) float64 {
	v := 0.0
	for _, f := range out.Folds {
		for _, m := range f.Methods {
			if m.Kind == method.Premodel {
				v += m.Share[model] / float64(len(out.Folds))
				break
			}
		}
	}
	return v
}

func pct(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", *v)
}
