package stages

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"

	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/onnxconv"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/store"
)

// PickImagesIn is the input of the motivation study's image choice.
type PickImagesIn struct {
	Store   pipeline.File `json:"store"`
	Dataset string        `json:"dataset"`
	// Models are the study's models (four in the paper); they are ordered
	// by cost, cheapest first, in the output.
	Models []string `json:"models"`
	// Latency overrides the store's costs (published figures).
	Latency *Latency `json:"latency,omitempty"`
}

// Roles of the three images (Table 1): what each shows.
const (
	RoleCheap   = "cheap model enough"
	RoleMid     = "mid model needed"
	RoleLargest = "only the largest"
	RoleCrit    = "criterion-dependent"
)

// PickedImage is one chosen image with every model's answer.
type PickedImage struct {
	Role  string `json:"role"`
	File  string `json:"file"`
	Label int    `json:"label"`
	// Top1, Top5 and Pred are per model, in PickImagesOut.Models order.
	Top1 []bool `json:"top1"`
	Top5 []bool `json:"top5"`
	Pred []int  `json:"pred"`
	// Score is the deciding model's top score (how clear the example is).
	Score float64 `json:"score"`
}

// PickImagesOut is the chosen images.
type PickImagesOut struct {
	Models     []string      `json:"models"`
	Cost       []float64     `json:"cost"`
	CostSource string        `json:"cost_source"`
	Images     []PickedImage `json:"images"`
	// Candidates counts the images of each role there were to choose from.
	Candidates map[string]int `json:"candidates"`
	// Optimum1 and Optimum5 are every image's optimum among the study's
	// models (index into Models, or -1: none) under top-1 and top-5, in
	// the set's order.
	Optimum1 []int `json:"optimum_top1"`
	Optimum5 []int `json:"optimum_top5"`
}

// PickImages chooses three images that show the paper's effect (§2.1,
// Table 1): one the cheapest model gets right under top-1 (with every
// other model: the big ones add nothing), one it gets wrong under either
// criterion while a mid-cost model gets right (and so does the largest),
// and one only the largest gets right under top-1, preferably one where,
// as in the paper's image 3, a model between the cheapest and the largest
// is right under top-5, so the criterion changes the answer. Among
// candidates the clearest wins (the highest top score of the deciding
// model), then the file name.
func PickImages() pipeline.Stage[PickImagesIn, PickImagesOut] {
	return pipeline.Stage[PickImagesIn, PickImagesOut]{
		// 2: image 3 as the paper's (a mid model right under top-5); every
		// image's optimum under both criteria in the output.
		Name: "pick-images", Version: "2", Code: []string{profileview.RankRule},
		Run: func(ctx context.Context, w *pipeline.Work, in PickImagesIn) (PickImagesOut, error) {
			var out PickImagesOut
			if len(in.Models) < 3 {
				return out, fmt.Errorf("pick images: need at least 3 models, got %d", len(in.Models))
			}
			st, err := store.Open(in.Store.Path)
			if err != nil {
				return out, err
			}
			defer st.Close()
			v, err := profileview.Load(ctx, st, profileview.Options{Criterion: profileview.Top1, Datasets: []string{in.Dataset},
				Models: in.Models, Published: in.Latency, MMACs: true})
			if err != nil {
				return out, err
			}
			col := map[string]int{}
			for i, m := range v.Models {
				col[m] = i
			}
			for _, m := range in.Models {
				if _, ok := col[m]; !ok {
					return out, fmt.Errorf("pick images: model %s is not in the profile (have %v)", m, v.Models)
				}
			}
			// The view holds just the study's models: its Order ranks them.
			var models []string
			for _, j := range v.Order() {
				models = append(models, v.Models[j])
				out.Cost = append(out.Cost, v.Cost[j])
			}
			out.Models, out.CostSource = models, v.CostFrom.String()
			n := len(models)
			last := n - 1
			cands := map[string][]PickedImage{}
			for i, im := range v.Items {
				pi := PickedImage{File: im.File, Label: im.Label}
				for _, m := range models {
					j := col[m]
					pi.Top1 = append(pi.Top1, v.Correct1[i][j])
					pi.Top5 = append(pi.Top5, v.Correct5[i][j])
					pi.Pred = append(pi.Pred, v.Pred[i][j])
				}
				score := func(k int) float64 { return v.Score[i][col[models[k]]] }
				allTop1 := true
				for _, ok := range pi.Top1 {
					allTop1 = allTop1 && ok
				}
				firstTop1 := -1
				for j, ok := range pi.Top1 {
					if ok {
						firstTop1 = j
						break
					}
				}
				add := func(role string, decider int) {
					c := pi
					c.Role, c.Score = role, score(decider)
					cands[role] = append(cands[role], c)
				}
				switch {
				case allTop1:
					add(RoleCheap, 0)
				case firstTop1 > 0 && firstTop1 < last && pi.Top1[last] && !pi.Top5[0]:
					add(RoleMid, firstTop1)
				case firstTop1 == last && !pi.Top5[0] && slices.Contains(pi.Top5[1:last], true):
					add(RoleCrit, last)
				case firstTop1 == last:
					add(RoleLargest, last)
				}
			}
			// Targets over the columns in cost order index models.
			if out.Optimum1, err = v.Targets(v.Order()); err != nil {
				return out, err
			}
			v5 := *v
			v5.Criterion = profileview.Top5
			if out.Optimum5, err = v5.Targets(v.Order()); err != nil {
				return out, err
			}
			out.Candidates = map[string]int{}
			for r, c := range cands {
				out.Candidates[r] = len(c)
				sort.SliceStable(c, func(i, j int) bool {
					if c[i].Score != c[j].Score {
						return c[i].Score > c[j].Score
					}
					return c[i].File < c[j].File
				})
			}
			for _, roles := range [][]string{{RoleCheap}, {RoleMid}, {RoleCrit, RoleLargest}} {
				for _, r := range roles {
					if len(cands[r]) > 0 {
						out.Images = append(out.Images, cands[r][0])
						break
					}
				}
			}
			return out, nil
		},
	}
}

