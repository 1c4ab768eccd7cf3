package premodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/modelpick/modelpick/method"
	"github.com/modelpick/modelpick/profileview"
)

// Pooled reads a (repeated) cross-validation's out-of-fold answers as
// statistics of a resample of its images: every method below takes idx,
// the rows drawn (with repeats; 0..N-1 for the images as given), and
// averages over the seeds, each image being tested once per seed. A
// bootstrap over idx then gives an interval that holds both which images
// were drawn and which folds they fell in.
type Pooled struct {
	cv    *CrossValidation
	names []method.Name
	by    map[method.Name][]*Outcome // one per seed
	// classes bounds the class ids (labels and predictions), for PRF.
	classes int
}

// Pool indexes cv's out-of-fold answers. A method that did not answer
// under every seed is left out.
func (cv *CrossValidation) Pool() *Pooled {
	p := &Pooled{cv: cv, by: map[method.Name][]*Outcome{}}
	all := append(slices.Clone(cv.OutOfFold), cv.OutOfFoldBaselines...)
	for k := range all {
		o := &all[k]
		if _, ok := p.by[o.Name]; !ok {
			p.names = append(p.names, o.Name)
		}
		p.by[o.Name] = append(p.by[o.Name], o)
	}
	kept := p.names[:0]
	for _, n := range p.names {
		if len(p.by[n]) == len(cv.Seeds) {
			kept = append(kept, n)
		} else {
			delete(p.by, n)
		}
	}
	p.names = kept
	// A method whose answers no seed changes (a single model, the
	// all-model oracle) is kept once: the mean over the seeds is its one
	// answer, and the statistics run five times faster.
	for _, n := range p.names {
		if os := p.by[n]; len(os) > 1 && slices.IndexFunc(os[1:], func(o *Outcome) bool { return !sameAnswers(os[0], o) }) < 0 {
			p.by[n] = os[:1]
		}
	}
	for i, l := range cv.Truth.Label {
		p.classes = max(p.classes, l+1)
		if i < len(cv.Truth.Pred) {
			for _, c := range cv.Truth.Pred[i] {
				p.classes = max(p.classes, c+1)
			}
		}
	}
	return p
}

// seedOf is seed s's outcome among os (the one outcome when the seeds
// answered alike).
func seedOf(os []*Outcome, s int) *Outcome {
	return os[min(s, len(os)-1)]
}

// sameAnswers says whether two outcomes answered every image alike at the
// same cost (a premodel's own times differ from seed to seed).
func sameAnswers(a, b *Outcome) bool {
	return slices.Equal(a.Choice, b.Choice) && slices.Equal(a.MS, b.MS) && a.FeaturesMS == nil && b.FeaturesMS == nil
}

// N is the number of images.
func (p *Pooled) N() int { return len(p.cv.Truth.Label) }

// Names lists the methods pooled, in the folds' order.
func (p *Pooled) Names() []method.Name { return p.names }

// Has says whether name was pooled.
func (p *Pooled) Has(name method.Name) bool { _, ok := p.by[name]; return ok }

// Kind is a pooled method's kind.
func (p *Pooled) Kind(name method.Name) method.Kind { return p.by[name][0].Kind }

// right says whether model column j is right on image i under c.
func (p *Pooled) right(c profileview.Criterion, i, j int) bool {
	if j < 0 {
		return false
	}
	if c == profileview.Top5 {
		return p.cv.Truth.Correct5[i][j]
	}
	return p.cv.Truth.Correct1[i][j]
}

// Accuracy is the percentage of the images idx that name answers right
// under c (top-1 or top-5), the mean over the seeds.
func (p *Pooled) Accuracy(name method.Name, c profileview.Criterion, idx []int) float64 {
	hits := 0
	for _, o := range p.by[name] {
		for _, i := range idx {
			if p.right(c, i, o.Choice[i]) {
				hits++
			}
		}
	}
	return 100 * float64(hits) / float64(len(idx)*len(p.by[name]))
}

// AccuracyWithFallback is name's accuracy had its fallback (the model run
// when the learner names none) been model column fb instead, -1 for no
// prediction.
func (p *Pooled) AccuracyWithFallback(name method.Name, c profileview.Criterion, idx []int, fb int) float64 {
	hits := 0
	for _, o := range p.by[name] {
		for _, i := range idx {
			j := o.Choice[i]
			if o.Decided != nil && o.Decided[i] < 0 {
				j = fb
			}
			if p.right(c, i, j) {
				hits++
			}
		}
	}
	return 100 * float64(hits) / float64(len(idx)*len(p.by[name]))
}

// FallbackShare is the percentage of the images on which name's learner
// named no candidate, so its fallback ran.
func (p *Pooled) FallbackShare(name method.Name, idx []int) float64 {
	return p.share(name, idx, func(o *Outcome, i int) bool { return o.Decided != nil && o.Decided[i] < 0 })
}

