package premodel

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/modelpick/modelpick/method"

	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/route"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/selection"
)

// EvalOptions tune Evaluate.
type EvalOptions struct {
	// Image returns the encoded bytes of a test image, so the feature
	// extraction the premodel pays at run time is timed here, on this
	// machine. Nil: extraction is not timed, and the report says so.
	Image func(it profileview.Item) ([]byte, error)
	// FeatureMS, when set, gives each test image's feature-extraction time
	// as recorded in the device's cost profile (package device), instead
	// of timing it here: the experiments' overhead then does not move
	// from run to run. It takes precedence over Image.
	FeatureMS func(it profileview.Item) (float64, error)
	// DecisionMS, when set, is every decision's time, as recorded in the
	// device's cost profile (the fold's mean), instead of timing it here.
	DecisionMS *float64
	// MaxSide is the extractor's working-image side (the bundle's).
	MaxSide int
	// Repeats is how many times each decision is timed, averaged (default
	// 5: one decision takes microseconds, near the clock's resolution).
	Repeats int
}

// Report is the evaluation of a premodel on a test set profiled and
// featured apart from its training set.
type Report struct {
	Criterion  profileview.Criterion `json:"criterion"`
	TestStore  string                `json:"test_store"`
	Datasets   []string              `json:"datasets"`
	Images     int                   `json:"images"`
	Excluded   map[string]int        `json:"excluded"`
	Learner    string                `json:"learner"`
	Candidates []string              `json:"candidates"`
	Fallback   string                `json:"fallback"`
	Escalate   bool                  `json:"escalate"`
	// CostThreads is the thread count of the test store's latencies.
	CostThreads int `json:"cost_threads"`
	// Methods holds the premodel as configured, the premodel with
	// escalation switched the other way, every single model, and the
	// oracles (over all models, and over the candidates).
	Methods []Method `json:"methods"`
	// BestSingle is the single model with the highest top-1.
	BestSingle string `json:"best_single"`
	// SelectionAccuracy is the percentage of test images for which the
	// learner's choice equals the optimum among the candidates (none
	// included), under the criterion.
	SelectionAccuracy float64  `json:"selection_accuracy_pct"`
	Overhead          Overhead `json:"overhead"`
	Notes             []string `json:"notes"`
	Records           []Record `json:"records"`
}

// Method is one way of classifying the test set, with its figures.
type Method struct {
	Name method.Name `json:"name"`
	Kind method.Kind `json:"kind"` // premodel, single or oracle
	// Top1 and Top5 are accuracies in percent of the test images (an
	// image with no prediction counts as wrong).
	Top1 float64 `json:"top1_pct"`
	Top5 float64 `json:"top5_pct"`
	// MeanMS and P95MS are over the images' latencies: the chosen model's
	// mean latency from the test store's costs, plus, for the premodel,
	// the features and decision time measured here.
	MeanMS     float64 `json:"mean_ms"`
	P95MS      float64 `json:"p95_ms"`
	ModelMS    float64 `json:"model_mean_ms"`
	OverheadMS float64 `json:"overhead_mean_ms"`
	// Share is the percentage of images sent to each model ("none": no
	// prediction).
	Share map[string]float64 `json:"share_pct"`
	// OfOracle is Top1 as a percentage of the all-model oracle's top-1.
	OfOracle     float64 `json:"share_of_oracle_pct"`
	Escalated    float64 `json:"escalated_pct,omitempty"`
	NoPrediction float64 `json:"no_prediction_pct,omitempty"`
	// Choice is the model (column of the test set) each test image ran,
	// -1 for no prediction: the per-image outcome every figure above
	// summarises.
	Choice []int `json:"-"`
	// FeaturesMS and DecisionMS are a premodel's own time on each image
	// (nil for other methods); Decided is its learner's class (an index
	// into the candidates, -1 none) and Target the image's optimum among
	// the candidates (-1 none): selection and level accuracies.
	FeaturesMS []float64 `json:"-"`
	DecisionMS []float64 `json:"-"`
	Decided    []int     `json:"-"`
	Target     []int     `json:"-"`
}

// Overhead is the premodel's own time per image on this machine.
type Overhead struct {
	FeaturesMeasured bool    `json:"features_measured"`
	FeaturesMeanMS   float64 `json:"features_mean_ms"`
	FeaturesP95MS    float64 `json:"features_p95_ms"`
	DecisionMeanMS   float64 `json:"decision_mean_ms"`
	DecisionP95MS    float64 `json:"decision_p95_ms"`
}

