package premodel

import (
	"fmt"
	"slices"

	"github.com/modelpick/modelpick/method"
	"github.com/modelpick/modelpick/profileview"
)

// Truth is what a cross-validated table's images are scored against, in
// the table's row order: every Outcome's choices index its columns.
type Truth struct {
	// Items name the images ("dataset/file"), so two tables of the same
	// images (the kNN and the CNN premodel's) can be paired.
	Items []string `json:"items"`
	Label []int    `json:"label"`
	// Pred is each model's top-1 class on each image (-1 when none),
	// Correct1 and Correct5 whether its top 1 and top 5 hold the label.
	Pred     [][]int  `json:"pred"`
	Correct1 [][]bool `json:"correct1"`
	Correct5 [][]bool `json:"correct5"`
}

func truthOf(v *profileview.View) Truth {
	t := Truth{Items: make([]string, len(v.Items)), Label: make([]int, len(v.Items)), Pred: v.Pred,
		Correct1: v.Correct1, Correct5: v.Correct5}
	for i, it := range v.Items {
		t.Items[i], t.Label[i] = it.Dataset+"/"+it.File, it.Label
	}
	return t
}

// Outcome is one method's out-of-fold answers under one seed, image by
// image in the table's row order: each image answered by the method
// trained on the folds that left it out.
type Outcome struct {
	Seed int64       `json:"seed"`
	Name method.Name `json:"name"`
	Kind method.Kind `json:"kind"`
	// Choice is the model column that answered each image, -1 for none.
	Choice []int `json:"choice"`
	// MS is each image's latency where it is not the chosen model's cost
	// plus the premodel's own time (a cascade runs several models); nil
	// otherwise.
	MS []float64 `json:"ms,omitempty"`
	// FeaturesMS and DecisionMS are a premodel's own time on each image;
	// Decided is its learner's class (an index into its fold's candidates,
	// -1 none) and Target the image's optimum among them (-1 none).
	FeaturesMS []float64 `json:"features_ms,omitempty"`
	DecisionMS []float64 `json:"decision_ms,omitempty"`
	Decided    []int     `json:"decided,omitempty"`
	Target     []int     `json:"target,omitempty"`
	// Levels is the number of candidates of each image's fold (a
	// cascade's levels).
	Levels []int `json:"levels,omitempty"`
}

// pool gathers the out-of-fold answers of one seed's folds (which
// partition n rows): one Outcome per method that answered every fold with
// per-image choices.
func pool(seed int64, n int, folds []Fold) []Outcome {
	var order []method.Name
	by := map[method.Name]*Outcome{}
	seen := map[method.Name]int{}
	for _, f := range folds {
		for _, m := range append(slices.Clone(f.Methods), f.Baselines...) {
			if len(m.Choice) != len(f.Rows) {
				continue
			}
			o, ok := by[m.Name]
			if !ok {
				o = &Outcome{Seed: seed, Name: m.Name, Kind: m.Kind, Choice: make([]int, n)}
				if m.MS != nil {
					o.MS = make([]float64, n)
				}
				if m.FeaturesMS != nil {
					o.FeaturesMS, o.DecisionMS, o.Decided, o.Target = make([]float64, n), make([]float64, n), make([]int, n), make([]int, n)
					o.Levels = make([]int, n)
				}
				by[m.Name] = o
				order = append(order, m.Name)
			}
			seen[m.Name]++
			for k, row := range f.Rows {
				o.Choice[row] = m.Choice[k]
				if o.MS != nil && m.MS != nil {
					o.MS[row] = m.MS[k]
				}
				if o.FeaturesMS != nil && m.FeaturesMS != nil {
					o.FeaturesMS[row], o.DecisionMS[row] = m.FeaturesMS[k], m.DecisionMS[k]
					o.Decided[row], o.Target[row], o.Levels[row] = m.Decided[k], m.Target[k], len(f.Candidates)
				}
			}
		}
	}
	var out []Outcome
	for _, name := range order {
		if seen[name] == len(folds) {
			out = append(out, *by[name])
		}
	}
	return out
}

// SizeBytes is the premodel's size as deployed: its encoded learner and
// the arrays it keeps (training rows, their classes and neighbour
// distances, the scaler), 8 bytes a number.
func (p *Premodel) SizeBytes() (int, error) {
	if p.learner == nil {
		return 0, fmt.Errorf("premodel size: not trained")
	}
	b, err := p.learner.MarshalBinary()
	if err != nil {
		return 0, fmt.Errorf("premodel size: %w", err)
	}
	n := len(b) + 8*(len(p.TrainY)+len(p.LOODist))
	for _, x := range p.TrainX {
		n += 8 * len(x)
	}
	if p.Scaler != nil {
		n += 8 * (len(p.Scaler.Min) + len(p.Scaler.Max))
	}
	return n, nil
}