// Avoidable is the percentage of the images that name answers wrong under
// c while some candidate of its fold is right (the candidates' oracle).
func (p *Pooled) Avoidable(name method.Name, c profileview.Criterion, idx []int) float64 {
	or := p.by[method.OracleCandidates]
	if or == nil {
		return math.NaN()
	}
	miss := 0
	for s, o := range p.by[name] {
		for _, i := range idx {
			if !p.right(c, i, o.Choice[i]) && p.right(c, i, seedOf(or, s).Choice[i]) {
				miss++
			}
		}
	}
	return 100 * float64(miss) / float64(len(idx)*len(p.by[name]))
}

// Selection is the percentage of the images whose optimum candidate (or
// none) name's learner named.
func (p *Pooled) Selection(name method.Name, idx []int) float64 {
	return p.share(name, idx, func(o *Outcome, i int) bool { return o.Decided != nil && o.Decided[i] == o.Target[i] })
}

func (p *Pooled) share(name method.Name, idx []int, yes func(o *Outcome, i int) bool) float64 {
	n := 0
	for _, o := range p.by[name] {
		for _, i := range idx {
			if yes(o, i) {
				n++
			}
		}
	}
	return 100 * float64(n) / float64(len(idx)*len(p.by[name]))
}

// Level is the accuracy (percent) of a cascade's level l (0 first) on
// the images that reach it, those no earlier level claimed and whose fold
// has that level: the level is right when it claims an image exactly when
// its candidate is the image's optimum. NaN when no image reaches it.
func (p *Pooled) Level(name method.Name, l int, idx []int) float64 {
	reach, right := p.level(name, l, idx)
	if reach == 0 {
		return math.NaN()
	}
	return 100 * float64(right) / float64(reach)
}

// Reached is how many images (over the seeds) reach level l of name.
func (p *Pooled) Reached(name method.Name, l int) int {
	idx := make([]int, p.N())
	for i := range idx {
		idx[i] = i
	}
	reach, _ := p.level(name, l, idx)
	return reach
}

func (p *Pooled) level(name method.Name, l int, idx []int) (reach, right int) {
	for _, o := range p.by[name] {
		if o.Decided == nil {
			return 0, 0
		}
		for _, i := range idx {
			d := o.Decided[i]
			if (d >= 0 && d < l) || l >= o.Levels[i] {
				continue
			}
			reach++
			if (d == l) == (o.Target[i] == l) {
				right++
			}
		}
	}
	return reach, right
}

// MeanMS is name's mean latency per image (ms) with each model costing
// cost[j]: the model it ran (or the models, a cascade's MS) plus a
// premodel's own time.
func (p *Pooled) MeanMS(name method.Name, idx []int, cost []float64) float64 {
	sum := 0.0
	for _, o := range p.by[name] {
		for _, i := range idx {
			switch {
			case o.MS != nil:
				sum += o.MS[i]
			case o.Choice[i] >= 0:
				sum += cost[o.Choice[i]]
			}
			if o.FeaturesMS != nil {
				sum += o.FeaturesMS[i] + o.DecisionMS[i]
			}
		}
	}
	return sum / float64(len(idx)*len(p.by[name]))
}

// Overhead is a premodel's mean feature-extraction and decision time per
// image (ms); 0, 0 for other methods.
func (p *Pooled) Overhead(name method.Name, idx []int) (features, decision float64) {
	for _, o := range p.by[name] {
		if o.FeaturesMS == nil {
			return 0, 0
		}
		for _, i := range idx {
			features += o.FeaturesMS[i]
			decision += o.DecisionMS[i]
		}
	}
	n := float64(len(idx) * len(p.by[name]))
	return features / n, decision / n
}

// LatencyRange is the smallest and largest latency (ms) of any image under
// name, over the seeds, at the measured costs: the span the paper's
// Fig 11 draws ("the range of inference time across testing images").
func (p *Pooled) LatencyRange(name method.Name) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, o := range p.by[name] {
		for i := range p.N() {
			ms := 0.0
			switch {
			case o.MS != nil:
				ms = o.MS[i]
			case o.Choice[i] >= 0:
				ms = p.cv.CostMS[o.Choice[i]]
			}
			if o.FeaturesMS != nil {
				ms += o.FeaturesMS[i] + o.DecisionMS[i]
			}
			lo, hi = math.Min(lo, ms), math.Max(hi, ms)
		}
	}
	return lo, hi
}

// PRF is name's macro precision and recall (percent) over the classes in
// the images' labels or its predictions, the paper's F1 of those two
// (PaperF1) and the mean of the classes' own F1 (MacroPRF), each the mean
// over the seeds.
func (p *Pooled) PRF(name method.Name, idx []int) (precision, recall, f1, macroF1 float64) {
	s := newPRFScratch(p.classes)
	os := p.by[name]
	for _, o := range os {
		pr, rc, mf := s.prf(len(idx), func(k int) int { return p.cv.Truth.Label[idx[k]] }, func(k int) int {
			i := idx[k]
			if j := o.Choice[i]; j >= 0 {
				return p.cv.Truth.Pred[i][j]
			}
			return -1
		})
		precision, recall, macroF1 = precision+pr, recall+rc, macroF1+mf
		f1 += PaperF1(pr, rc)
	}
	n := float64(len(os))
	return precision / n, recall / n, f1 / n, macroF1 / n
}

