package experiments

import (
	"context"
	"fmt"
	"slices"

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
	crit := p.Criterion
	var rows []report.MethodSummary
	ms := newMeasures(crit)
	var notes []string
	for _, d := range c.sets {
		fs, err := e.keptFeatures(ctx, c, d, &p.PremodelParams)
		if err != nil {
			return nil, err
		}
		ft, err := e.featureTimes(ctx, d, fs.Kept)
		if err != nil {
			return nil, err
		}
		knn, err := e.premodelCVDo(ctx, stages.PremodelCVIn{Store: c.joined.Store, Dataset: d.Name,
			FeatureMS: ft.MS, Criterion: string(crit), Names: fs.Kept, ConfigKey: c.joined.ConfigKey, Learner: p.Learner,
			K: p.K, Theta: p.Theta, Folds: folds, Seed: p.Seeds[0], Seeds: p.Seeds, Platform: stages.PlatformID()})
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
		cnn, err := e.premodelCVDo(ctx, stages.PremodelCVIn{Store: emb.Store, Dataset: d.Name,
			Criterion: string(crit), Names: emb.Names, ConfigKey: emb.ConfigKey, Learner: "cnn",
			K: p.K, Theta: p.Theta, Folds: folds, Seed: p.Seeds[0], Seeds: p.Seeds, Platform: stages.PlatformID(), Backbone: &bb})
		if err != nil {
			return nil, fmt.Errorf("%s cnn: %w", d.Name, err)
		}
		ds := d.Name
		kp, cp := knn.Pool(), cnn.Pool()
		kr := cvRun{ds: ds, run: premodelRun{group: fmt.Sprintf("%s (%d features)", p.Learner, len(fs.Kept)), learner: p.Learner},
			out: knn, pool: kp, st: newCVStats(kp, &p.PremodelParams, folds)}
		cr := cvRun{ds: ds, run: premodelRun{group: fmt.Sprintf("cnn (%s embedding, %d-d)", cnnBackbone, bb.Dims), learner: "cnn"},
			out: cnn, pool: cp, st: newCVStats(cp, &p.PremodelParams, folds)}
		for _, r := range []cvRun{kr, cr} {
			rs, err := summarise(r, crit, true)
			if err != nil {
				return nil, err
			}
			if len(rs) != 1 {
				return nil, fmt.Errorf("%s: want one premodel row, have %d", ds, len(rs))
			}
			rows = append(rows, rs...)
		}
		// The CNN's table may hold the images in another order: pair them.
		toCNN, err := cp.Align(kp)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ds, err)
		}
		if cp.N() != kp.N() {
			return nil, fmt.Errorf("%s: the kNN premodel was cross-validated on %d images, the CNN premodel on %d", ds, kp.N(), cp.N())
		}
		cnnIdx := func(idx []int) []int {
			out := make([]int, len(idx))
			for k, i := range idx {
				out[k] = toCNN[i]
			}
			return out
		}
		kn, cn := kr.premodelName(), cr.premodelName()
		jb := cp.Column(cnnBackbone)
		if jb < 0 {
			return nil, fmt.Errorf("%s: the CNN premodel's store has no cost of its backbone %s", ds, cnnBackbone)
		}
		st := cr.st // the CNN's costs are drawn; idx are the kNN's rows
		kOver := func(idx []int) float64 { return overheadOf(kr, idx) }
		cDec := func(idx []int) float64 { _, dd := cp.Overhead(cn, cnnIdx(idx)); return dd }
		// The paper's view of the CNN premodel's cost: the backbone runs
		// for every image, then the head decides.
		ms.ivCost("cnn_backbone_overhead_ms_"+ds, st, func(idx []int, cost []float64) float64 { return cost[jb] + cDec(idx) })
		ms.ivCost("cnn_minus_knn_overhead_ms_"+ds, st, func(idx []int, cost []float64) float64 { return cost[jb] + cDec(idx) - kOver(idx) })
		// Which premodel costs more is an order of two times: decided
		// only beyond the device's run-to-run drift (intervalOrder).
		ms.ivOrder("cnn_over_knn_overhead_"+ds, st, func(idx []int, cost []float64) float64 { return cost[jb] + cDec(idx) },
			func(idx []int, _ []float64) float64 { return kOver(idx) })
		ms.set("cnn_routed_to_backbone_pct_"+ds, cp.Shares(cn)[cnnBackbone])
		ms.iv("knn_top1_"+ds, kr.st, func(idx []int) float64 { return kp.Accuracy(kn, crit, idx) })
		ms.iv("cnn_top1_"+ds, kr.st, func(idx []int) float64 { return cp.Accuracy(cn, crit, cnnIdx(idx)) })
		ms.iv("cnn_minus_knn_top1_pp_"+ds, kr.st, func(idx []int) float64 {
			return cp.Accuracy(cn, crit, cnnIdx(idx)) - kp.Accuracy(kn, crit, idx)
		})
		ms.ivCost("knn_mean_ms_"+ds, kr.st, func(idx []int, cost []float64) float64 { return kp.MeanMS(kn, idx, cost) })
		ms.ivCost("cnn_mean_ms_"+ds, cr.st, func(idx []int, cost []float64) float64 { return cp.MeanMS(cn, idx, cost) })
		ms.iv("knn_overhead_ms_"+ds, kr.st, kOver)
		ms.iv("cnn_overhead_ms_"+ds, cr.st, func(idx []int) float64 { return overheadOf(cr, idx) })
		ms.iv("knn_selection_accuracy_"+ds, kr.st, func(idx []int) float64 { return kp.Selection(kn, idx) })
		ms.iv("cnn_selection_accuracy_"+ds, kr.st, func(idx []int) float64 { return cp.Selection(cn, cnnIdx(idx)) })
		ms.iv("cnn_minus_knn_selection_pp_"+ds, kr.st, func(idx []int) float64 {
			return cp.Selection(cn, cnnIdx(idx)) - kp.Selection(kn, idx)
		})
		ms.set("knn_features_"+ds, len(fs.Kept))
		ms.set("backbone_cost_ms_"+ds, cp.Cost(jb))
		all := kr.st.all()
		kAcc, cAcc := kp.Accuracy(kn, crit, all), cp.Accuracy(cn, crit, cnnIdx(all))
		paper := cp.Cost(jb) + cDec(all)
		ms.set("cnn_less_accurate_"+ds, cAcc < kAcc)
		ms.set("cnn_costlier_overhead_"+ds, paper > kOver(all))
		notes = append(notes, fmt.Sprintf("%s: the %s premodel on %d kept features reaches %.1f%% %s (selection accuracy %.1f%%) "+
			"with %.2f ms overhead per image; the CNN premodel %.1f%% (selection accuracy %.1f%%), routing %.1f%% of images to its own "+
			"backbone; its overhead is %.2f ms per image as the backbone's profiled cost (%.2f ms) plus the head's decision, %.2f ms "+
			"when the backbone's run counts as the answer wherever it is chosen (the table's premodel ms); the embedding "+
			"stage measured the backbone at %.2f ms run + %.2f ms preprocessing per image.",
			ds, p.Learner, len(fs.Kept), kAcc, critName(crit), kp.Selection(kn, all), kOver(all), cAcc, cp.Selection(cn, cnnIdx(all)),
			cp.Shares(cn)[cnnBackbone], paper, cp.Cost(jb), overheadOf(cr, cnnIdx(all)), emb.Timing.RunMS, emb.Timing.PreprocessMS))
	}
	if ms.err != nil {
		return nil, ms.err
	}
	st := premodelSettings(&p.PremodelParams, e, p.Learner, nil)
	st["backbone"] = cnnBackbone
	return &Result{Records: map[string]any{"methods": rows}, Tables: []string{"groups"}, Figures: []FigureOut{{View: "groups"}},
		Measures: ms.m, Settings: st,
		Notes: append(append(notes, premodelNotes(&p.PremodelParams, e, s.Name)...),
			"CNN premodel: a logistic-regression head (learners' cnn) on the frozen backbone's pooled embedding, stored per image "+
				"by the embedding stage; its candidates are Algorithm 1's on each training fold, as for the kNN premodel, on the same folds. "+
				"Its overhead is the backbone's cost from the cost profile (nothing when the backbone is the chosen model, its run being "+
				"the answer) plus the head's decision; the kNN premodel's is its feature extraction timed here plus its decision. "+
				"The two are paired image by image for the differences.")}, nil
}
