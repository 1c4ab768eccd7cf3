package experiments

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/modelpick/modelpick/bootstrap"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/report"
)

// confidence is every interval's coverage.
const confidence = 0.95

// cvStats draws the intervals of statistics of a repeated
// cross-validation's out-of-fold answers on one image set: a percentile
// bootstrap over the images (premodel.Pooled averages each image over the
// seeds), with each model's latency also drawn within its measured
// interval where a statistic reads latencies. Several runs on the same
// images (Fig 9's learners, Fig 11's model counts) are paired: one
// resample draws the same images for all of them.
type cvStats struct {
	n         int
	p         *premodel.Pooled // nil: no latencies to draw
	resamples int
	seed      uint64
	// desc describes the repeated cross-validation ("5 × 10-fold ...").
	desc string
}

func newCVStats(p *premodel.Pooled, par *PremodelParams, folds int) cvStats {
	return cvStats{n: p.N(), p: p, resamples: par.Bootstrap, seed: uint64(par.Seed),
		desc: fmt.Sprintf("the out-of-fold answers of %d-fold cross-validation repeated over seeds %s, each image's answers averaged over the seeds",
			folds, seedList(par.Seeds))}
}

func seedList(seeds []int64) string {
	s := make([]string, len(seeds))
	for i, x := range seeds {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// all is every image, as given.
func (s cvStats) all() []int {
	idx := make([]int, s.n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func (s cvStats) method(costs bool) string {
	m := fmt.Sprintf("%.0f%% percentile bootstrap over the %d images (%d resamples, seed %d) of %s", 100*confidence, s.n,
		s.resamples, s.seed, s.desc)
	if costs {
		m += "; each resample also draws every model's mean latency from a normal with its measured 95% interval"
	}
	return m
}

// interval is the interval of stat over the images.
func (s cvStats) interval(stat func(idx []int) float64) (report.Interval, error) {
	b, err := bootstrap.Statistic(s.n, stat, s.resamples, s.seed, confidence)
	if err != nil {
		return report.Interval{}, err
	}
	return toInterval(b, s.method(false))
}

// intervalCost is the interval of a statistic of latencies: the images
// and the models' latencies both drawn.
func (s cvStats) intervalCost(stat func(idx []int, cost []float64) float64) (report.Interval, error) {
	if s.p == nil {
		return report.Interval{}, fmt.Errorf("no latencies to draw")
	}
	b, err := bootstrap.StatisticDrawn(s.n, s.p.DrawCosts, stat, s.resamples, s.seed, confidence)
	if err != nil {
		return report.Interval{}, err
	}
	return toInterval(b, s.method(true))
}

// intervalOrder is the interval of a ratio a/b of two costs whose order a
// claim reads ("a costs more than b"): the images and the models'
// latencies drawn as in intervalCost, and each of the two costs also moved
// by its own factor, uniform within ±profileview.Resolution, the drift
// between measurements on this device. Two costs closer than a
// re-measurement can resolve then get an interval across 1, as the tie
// rule leaves such models unordered.
func (s cvStats) intervalOrder(a, b func(idx []int, cost []float64) float64) (report.Interval, error) {
	if s.p == nil {
		return report.Interval{}, fmt.Errorf("no latencies to draw")
	}
	type drawn struct {
		cost   []float64
		fa, fb float64
	}
	draw := func(r *rand.Rand) drawn {
		d := drawn{cost: s.p.DrawCosts(r), fa: 1, fb: 1}
		if r != nil {
			res := profileview.Resolution
			d.fa, d.fb = 1-res+2*res*r.Float64(), 1-res+2*res*r.Float64()
		}
		return d
	}
	stat := func(idx []int, d drawn) float64 { return d.fa * a(idx, d.cost) / (d.fb * b(idx, d.cost)) }
	bs, err := bootstrap.StatisticDrawn(s.n, draw, stat, s.resamples, s.seed, confidence)
	if err != nil {
		return report.Interval{}, err
	}
	return toInterval(bs, s.method(true)+fmt.Sprintf("; and moves the numerator and the denominator by independent factors "+
		"uniform within ±%.0f%% (profileview.Resolution, the run-to-run drift of this device's timings), so an order closer "+
		"than a re-measurement can resolve is not decided", 100*profileview.Resolution))
}

// toInterval is a bootstrap interval as measures.json holds it. A
// percentile interval can miss its estimate by a hair when the resamples
// tie; it is widened to hold it (report.ParseMeasure requires that).
func toInterval(b bootstrap.Interval, method string) (report.Interval, error) {
	if math.IsNaN(b.Estimate) || math.IsNaN(b.Low) || math.IsNaN(b.High) {
		return report.Interval{}, fmt.Errorf("interval of an undefined statistic (%v [%v, %v])", b.Estimate, b.Low, b.High)
	}
	return report.Interval{Value: b.Estimate, Lo: math.Min(b.Low, b.Estimate), Hi: math.Max(b.High, b.Estimate), Method: method}, nil
}

// measures collects measures.json entries under the spec's criterion's
// names, and the first error.
type measures struct {
	m    map[string]any
	crit profileview.Criterion
	err  error
}

func newMeasures(crit profileview.Criterion) *measures {
	return &measures{m: map[string]any{}, crit: crit}
}

// key is a measure's name under the criterion: a top-5 experiment's key
// names top5 where the top-1 key names top1, and takes the suffix _top5
// otherwise (claims.yaml's convention).
func (ms *measures) key(k string) string {
	if ms.crit != profileview.Top5 {
		return k
	}
	if strings.Contains(k, "top1") {
		return strings.Replace(k, "top1", "top5", 1)
	}
	return k + "_top5"
}

// set stores a plain value.
func (ms *measures) set(k string, v any) { ms.m[ms.key(k)] = v }

// iv stores stat's interval over st's images, or keeps the first error.
func (ms *measures) iv(k string, st cvStats, stat func(idx []int) float64) {
	iv, err := st.interval(stat)
	ms.put(k, iv, err)
}

// ivOrder stores the interval of a ratio of two costs (intervalOrder).
func (ms *measures) ivOrder(k string, st cvStats, a, b func(idx []int, cost []float64) float64) {
	iv, err := st.intervalOrder(a, b)
	ms.put(k, iv, err)
}

// ivCost stores the interval of a statistic of latencies (intervalCost).
func (ms *measures) ivCost(k string, st cvStats, stat func(idx []int, cost []float64) float64) {
	iv, err := st.intervalCost(stat)
	ms.put(k, iv, err)
}

func (ms *measures) put(k string, iv report.Interval, err error) {
	if err != nil {
		if ms.err == nil {
			ms.err = fmt.Errorf("measure %s: %w", ms.key(k), err)
		}
		return
	}
	ms.m[ms.key(k)] = iv
}

// value is a stored measure's value (an interval's estimate).
func (ms *measures) value(k string) (float64, bool) {
	switch v := ms.m[ms.key(k)].(type) {
	case report.Interval:
		return v.Value, true
	case float64:
		return v, true
	}
	return 0, false
}