// DrawCosts returns each model's mean latency: as measured when r is nil,
// else drawn from a normal whose 95% interval is the measured one (a
// latency's uncertainty carried into a bootstrap's resample), at least 0.
func (p *Pooled) DrawCosts(r *rand.Rand) []float64 {
	if r == nil {
		return p.cv.CostMS
	}
	out := make([]float64, len(p.cv.CostMS))
	for j, c := range p.cv.CostMS {
		se := (p.cv.CostHighMS[j] - p.cv.CostLowMS[j]) / (2 * 1.959964)
		// A latency is positive: the normal is truncated at 0 by drawing
		// again (a draw of 0 made every ratio to it infinite). Where the
		// interval is narrow beside the mean, as for any model of a
		// millisecond or more, no draw is ever redrawn.
		x := c + se*r.NormFloat64()
		for tries := 0; x <= 0 && c > 0 && tries < 100; tries++ {
			x = c + se*r.NormFloat64()
		}
		out[j] = math.Max(0, x)
	}
	return out
}

// Cost is model column j's measured mean latency (ms).
func (p *Pooled) Cost(j int) float64 { return p.cv.CostMS[j] }

// Column is the model's column, -1 when it is not one.
func (p *Pooled) Column(model string) int {
	for j, m := range p.cv.Models {
		if m == model {
			return j
		}
	}
	return -1
}

// Item is image i's name ("dataset/file").
func (p *Pooled) Item(i int) string { return p.cv.Truth.Items[i] }

// prfScratch counts true and false positives and false negatives by class
// id (-1 is no prediction).
type prfScratch struct {
	tp, fp, fn []int
	present    []bool
}

func newPRFScratch(classes int) *prfScratch {
	return &prfScratch{tp: make([]int, classes), fp: make([]int, classes), fn: make([]int, classes), present: make([]bool, classes)}
}

// prf is the macro precision, recall and per-class-mean F1 (percent) of n
// answers, label(k) the truth and pred(k) the predicted class (-1 none),
// over the classes in the truth or the predictions; a missing prediction
// counts against recall only. Classes are summed in id order, so the last
// bits do not depend on the order of the images.
func (s *prfScratch) prf(n int, label, pred func(k int) int) (precision, recall, f1 float64) {
	clear(s.tp)
	clear(s.fp)
	clear(s.fn)
	clear(s.present)
	for k := range n {
		l, c := label(k), pred(k)
		s.present[l] = true
		switch {
		case c == l:
			s.tp[c]++
		case c < 0:
			s.fn[l]++
		default:
			s.present[c] = true
			s.fp[c]++
			s.fn[l]++
		}
	}
	var pSum, rSum, fSum float64
	classes := 0
	for c, ok := range s.present {
		if !ok {
			continue
		}
		classes++
		var pc, rc float64
		if s.tp[c]+s.fp[c] > 0 {
			pc = float64(s.tp[c]) / float64(s.tp[c]+s.fp[c])
		}
		if s.tp[c]+s.fn[c] > 0 {
			rc = float64(s.tp[c]) / float64(s.tp[c]+s.fn[c])
		}
		pSum, rSum = pSum+pc, rSum+rc
		if pc+rc > 0 {
			fSum += 2 * pc * rc / (pc + rc)
		}
	}
	if classes == 0 {
		return 0, 0, 0
	}
	c := float64(classes)
	return 100 * pSum / c, 100 * rSum / c, 100 * fSum / c
}

// Shares is the percentage of the images that name sent to each model
// ("none": no prediction), over the seeds.
func (p *Pooled) Shares(name method.Name) map[string]float64 {
	out := map[string]float64{}
	os := p.by[name]
	w := 100 / float64(p.N()*len(os))
	for _, o := range os {
		for _, j := range o.Choice {
			m := "none"
			if j >= 0 {
				m = p.cv.Models[j]
			}
			out[m] += w
		}
	}
	return out
}

// SeedAccuracies is name's accuracy under c on every image, seed by seed:
// how far one seed's cross-validation lands from another's.
func (p *Pooled) SeedAccuracies(name method.Name, c profileview.Criterion) []float64 {
	var out []float64
	for _, o := range p.by[name] {
		hits := 0
		for i, j := range o.Choice {
			if p.right(c, i, j) {
				hits++
			}
		}
		out = append(out, 100*float64(hits)/float64(p.N()))
	}
	return out
}

// Align returns, for each image of q, its row in p (the same images in
// another table's order), or an error naming an image p lacks.
func (p *Pooled) Align(q *Pooled) ([]int, error) {
	row := make(map[string]int, p.N())
	for i, it := range p.cv.Truth.Items {
		row[it] = i
	}
	out := make([]int, q.N())
	for i, it := range q.cv.Truth.Items {
		r, ok := row[it]
		if !ok {
			return nil, fmt.Errorf("image %s of one cross-validation is not in the other", it)
		}
		out[i] = r
	}
	return out, nil
}