// Record is the premodel's decision on one test image.
type Record struct {
	Dataset    string  `json:"dataset"`
	File       string  `json:"file"`
	Optimum    string  `json:"optimum"` // among the candidates; "none"
	Chosen     string  `json:"chosen"`  // the model run; "none"
	Reason     string  `json:"reason"`
	Class      int     `json:"class"`
	MeanDist   float64 `json:"mean_dist"`
	Far        bool    `json:"far"`
	Correct1   bool    `json:"correct1"`
	Correct5   bool    `json:"correct5"`
	FeaturesMS float64 `json:"features_ms"`
	DecisionMS float64 `json:"decision_ms"`
	ModelMS    float64 `json:"model_ms"`
}

// Evaluate routes every image of a test set with p and reports accuracy,
// latency and routing beside every single model and the oracles. Accuracy
// comes from the test store's predictions of the chosen model (the same
// model on the same image gives the same answer), model latency from the
// test store's costs, and the premodel's overhead is measured here.
func Evaluate(ctx context.Context, p *Premodel, test *profileview.Table, o EvalOptions) (Report, error) {
	if o.Repeats <= 0 {
		o.Repeats = 5
	}
	r := Report{Criterion: p.Criterion, TestStore: test.Store, Datasets: test.Datasets, Images: len(test.X),
		Excluded: test.Excluded, Learner: p.LearnerName, Candidates: p.Candidates, Fallback: orNone(p.Fallback),
		Escalate: p.Confidence.Escalate, CostThreads: test.CostFrom.Threads}
	if test.Criterion != p.Criterion {
		return r, fmt.Errorf("evaluate: test set read under %s, premodel trained under %s", test.Criterion, p.Criterion)
	}
	if !slices.Equal(test.Names, p.FeatureNames) || test.ConfigKey != p.ConfigKey {
		return r, fmt.Errorf("evaluate: test set has features %v under %s, premodel reads %v under %s",
			test.Names, test.ConfigKey, p.FeatureNames, p.ConfigKey)
	}
	col := map[string]int{}
	for _, m := range p.Models() {
		j := test.ModelIndex(m)
		if j < 0 {
			return r, fmt.Errorf("evaluate: test store %s has no predictions of %s, which the premodel may run: "+
				"profile it there (modelpick profile -only %s)", test.Store, m, m)
		}
		col[m] = j
	}
	candIdx := make([]int, len(p.Candidates))
	for i, m := range p.Candidates {
		candIdx[i] = col[m]
	}
	target, err := test.Targets(candIdx)
	if err != nil {
		return r, fmt.Errorf("evaluate: %w", err)
	}

	bbCol := -1
	if p.Backbone != nil {
		if bbCol = test.ModelIndex(p.Backbone.Model); bbCol < 0 {
			return r, fmt.Errorf("evaluate: test store %s has no latency of the backbone %s: profile it there (modelpick profile -only %s)",
				test.Store, p.Backbone.Model, p.Backbone.Model)
		}
		o.Image = nil // the premodel reads the stored embedding, not image features
	}
	var ex *features.Extractor
	switch {
	case p.Backbone != nil:
		r.Notes = append(r.Notes, fmt.Sprintf("cnn premodel: its overhead is the backbone %s's cost from the test store "+
			"(nothing when it answers itself, its run being the answer) plus the head's decision", p.Backbone.Model))
	case o.FeatureMS != nil:
		r.Overhead.FeaturesMeasured = true
	case o.Image != nil:
		if ex, err = features.NewExtractor(p.FeatureNames, features.Options{MaxSide: o.MaxSide}); err != nil {
			return r, fmt.Errorf("evaluate: %w", err)
		}
		if ex.ConfigKey() != p.ConfigKey {
			return r, fmt.Errorf("evaluate: max side %d gives features %s, the premodel reads %s", o.MaxSide, ex.ConfigKey(), p.ConfigKey)
		}
		r.Overhead.FeaturesMeasured = true
	default:
		r.Notes = append(r.Notes, "feature extraction not timed (no image files): latency includes the decision only")
	}
	other := p.WithEscalation(!p.Confidence.Escalate)
	n := len(test.X)
	featMS, decMS := make([]float64, n), make([]float64, n)
	decs, otherDecs := make([]route.Decision, n), make([]route.Decision, n)
	for i, x := range test.X {
		if err := ctx.Err(); err != nil {
			return r, fmt.Errorf("evaluate: %w", err)
		}
		if o.FeatureMS != nil && p.Backbone == nil {
			if featMS[i], err = o.FeatureMS(test.Items[i]); err != nil {
				return r, fmt.Errorf("evaluate: features of %s/%s: %w", test.Items[i].Dataset, test.Items[i].File, err)
			}
		} else if ex != nil {
			data, err := o.Image(test.Items[i])
			if err != nil {
				return r, fmt.Errorf("evaluate: image %s/%s: %w", test.Items[i].Dataset, test.Items[i].File, err)
			}
			if i == 0 { // warm up OpenCV's lazily built tables
				_, _ = ex.ExtractBytes(data)
			}
			t0 := time.Now()
			if _, err := ex.ExtractBytes(data); err != nil {
				return r, fmt.Errorf("evaluate: features of %s/%s: %w", test.Items[i].Dataset, test.Items[i].File, err)
			}
			featMS[i] = ms(time.Since(t0))
		}
		if o.DecisionMS != nil {
			if decs[i], err = p.Decide(x); err != nil {
				return r, fmt.Errorf("evaluate: %s/%s: %w", test.Items[i].Dataset, test.Items[i].File, err)
			}
			decMS[i] = *o.DecisionMS
		} else {
			t0 := time.Now()
			for range o.Repeats {
				if decs[i], err = p.Decide(x); err != nil {
					return r, fmt.Errorf("evaluate: %s/%s: %w", test.Items[i].Dataset, test.Items[i].File, err)
				}
			}
			decMS[i] = ms(time.Since(t0)) / float64(o.Repeats)
		}
		if otherDecs[i], err = other.Decide(x); err != nil {
			return r, fmt.Errorf("evaluate: %w", err)
		}
	}
	r.Overhead.FeaturesMeanMS, r.Overhead.FeaturesP95MS = mean(featMS), p95(featMS)
	r.Overhead.DecisionMeanMS, r.Overhead.DecisionP95MS = mean(decMS), p95(decMS)

	hits := 0
	for i, d := range decs {
		if d.Class == target[i] {
			hits++
		}
	}
	r.SelectionAccuracy = 100 * float64(hits) / float64(n)

	// The oracles: the optimum model of each image; an image that no
	// model gets right still has to be answered, by the cheapest model.
	oracleAll, err := test.Oracle(nil)
	if err != nil {
		return r, fmt.Errorf("evaluate: %w", err)
	}
	oracleCand, err := test.Oracle(candIdx)
	if err != nil {
		return r, fmt.Errorf("evaluate: %w", err)
	}
	oracle := ChoiceMethod(method.OracleAll, method.Oracle, test.View, oracleAll)
	name := method.PremodelOf(p.LearnerName)
	ownFeat, otherFeat := featMS, featMS
	if bbCol >= 0 {
		ownFeat, otherFeat = backboneMS(test, bbCol, decs), backboneMS(test, bbCol, otherDecs)
		r.Overhead.FeaturesMeanMS, r.Overhead.FeaturesP95MS = mean(ownFeat), p95(ownFeat)
	}
	own := premodelMethod(name, test, decs, ownFeat, decMS)
	own.Target = slices.Clone(target)
	otherName := name + method.Name(map[bool]string{true: " + escalation", false: " without escalation"}[other.Confidence.Escalate])
	if p.Confidence.Escalate {
		name += " + escalation"
		own.Name = name
	}
	alt := premodelMethod(otherName, test, otherDecs, otherFeat, decMS)
	alt.Target = slices.Clone(target)
	r.Methods = append(r.Methods, own, alt)
	best := -1.0
	for j, m := range test.Models {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = j
		}
		sm := ChoiceMethod(method.Name(m), method.Single, test.View, idx)
		if sm.Top1 > best {
			best, r.BestSingle = sm.Top1, m
		}
		r.Methods = append(r.Methods, sm)
	}
	r.Methods = append(r.Methods, oracle, ChoiceMethod(method.OracleCandidates, method.Oracle, test.View, oracleCand))
	for i := range r.Methods {
		if oracle.Top1 > 0 {
			r.Methods[i].OfOracle = 100 * r.Methods[i].Top1 / oracle.Top1
		}
	}

	for i, d := range decs {
		rec := Record{Dataset: test.Items[i].Dataset, File: test.Items[i].File, Optimum: "none", Chosen: orNone(d.Model),
			Reason: d.Reason, Class: d.Class, MeanDist: d.MeanDist, Far: d.Far, FeaturesMS: featMS[i], DecisionMS: decMS[i]}
		if target[i] != selection.None {
			rec.Optimum = p.Candidates[target[i]]
		}
		if d.Model != "" {
			j := col[d.Model]
			rec.Correct1, rec.Correct5, rec.ModelMS = test.Correct1[i][j], test.Correct5[i][j], test.Cost[j]
		}
		r.Records = append(r.Records, rec)
	}
	r.Notes = append(r.Notes,
		fmt.Sprintf("model latency: each model's mean Run time in the test store's costs table (%d thread(s)), excluding decoding and preprocessing; "+
			"p95 is over images, so a single model's p95 is its mean", test.CostFrom.Threads),
		overheadNote(o.FeatureMS != nil),
		"oracle: the cheapest model that is correct under the criterion; an image no model gets right goes to the cheapest model")
	return r, nil
}

