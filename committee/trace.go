package committee

import (
	"fmt"
	"math"
	"slices"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/profile"
)

// Level is one image's state after the first models of an order have run,
// their outputs averaged as a committee of them (inference.MeanScores):
// what a cascade that stops there would know and answer.
type Level struct {
	Top1    int     `json:"top1"`     // the running mean's best class (0-based, after the label offset)
	MaxProb float64 `json:"max_prob"` // its value in the running mean
	Margin  float64 `json:"margin"`   // MaxProb minus the second-best class's value
	// Entropy (nats) of the running mean over the classes, renormalised to
	// sum 1; the background output is left out, as it is when ranking.
	Entropy float64 `json:"entropy"`
	// Agree is the fraction of the models run so far whose own best class
	// is Top1 (1 at the first level).
	Agree    float64 `json:"agree"`
	Correct1 bool    `json:"correct1"`
	Correct5 bool    `json:"correct5"`
}

// Trace is every image's Level at every level of an order.
type Trace struct {
	Order   []string `json:"order"`
	Dataset string   `json:"dataset"`
	Files   []string `json:"files"` // the readable images, in set order
	Labels  []int    `json:"labels"`
	// Levels[l][i] is image i after Order[0..l] ran.
	Levels [][]Level `json:"levels"`
}

// NewTrace computes the trace of order (model names of probs; each at most
// once) on the images every model read. Level l's correctness is exactly
// that of the committee of Order[0..l] profiled as a model.
func NewTrace(probs []*Probs, order []string) (*Trace, error) {
	if err := sameImages(probs); err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	by, err := byName(probs)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("trace: empty level order (models: %s)", names(probs))
	}
	levels := make([]*Probs, len(order))
	seen := map[string]bool{}
	for l, name := range order {
		p, ok := by[name]
		switch {
		case !ok:
			return nil, fmt.Errorf("trace: level %d: no vectors for model %q (have: %s)", l, name, names(probs))
		case seen[name]:
			return nil, fmt.Errorf("trace: level %d: %q is already level %d's model: a cascade never runs a model twice", l, name, slices.Index(order, name))
		}
		seen[name] = true
		levels[l] = p
	}
	ref := levels[0]
	t := &Trace{Order: append([]string(nil), order...), Dataset: ref.Dataset, Levels: make([][]Level, len(order))}
	var rows []int
	for i := range ref.Files {
		ok := true
		for _, p := range levels {
			ok = ok && p.Errors[i] == ""
		}
		if ok {
			rows = append(rows, i)
			t.Files = append(t.Files, ref.Files[i])
			t.Labels = append(t.Labels, ref.Labels[i])
		}
	}
	off, classes := ref.LabelOffset, ref.NumClasses
	mean := make([]float32, ref.Outputs)
	own := make([]int, len(order))
	vecs := make([][]float32, 0, len(order))
	for l := range order {
		t.Levels[l] = make([]Level, len(rows))
	}
	for k, i := range rows {
		vecs = vecs[:0]
		item := datasets.Item{File: ref.Files[i], Label: ref.Labels[i]}
		for l, p := range levels {
			row := p.Row(i)
			vecs = append(vecs, row)
			own[l] = inference.Top(row, 1, off, classes).Index[0]
			inference.MeanScores(mean, vecs...)
			top := inference.Top(mean, profile.TopK, off, classes)
			pred := profile.Prediction(ref.Dataset, item, "", top)
			lv := Level{Top1: top.Index[0], MaxProb: float64(top.Score[0]),
				Entropy: entropy(mean[off : off+classes]), Correct1: pred.Correct1, Correct5: pred.Correct5}
			if len(top.Score) > 1 {
				lv.Margin = float64(top.Score[0] - top.Score[1])
			}
			agree := 0
			for _, c := range own[:l+1] {
				if c == lv.Top1 {
					agree++
				}
			}
			lv.Agree = float64(agree) / float64(l+1)
			t.Levels[l][k] = lv
		}
	}
	return t, nil
}

// Accuracy is the fraction of images level l answers correctly, top-1 and top-5.
func (t *Trace) Accuracy(l int) (top1, top5 float64) {
	if len(t.Files) == 0 {
		return 0, 0
	}
	var c1, c5 int
	for _, lv := range t.Levels[l] {
		if lv.Correct1 {
			c1++
		}
		if lv.Correct5 {
			c5++
		}
	}
	n := float64(len(t.Files))
	return float64(c1) / n, float64(c5) / n
}

// entropy of v renormalised to sum 1; an all-zero vector (every class
// under half a quantum) carries no information: log of the class count.
func entropy(v []float32) float64 {
	var sum float64
	for _, x := range v {
		sum += float64(x)
	}
	if sum <= 0 {
		return math.Log(float64(len(v)))
	}
	var h float64
	for _, x := range v {
		if x > 0 {
			q := float64(x) / sum
			h -= q * math.Log(q)
		}
	}
	return h
}
