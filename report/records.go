package report

import "github.com/modelpick/modelpick/method"

// Record types: one per kind of row an experiment writes. JSON names are
// also the CSV header. Percentages are 0..100.

// OptimumShare is one model's share of images for which it is the optimum
// (Fig 5).
type OptimumShare struct {
	Model string `json:"model"`
	// Cost is the model's cost in CostUnit (ms, or MMACs).
	Cost     float64 `json:"cost"`
	CostUnit string  `json:"cost_unit"`
	// AccuracyPct is the model's accuracy on all images under the criterion.
	AccuracyPct float64 `json:"accuracy_pct"`
	Images      int     `json:"images"`
	SharePct    float64 `json:"share_pct"`
	// Chosen says Algorithm 1 picked the model; Order is its position in
	// the chosen set (1 = first), 0 when not chosen.
	Chosen bool `json:"chosen"`
	Order  int  `json:"order"`
}

// SubsetAccuracy is one model's accuracy on a subset of images (Fig 6:
// a = all images, b = those the first chosen model fails, c = those the
// first two fail).
type SubsetAccuracy struct {
	Panel       string  `json:"panel"`
	Subset      string  `json:"subset"`
	Images      int     `json:"images"`
	Model       string  `json:"model"`
	AccuracyPct float64 `json:"accuracy_pct"`
	// Picked says Algorithm 1 picked this model at this step.
	Picked bool `json:"picked"`
}

// SelectionStep is one iteration of Algorithm 1.
type SelectionStep struct {
	Step      int     `json:"step"`
	Candidate string  `json:"candidate"`
	Failed    int     `json:"failed_before"`
	GainPP    float64 `json:"gain_pp"`
	OraclePct float64 `json:"oracle_pct"`
	Added     bool    `json:"added"`
	Set       string  `json:"set"`
}

// MotivationCell is one model's answer on one image of the motivation
// study (Table 1).
type MotivationCell struct {
	Image     int     `json:"image"`
	Role      string  `json:"role"`
	File      string  `json:"file"`
	Label     int     `json:"label"`
	Model     string  `json:"model"`
	CostMS    float64 `json:"cost_ms"`
	Top1      bool    `json:"top1"`
	Top5      bool    `json:"top5"`
	Predicted int     `json:"predicted"`
}

// ImageTime is one model's inference time on one image (Fig 1d).
type ImageTime struct {
	Image    int     `json:"image"`
	Role     string  `json:"role"`
	File     string  `json:"file"`
	Model    string  `json:"model"`
	N        int     `json:"n"`
	MeanMS   float64 `json:"mean_ms"`
	CILowMS  float64 `json:"ci_low_ms"`
	CIHighMS float64 `json:"ci_high_ms"`
}

// FeatureDef is one candidate feature (Table 2).
type FeatureDef struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Definition string `json:"definition"`
}

// CorrelationRemoval is one feature the correlation filter removed
// (Table 3).
type CorrelationRemoval struct {
	Removed string  `json:"removed"`
	Kept    string  `json:"kept"`
	R       float64 `json:"r"`
	Reason  string  `json:"reason"`
}

// KeptFeature is one feature left by the correlation filter, with how
// often elimination kept it over the bootstrap resamples and whether
// Table 4 lists it (kept by most resamples).
type KeptFeature struct {
	Feature      string  `json:"feature"`
	Kind         string  `json:"kind"`
	KeptSharePct float64 `json:"kept_share_pct"`
	InTable4     bool    `json:"in_table4"`
	// ImportancePct is Fig 7's share (median over resamples) with its
	// interval; nil outside Table 4.
	ImportancePct   *float64 `json:"importance_pct"`
	ImportanceLoPct *float64 `json:"importance_lo_pct"`
	ImportanceHiPct *float64 `json:"importance_hi_pct"`
}

// Importance is one feature's importance under a criterion (Figs 7, 12):
// the premodel accuracy lost when it alone is removed from its set, on all
// images (AccuracyWithoutPct, DropPP) and over bootstrap resamples (median
// and interval), and that loss's share of all positive losses (median and
// interval over the resamples).
type Importance struct {
	Criterion          string  `json:"criterion"`
	Feature            string  `json:"feature"`
	Rank               int     `json:"rank"`
	InTable4           bool    `json:"in_table4"`
	KeptSharePct       float64 `json:"kept_share_pct"`
	AccuracyWithoutPct float64 `json:"accuracy_without_pct"`
	DropPP             float64 `json:"drop_pp"`
	DropMedianPP       float64 `json:"drop_median_pp"`
	DropLoPP           float64 `json:"drop_lo_pp"`
	DropHiPP           float64 `json:"drop_hi_pp"`
	ImportancePct      float64 `json:"importance_pct"`
	ImportanceLoPct    float64 `json:"importance_lo_pct"`
	ImportanceHiPct    float64 `json:"importance_hi_pct"`
}