// backboneMS is a cnn premodel's backbone cost per image: the backbone's
// latency, unless the decision runs the backbone itself.
func backboneMS(test *profileview.Table, col int, decs []route.Decision) []float64 {
	out := make([]float64, len(decs))
	for i, d := range decs {
		if d.Model != test.Models[col] {
			out[i] = test.Cost[col]
		}
	}
	return out
}

// premodelMethod summarises the premodel's decisions.
func premodelMethod(name method.Name, test *profileview.Table, decs []route.Decision, featMS, decMS []float64) Method {
	n := len(decs)
	m := Method{Name: name, Kind: method.Premodel, Share: map[string]float64{}, Choice: make([]int, n),
		FeaturesMS: slices.Clone(featMS), DecisionMS: slices.Clone(decMS), Decided: make([]int, n)}
	lat := make([]float64, n)
	var c1, c5, model, over, esc, none float64
	for i, d := range decs {
		m.Decided[i] = d.Class
		over += featMS[i] + decMS[i]
		lat[i] = featMS[i] + decMS[i]
		if d.Reason == route.ReasonEscalated {
			esc++
		}
		if d.Model == "" {
			none++
			m.Share["none"] += 100 / float64(n)
			m.Choice[i] = -1
			continue
		}
		j := test.ModelIndex(d.Model)
		m.Choice[i] = j
		m.Share[d.Model] += 100 / float64(n)
		if test.Correct1[i][j] {
			c1++
		}
		if test.Correct5[i][j] {
			c5++
		}
		model += test.Cost[j]
		lat[i] += test.Cost[j]
	}
	fn := float64(n)
	m.Top1, m.Top5 = 100*c1/fn, 100*c5/fn
	m.MeanMS, m.P95MS = mean(lat), p95(lat)
	m.ModelMS, m.OverheadMS = model/fn, over/fn
	m.Escalated, m.NoPrediction = 100*esc/fn, 100*none/fn
	return m
}

