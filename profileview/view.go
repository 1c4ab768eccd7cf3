package profileview

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/modelpick/modelpick/store"
)

// Item is one image of a view.
type Item struct {
	Dataset string `json:"dataset"`
	File    string `json:"file"`
	SHA256  string `json:"sha256"` // content hash: the key of stored features
	Label   int    `json:"label"`
}

// View is a store's profile: the images every model of the view was
// profiled on, in store order (data set, file), and the models sorted by
// name. Row i of every matrix is Items[i]; column j is Models[j].
type View struct {
	Store     string    `json:"store"`
	Criterion Criterion `json:"criterion"`
	Datasets  []string  `json:"datasets"`
	Models    []string  `json:"models"`
	// Cost is each model's cost (ms, or MMACs when CostFrom says so) and
	// CostP95 its 95th-percentile latency (nil unless measured here).
	Cost     []float64  `json:"cost"`
	CostP95  []float64  `json:"cost_p95_ms,omitempty"`
	CostFrom CostSource `json:"cost_from"`
	// CostLow and CostHigh bound each model's mean latency: the measured
	// 95% confidence interval, or Cost itself for published figures and
	// MMACs, which are exact as given.
	CostLow  []float64 `json:"cost_low,omitempty"`
	CostHigh []float64 `json:"cost_high,omitempty"`
	// Resolution is the relative cost difference within which models tie
	// when ranked (Order): Resolution for measured latency, 0 for
	// published figures and MMACs, which are exact as given.
	Resolution float64 `json:"cost_resolution"`
	// MMACs is each model's multiply-accumulates from its spec (0 when the
	// spec gives none): the tie rule's hardware-independent key.
	MMACs []float64 `json:"mmacs,omitempty"`
	// EnergyStatus says whether the costs table holds energy ("measured")
	// or why not (its rows' statuses); "" when the costs are not measured.
	EnergyStatus string `json:"energy_status,omitempty"`
	// FilesSHA256 and SpecJSON are each model's files hash and spec as
	// registered in the store.
	FilesSHA256 []string `json:"files_sha256"`
	SpecJSON    []string `json:"-"`

	Items    []Item   `json:"-"`
	Correct1 [][]bool `json:"-"`
	Correct5 [][]bool `json:"-"`
	// Score is each model's top-1 score (its max softmax; 0 when it
	// stored no score) and Pred its top-1 class (-1 when none).
	Score [][]float64 `json:"-"`
	Pred  [][]int     `json:"-"`
	// Excluded counts the images left out, by reason.
	Excluded map[string]int `json:"excluded"`
}

// Options select what Load reads.
type Options struct {
	Criterion Criterion
	// Datasets restricts the images to these data sets (empty: every data
	// set with predictions).
	Datasets []string
	// Models restricts the view to these models (empty: every model with
	// predictions).
	Models []string
	// Threads picks the cost rows measured at this ONNX Runtime thread
	// count (0: 1 when every model has it, else the smallest count that
	// every model has).
	Threads int
	// Published, when set, gives each model's cost instead of a costs
	// table (published figures, measured elsewhere).
	Published *Published
	// CostStore is the store whose costs table gives the latencies (nil:
	// the profiled store): costs belong to the device, not to the images.
	CostStore *store.Store
	// MMACs lets a store without a latency for every model fall back to
	// the specs' MMACs as cost.
	MMACs bool
}

// Reasons an image is left out of a view or a table.
const (
	ExcludedUnreadable  = "unreadable when profiled"
	ExcludedMissing     = "missing a model's prediction"
	ExcludedFeatureErr  = "feature error"
	ExcludedNoFeatures  = "features not extracted"
	ExcludedNonFinite   = "non-finite feature"
	profileFix          = "run `modelpick profile -models SPEC -data DIR -store %s` first"
	fewerThanFiveHint   = "use -criterion top1, or profile %s again with modelpick profile"
	predictionsFromNone = "store %s has no predictions: " + profileFix
)

// answer is one stored prediction, as a view keeps it.
type answer struct {
	c1, c5 bool
	score  float64
	pred   int
}

type imageKey struct{ dataset, file string }

// Load reads the profile of a store. It fails, naming the fix, when the
// store has no predictions (of a named data set or model), when a model
// has no cost, or when the criterion needs top-5 lists the store does not
// hold (an imported top-1 profile).
func Load(ctx context.Context, st *store.Store, o Options) (*View, error) {
	if _, err := ParseCriterion(string(o.Criterion)); err != nil {
		return nil, fmt.Errorf("load profile from %s: %w", st.Path(), err)
	}
	v := &View{Store: st.Path(), Criterion: o.Criterion, Excluded: map[string]int{}}
	byImage, short, err := v.readPredictions(ctx, st, o)
	if err != nil {
		return nil, err
	}
	if o.Criterion == Top5 {
		for _, m := range v.Models {
			if short[m] > 0 {
				return nil, fmt.Errorf("load profile: criterion top5, but store %s holds fewer than 5 classes for %d predictions of %s "+
					"(a top-1-only profile): "+fewerThanFiveHint, st.Path(), short[m], m, m)
			}
		}
	}
	if err := v.loadCost(ctx, st, o); err != nil {
		return nil, err
	}
	if err := v.loadSpecs(ctx, st); err != nil {
		return nil, err
	}
	if err := v.readImages(ctx, st, byImage); err != nil {
		return nil, err
	}
	return v, nil
}

