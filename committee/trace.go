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
	run := NewRunning(ref.Outputs, ref.LabelOffset, ref.NumClasses)
	for l := range order {
		t.Levels[l] = make([]Level, len(rows))
	}
	for k, i := range rows {
		run.Reset()
		item := datasets.Item{File: ref.Files[i], Label: ref.Labels[i]}
		for l, p := range levels {
			lv := run.Add(p.Row(i))
			pred := profile.Prediction(ref.Dataset, item, "", run.Top())
			lv.Correct1, lv.Correct5 = pred.Correct1, pred.Correct5
			t.Levels[l][k] = lv
		}
	}
	return t, nil
}

// Running is one image's state in a cascade of committees: the outputs
// of the models run so far and their mean (inference.MeanScores, the
// committee model's rule). NewTrace and the committee cascade router
// (package routers) both step through it, so the statistics a router
// reads at run time are those it was trained on, bit for bit.
type Running struct {
	offset, classes int
	vecs            [][]float32
	own             []int
	mean            []float32
	top             inference.TopK
}

// NewRunning returns an empty running mean of output vectors of the given
// length, ranked over classes after offset (a model's label offset and
// class count; 0 and the length for class scores already offset).
func NewRunning(outputs, offset, classes int) *Running {
	return &Running{offset: offset, classes: classes, mean: make([]float32, outputs)}
}

// Reset empties r for the next image.
func (r *Running) Reset() { r.Truncate(0) }

// Truncate keeps only the first n outputs added, so a search over level
// orders that share a prefix adds each prefix's outputs once.
func (r *Running) Truncate(n int) { r.vecs, r.own = r.vecs[:n], r.own[:n] }

// Len is the number of outputs added.
func (r *Running) Len() int { return len(r.vecs) }

// Add adds one more model's output (kept, not copied, until Reset) and
// returns the running mean's statistics; Correct1 and Correct5 are left
// false (they need the label).
func (r *Running) Add(v []float32) Level {
	r.vecs = append(r.vecs, v)
	r.own = append(r.own, inference.Top(v, 1, r.offset, r.classes).Index[0])
	inference.MeanScores(r.mean, r.vecs...)
	r.top = inference.Top(r.mean, profile.TopK, r.offset, r.classes)
	lv := Level{Top1: r.top.Index[0], MaxProb: float64(r.top.Score[0]), Entropy: entropy(r.mean[r.offset : r.offset+r.classes])}
	if len(r.top.Score) > 1 {
		lv.Margin = float64(r.top.Score[0] - r.top.Score[1])
	}
	agree := 0
	for _, c := range r.own {
		if c == lv.Top1 {
			agree++
		}
	}
	lv.Agree = float64(agree) / float64(len(r.own))
	return lv
}

// Mean is the running mean (overwritten by the next Add).
func (r *Running) Mean() []float32 { return r.mean }

// Top is the running mean's top classes (profile.TopK of them).
func (r *Running) Top() inference.TopK { return r.top }

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