// ChoiceMethod summarises running model column idx[i] of test on image
// i, with no overhead: a single model, an oracle, or any router that runs
// one model per image (the rows every router's evaluation lists).
func ChoiceMethod(name method.Name, kind method.Kind, test *profileview.View, idx []int) Method {
	n := len(idx)
	m := Method{Name: name, Kind: kind, Share: map[string]float64{}, Choice: idx}
	lat := make([]float64, n)
	var c1, c5 float64
	for i, j := range idx {
		if test.Correct1[i][j] {
			c1++
		}
		if test.Correct5[i][j] {
			c5++
		}
		lat[i] = test.Cost[j]
		m.Share[test.Models[j]] += 100 / float64(n)
	}
	fn := float64(n)
	m.Top1, m.Top5 = 100*c1/fn, 100*c5/fn
	m.MeanMS, m.P95MS, m.ModelMS = mean(lat), p95(lat), mean(lat)
	return m
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// p95 is the nearest-rank 95th percentile.
func p95(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(math.Ceil(0.95*float64(len(s))))-1]
}

// Markdown renders a report's methods as a table.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Test set %s (%d images, criterion %s, latency at %d thread(s)); premodel %s over %s, fallback %s.\n\n",
		strings.Join(r.Datasets, ", "), r.Images, r.Criterion, r.CostThreads, r.Learner, strings.Join(r.Candidates, " > "), r.Fallback)
	fmt.Fprintln(&b, "| method | top-1 % | top-5 % | mean ms | p95 ms | model ms | overhead ms | % of oracle top-1 | sent to |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, m := range r.Methods {
		share := ""
		if m.Kind != method.Single {
			share = shares(m.Share)
		}
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.3f | %.3f | %.3f | %.3f | %.1f | %s |\n",
			m.Name, m.Top1, m.Top5, m.MeanMS, m.P95MS, m.ModelMS, m.OverheadMS, m.OfOracle, share)
	}
	fmt.Fprintf(&b, "\nPremodel selection accuracy %.1f%%; overhead per image: features %.3f ms (p95 %.3f), decision %.4f ms (p95 %.4f); best single model %s.\n",
		r.SelectionAccuracy, r.Overhead.FeaturesMeanMS, r.Overhead.FeaturesP95MS, r.Overhead.DecisionMeanMS, r.Overhead.DecisionP95MS, r.BestSingle)
	return b.String()
}

func shares(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.0f%%", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return FallbackNone
	}
	return s
}

// overheadNote says where the premodel's overhead came from.
func overheadNote(recorded bool) string {
	if recorded {
		return "premodel overhead: feature extraction from the encoded image (its own reduced decode included), as recorded in the device's cost profile, " +
			"and the decision (scaling, learner, neighbour distance), timed here"
	}
	return "premodel overhead: feature extraction from the encoded image (its own reduced decode included) and the decision (scaling, learner, neighbour distance), timed here"
}