// SweepPoint is the premodel's accuracy and the extraction time with a
// number of features (Fig 13): on all images, and over bootstrap
// resamples (median and interval).
type SweepPoint struct {
	NFeatures    int     `json:"n_features"`
	Stage        string  `json:"stage"`
	AccuracyPct  float64 `json:"accuracy_pct"`
	SelectionPct float64 `json:"selection_pct"`
	MedianPct    float64 `json:"resampled_median_pct"`
	LoPct        float64 `json:"resampled_lo_pct"`
	HiPct        float64 `json:"resampled_hi_pct"`
	// ExtractMS is nil when not measured.
	ExtractMS *float64 `json:"extract_ms"`
	Removed   string   `json:"removed"`
	Features  string   `json:"features"`
}

// ModelSummary is one candidate model of a profile: accuracy, cost and
// what Algorithm 1 did with it.
type ModelSummary struct {
	Model           string  `json:"model"`
	Top1Pct         float64 `json:"top1_pct"`
	LatencyMS       float64 `json:"latency_ms"`
	LatencySource   string  `json:"latency_source"`
	OptimumSharePct float64 `json:"optimum_share_pct"`
	Chosen          bool    `json:"chosen"`
	Order           int     `json:"order"`
}

// Scalar is one named number of an experiment's summary.
type Scalar struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// MethodSummary is one method's result under repeated cross-validation
// (Figs 8-11): each value pooled over the test images (each answered by
// a premodel trained without it) and averaged over the seeds, with its
// 95% interval ([Lo, Hi]: a bootstrap over the images, latencies drawn
// within their measured intervals). The paper's statistic, the geometric
// mean over the folds, is kept beside top-1 and the mean time (Geo).
type MethodSummary struct {
	Dataset string `json:"dataset"`
	// Group is what the figure varies: a learner (Fig 9), a hierarchy
	// (Fig 10), a number of models (Fig 11); "" for Fig 8.
	Group  string      `json:"group"`
	Method method.Name `json:"method"`
	Kind   method.Kind `json:"kind"`
	// Criterion is the premodel's (its targets and its figures' accuracy).
	Criterion string  `json:"criterion"`
	Top1Pct   float64 `json:"top1_pct"`
	Top1LoPct float64 `json:"top1_lo_pct"`
	Top1HiPct float64 `json:"top1_hi_pct"`
	Top5Pct   float64 `json:"top5_pct"`
	Top5LoPct float64 `json:"top5_lo_pct"`
	Top5HiPct float64 `json:"top5_hi_pct"`
	MeanMS    float64 `json:"mean_ms"`
	MeanLoMS  float64 `json:"mean_lo_ms"`
	MeanHiMS  float64 `json:"mean_hi_ms"`
	// MinImageMS and MaxImageMS are the fastest and the slowest test
	// image (the paper's Fig 11 bars: "the range of inference time across
	// testing images").
	MinImageMS float64 `json:"min_image_ms"`
	MaxImageMS float64 `json:"max_image_ms"`
	// AccuracyGeoPct (under the criterion) and MeanGeoMS are the
	// geometric means over the folds of every seed (the paper's "geometric
	// mean ... across the cross-validation folds"); 0 when a fold has 0.
	AccuracyGeoPct float64 `json:"accuracy_geo_pct"`
	MeanGeoMS      float64 `json:"mean_geo_ms"`
	// OverheadMS is the premodel's own time per image (features and
	// decision); 0 for other methods.
	OverheadMS float64 `json:"overhead_ms"`
	// PrecisionPct and RecallPct are macro averages over the classes; F1Pct
	// is the paper's 2PR/(P+R) of those two, MacroF1Pct the mean of the
	// classes' own F1.
	PrecisionPct float64 `json:"precision_pct"`
	RecallPct    float64 `json:"recall_pct"`
	F1Pct        float64 `json:"f1_pct"`
	MacroF1Pct   float64 `json:"macro_f1_pct"`
	// OfOraclePct is the accuracy under the criterion as a share of the
	// all-model oracle's.
	OfOraclePct float64 `json:"of_oracle_pct"`
	// SelectionAccPct is how often the premodel named the optimum
	// candidate (premodels only).
	SelectionAccPct *float64 `json:"selection_accuracy_pct"`
	// Routing is the share of images each model answered, e.g. "a 61.2%,
	// c 38.8%"; empty for single models.
	Routing string `json:"routing"`
	// EnergyJ is nil when not measured; EnergyStatus says why.
	EnergyJ      *float64 `json:"energy_j"`
	EnergyStatus string   `json:"energy_status"`
	Candidates   string   `json:"candidates"`
	Folds        int      `json:"folds"`
	Seeds        int      `json:"seeds"`
}

// CurvePoint is one point of a cost/accuracy curve, with its accuracy's
// 95% interval (a bootstrap over the images; equal to the accuracy where
// none was drawn).
type CurvePoint struct {
	Dataset     string      `json:"dataset"`
	Method      method.Name `json:"method"`
	Param       float64     `json:"param"`
	AccuracyPct float64     `json:"accuracy_pct"`
	AccuracyLo  float64     `json:"accuracy_lo_pct"`
	AccuracyHi  float64     `json:"accuracy_hi_pct"`
	MeanMS      float64     `json:"mean_ms"`
}