// readPredictions reads the kept predictions by image and sets the view's
// models and data sets; short counts each model's predictions with fewer
// than 5 classes.
func (v *View) readPredictions(ctx context.Context, st *store.Store, o Options) (map[imageKey]map[string]answer, map[string]int, error) {
	preds, err := st.Predictions(ctx, "")
	if err != nil {
		return nil, nil, fmt.Errorf("load profile: %w", err)
	}
	byImage := map[imageKey]map[string]answer{}
	models, dsets, short := map[string]bool{}, map[string]bool{}, map[string]int{}
	for _, r := range preds {
		if (len(o.Datasets) > 0 && !slices.Contains(o.Datasets, r.Dataset)) || (len(o.Models) > 0 && !slices.Contains(o.Models, r.Model)) {
			continue
		}
		k := imageKey{r.Dataset, r.File}
		if byImage[k] == nil {
			byImage[k] = map[string]answer{}
		}
		a := answer{c1: r.Correct1, c5: r.Correct5, pred: -1}
		if len(r.Top5Idx) > 0 {
			a.pred = r.Top5Idx[0]
		}
		if len(r.Top5Score) > 0 {
			a.score = r.Top5Score[0]
		}
		byImage[k][r.Model] = a
		models[r.Model], dsets[r.Dataset] = true, true
		if len(r.Top5Idx) < 5 {
			short[r.Model]++
		}
	}
	for _, d := range o.Datasets {
		if !dsets[d] {
			return nil, nil, fmt.Errorf("load profile: store %s has no predictions for data set %q (it has: %s)",
				st.Path(), d, strings.Join(datasetsOf(preds), ", "))
		}
	}
	for _, m := range o.Models {
		if !models[m] {
			return nil, nil, fmt.Errorf("load profile: store %s has no predictions by model %s", st.Path(), m)
		}
	}
	if len(byImage) == 0 {
		return nil, nil, fmt.Errorf("load profile: "+predictionsFromNone, st.Path(), st.Path())
	}
	v.Models, v.Datasets = sortedKeys(models), sortedKeys(dsets)
	return byImage, short, nil
}

// readImages keeps, in store order, the images every model answered.
func (v *View) readImages(ctx context.Context, st *store.Store, byImage map[imageKey]map[string]answer) error {
	images, err := st.Images(ctx, "")
	if err != nil {
		return fmt.Errorf("load profile: %w", err)
	}
	m := len(v.Models)
	for _, im := range images {
		cells, ok := byImage[imageKey{im.Dataset, im.File}]
		switch {
		case !ok:
			continue // another data set
		case im.Error != "":
			v.Excluded[ExcludedUnreadable]++
			continue
		case len(cells) != m:
			v.Excluded[ExcludedMissing]++
			continue
		}
		r1, r5 := make([]bool, m), make([]bool, m)
		score, pred := make([]float64, m), make([]int, m)
		for j, name := range v.Models {
			a := cells[name]
			r1[j], r5[j], score[j], pred[j] = a.c1, a.c5, a.score, a.pred
		}
		v.Items = append(v.Items, Item{Dataset: im.Dataset, File: im.File, SHA256: im.SHA256, Label: im.Label})
		v.Correct1, v.Correct5 = append(v.Correct1, r1), append(v.Correct5, r5)
		v.Score, v.Pred = append(v.Score, score), append(v.Pred, pred)
	}
	if len(v.Items) == 0 {
		return fmt.Errorf("load profile: no image of %s in store %s has a prediction by every model (excluded: %v): "+
			"profile every model on the same images", strings.Join(v.Datasets, ", "), st.Path(), v.Excluded)
	}
	return nil
}

func (v *View) loadSpecs(ctx context.Context, st *store.Store) error {
	rows, err := st.Models(ctx)
	if err != nil {
		return fmt.Errorf("load profile: %w", err)
	}
	by := map[string]store.ModelRow{}
	for _, r := range rows {
		by[r.Name] = r
	}
	v.FilesSHA256, v.SpecJSON = make([]string, len(v.Models)), make([]string, len(v.Models))
	v.MMACs = make([]float64, len(v.Models))
	for j, name := range v.Models {
		r, ok := by[name]
		if !ok { // the store refuses such predictions, so only a corrupt file gets here
			return fmt.Errorf("load profile: store %s has predictions of %s but no registered spec", st.Path(), name)
		}
		v.FilesSHA256[j], v.SpecJSON[j], v.MMACs[j] = r.FilesSHA256, r.SpecJSON, mmacsOf(r.SpecJSON)
	}
	return nil
}

func datasetsOf(preds []store.PredictionRow) []string {
	m := map[string]bool{}
	for _, r := range preds {
		m[r.Dataset] = true
	}
	return sortedKeys(m)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