// ImageLatencyIn is the input of the per-image latency measurement.
type ImageLatencyIn struct {
	Set      DataSet               `json:"set"`
	Files    []string              `json:"files"`
	Models   []Model               `json:"models"`
	Runtime  Runtime               `json:"runtime"`
	Timing   measure.TimingOptions `json:"timing"`
	Platform string                `json:"platform"`
	// Session: as CostIn's.
	Session string `json:"session,omitempty"`
}

// ImageLatency is one (image, model) time.
type ImageLatency struct {
	File     string  `json:"file"`
	Model    string  `json:"model"`
	N        int     `json:"n"`
	MeanMS   float64 `json:"mean_ms"`
	CILowMS  float64 `json:"ci_low_ms"`
	CIHighMS float64 `json:"ci_high_ms"`
}

// ImageLatencyOut holds every (image, model) time.
type ImageLatencyOut struct {
	Latencies []ImageLatency `json:"latencies"`
}

// ImageLatencyStage times preprocessing plus inference of each model on each
// image (Fig 1d), repeated until the 95% CI is within 5% of the mean.
func ImageLatencyStage() pipeline.Stage[ImageLatencyIn, ImageLatencyOut] {
	return pipeline.Stage[ImageLatencyIn, ImageLatencyOut]{
		Name: "image-latency", Version: "1",
		Code:     []string{"onnxconv " + onnxconv.Version, opencvVersion()},
		Volatile: []string{"latencies[*].n", "latencies[*].mean_ms", "latencies[*].ci_low_ms", "latencies[*].ci_high_ms"},
		Run: func(ctx context.Context, w *pipeline.Work, in ImageLatencyIn) (ImageLatencyOut, error) {
			var out ImageLatencyOut
			set, err := in.Set.Load()
			if err != nil {
				return out, err
			}
			models, err := profile.LoadModels(specsOf(in.Models), in.Runtime.options())
			if err != nil {
				return out, err
			}
			defer func() {
				for _, m := range models {
					m.Close()
				}
			}()
			for _, f := range in.Files {
				img, err := inference.DecodeImageFile(filepath.Join(set.Dir, filepath.FromSlash(f)))
				if err != nil {
					return out, err
				}
				for _, m := range models {
					s, err := measure.Time(ctx, in.Timing, func() error {
						if err := m.SetInput(img); err != nil {
							return err
						}
						return m.Run()
					})
					if err != nil {
						img.Close()
						return out, fmt.Errorf("time %s on %s: %w", m.Spec.Name, f, err)
					}
					out.Latencies = append(out.Latencies, ImageLatency{File: f, Model: m.Spec.Name, N: s.N,
						MeanMS: s.Mean, CILowMS: s.CILow, CIHighMS: s.CIHigh})
				}
				img.Close()
			}
			return out, nil
		},
	}
}
