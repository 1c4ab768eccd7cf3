package stages

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/modelpick/modelpick/external"
	"github.com/modelpick/modelpick/featsel"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/learners"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/selection"
	"github.com/modelpick/modelpick/store"
)

// SelectModelsIn is the input of Algorithm 1.
type SelectModelsIn struct {
	Store    pipeline.File `json:"store"`
	Datasets []string      `json:"datasets"`
	// Models restricts the profile to these models (all when empty).
	Models    []string  `json:"models,omitempty"`
	Criterion Criterion `json:"criterion"`
	Theta     float64   `json:"theta_pp"`
	Latency   *Latency  `json:"latency,omitempty"`
}

// SelectModelsOut is Algorithm 1's choice with its trace (Figs 5, 6) and
// what the trace's indices mean.
type SelectModelsOut struct {
	Models     []string  `json:"models"`
	Cost       []float64 `json:"cost"`
	CostSource string    `json:"cost_source"`
	// Rank is each model's place in cost order under the tie rule (0: the
	// cheapest; profileview.View.Order).
	Rank     []int           `json:"cost_rank"`
	Images   int             `json:"images"`
	Excluded map[string]int  `json:"excluded"`
	Trace    selection.Trace `json:"trace"`
	// OracleAll is the oracle accuracy of all models together (%).
	OracleAll float64 `json:"oracle_all_pct"`
	// Criterion is the criterion the targets were computed under.
	Criterion Criterion `json:"criterion"`
	// Stats are Figs 5 and 6's statistics of the images with their
	// bootstrap intervals (selectionStats).
	Stats map[string]Interval `json:"stats"`
}

// selectModelsVersion 2: the ranks, the criterion and the bootstrap
// statistics of the images in the output.
const selectModelsVersion = "3" // 3: n_chosen's interval

// SelectModels runs Algorithm 1 on a store's profile.
func SelectModels() pipeline.Stage[SelectModelsIn, SelectModelsOut] {
	return pipeline.Stage[SelectModelsIn, SelectModelsOut]{
		Name: "select-models", Version: selectModelsVersion, Code: []string{profileview.RankRule},
		Run: func(ctx context.Context, w *pipeline.Work, in SelectModelsIn) (SelectModelsOut, error) {
			var out SelectModelsOut
			st, err := store.Open(in.Store.Path)
			if err != nil {
				return out, err
			}
			defer st.Close()
			v, err := profileview.Load(ctx, st, profileview.Options{Criterion: profileview.Criterion(in.Criterion),
				Datasets: in.Datasets, Models: in.Models, Published: in.Latency, MMACs: true})
			if err != nil {
				return out, err
			}
			correct := v.Correct()
			tr, err := v.SelectModels(in.Theta)
			if err != nil {
				return out, err
			}
			all := make([]int, len(v.Models))
			for i := range all {
				all[i] = i
			}
			rank := make([]int, len(v.Models))
			for k, j := range v.Order() {
				rank[j] = k
			}
			stats, err := selectionStats(v, tr, in.Theta)
			if err != nil {
				return out, fmt.Errorf("select models: %w", err)
			}
			return SelectModelsOut{Models: v.Models, Cost: v.Cost, CostSource: v.CostFrom.String(), Rank: rank, Images: len(v.Items),
				Excluded: v.Excluded, Trace: tr, OracleAll: selection.Oracle(correct, all), Criterion: in.Criterion, Stats: stats}, nil
		},
	}
}

// ImportIn is the input of the import stage.
type ImportIn struct {
	Dir         pipeline.File  `json:"dir"`
	Format      string         `json:"format"`
	Dataset     string         `json:"dataset"`
	GroundTruth *pipeline.File `json:"ground_truth,omitempty"`
	Models      []string       `json:"models,omitempty"`
	// Limit keeps the first Limit images (0: all).
	Limit int `json:"limit,omitempty"`
}

// ImportOut is the store of imported results.
type ImportOut struct {
	Store   pipeline.File    `json:"store"`
	Summary external.Summary `json:"summary"`
}

const importVersion = "1"

// Import reads external per-image results into a store.
func Import() pipeline.Stage[ImportIn, ImportOut] {
	return pipeline.Stage[ImportIn, ImportOut]{
		Name: "import", Version: importVersion,
		Run: func(ctx context.Context, w *pipeline.Work, in ImportIn) (ImportOut, error) {
			var out ImportOut
			if in.Format != external.FormatTopK {
				return out, fmt.Errorf("import: format %q, want %s", in.Format, external.FormatTopK)
			}
			path := w.Path("imported.db")
			if err := removeStore(path); err != nil {
				return out, err
			}
			st, err := store.Open(path)
			if err != nil {
				return out, err
			}
			o := external.Options{Dir: in.Dir.Path, Dataset: in.Dataset, Models: in.Models, Limit: in.Limit}
			if in.GroundTruth != nil {
				o.GroundTruth = in.GroundTruth.Path
			}
			if out.Summary, err = external.ImportTopK(ctx, st, o); err != nil {
				st.Close()
				return out, err
			}
			out.Store, err = closeDigest(ctx, w, st, "imported.db")
			return out, err
		},
	}
}

// SelectFeaturesIn is the input of feature selection (featsel.Select).
type SelectFeaturesIn struct {
	Store     pipeline.File `json:"store"`
	Datasets  []string      `json:"datasets"`
	ConfigKey string        `json:"config_key"`
	Names     []string      `json:"names"`
	Criterion Criterion     `json:"criterion"`
	Folds     int           `json:"folds"`
	Seed      int64         `json:"seed"`
	Threshold float64       `json:"threshold"`
	Tolerance float64       `json:"tolerance_pp"`
	Learner   string        `json:"learner"`
	K         int           `json:"k"`
	// Resamples bootstrap resamples of the images (seeded by Seed) give
	// Table 4's frequencies and every interval; KeepShare is the share of
	// them that must keep a feature for Table 4 to list it.
	Resamples int     `json:"resamples"`
	KeepShare float64 `json:"keep_share"`
}

// SelectFeaturesOut is what feature selection found, with featsel's own
// records (WriteRecords) beside it for people.
type SelectFeaturesOut struct {
	Records pipeline.File `json:"records"`
	// Kept is Table 4's set (featsel.Resampling's rule).
	Kept      []string            `json:"kept"`
	Filtered  []string            `json:"filtered"`
	Removed   []Removal           `json:"removed"`
	Pairs     []Pair              `json:"correlations"`
	All       featsel.Score       `json:"all_features"`
	Frequency []featsel.Frequency `json:"frequency"`
	// Importance is Fig 7's (Table 4's set), FilteredImportance Fig 12's.
	Importance         []featsel.Importance `json:"importance"`
	FilteredImportance []featsel.Importance `json:"filtered_importance"`
	Sweep              []featsel.SweepPoint `json:"sweep"`
	Summary            featsel.Summary      `json:"summary"`
	Rule               string               `json:"rule"`
	// Reached[i] is the feature removed to reach Sweep[i] ("" for points
	// not reached by a removal on the path).
	Reached   []string         `json:"reached_by_removing"`
	SweepSets [][]string       `json:"sweep_sets"`
	Load      featsel.LoadInfo `json:"load"`
}

// Pair is Pearson's r between two features on all images, and on each
// bootstrap resample of featsel's; nil where undefined (a constant
// feature).
type Pair struct {
	A         string     `json:"a"`
	B         string     `json:"b"`
	R         *float64   `json:"r"`
	Resampled []*float64 `json:"resampled"`
}

// finite is v, or nil when v is not a number.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Removal is a feature the correlation filter removed; R is nil for a
// constant feature (no correlation is defined).
type Removal struct {
	Removed string   `json:"removed"`
	Kept    string   `json:"kept"`
	R       *float64 `json:"r"`
	Reason  string   `json:"reason"`
}

// selectFeaturesVersion 3 (2 was a development state): elimination tracks the premodel's accuracy
// under the criterion (not its selection accuracy), Table 4 is the rule
// over bootstrap resamples, Fig 12 covers every filtered feature.
const selectFeaturesVersion = "3"

// SelectFeatures runs the correlation filter, backward elimination,
// importance and the accuracy sweep; extraction time is a separate,
// volatile stage (FeatureTiming) so that this one must reproduce exactly.
func SelectFeatures() pipeline.Stage[SelectFeaturesIn, SelectFeaturesOut] {
	return pipeline.Stage[SelectFeaturesIn, SelectFeaturesOut]{
		Name: "select-features", Version: selectFeaturesVersion,
		Describe: func(in SelectFeaturesIn) string {
			return fmt.Sprintf("feature selection on %s (%s), %d-fold CV, elimination on all images and %d bootstrap resamples",
				strings.Join(in.Datasets, "+"), in.Criterion, in.Folds, in.Resamples)
		},
		Code: []string{goVersion(), profileview.RankRule}, // float sums and sorts of the CV; targets
		Run: func(ctx context.Context, w *pipeline.Work, in SelectFeaturesIn) (SelectFeaturesOut, error) {
			var out SelectFeaturesOut
			st, err := store.Open(in.Store.Path)
			if err != nil {
				return out, err
			}
			defer st.Close()
			params := learners.Params{K: in.K}
			if _, err := featsel.NewLearner(in.Learner, params); err != nil {
				return out, err
			}
			t, err := profileview.LoadTable(ctx, st, profileview.Options{Criterion: profileview.Criterion(in.Criterion),
				Datasets: in.Datasets, MMACs: true}, in.ConfigKey, in.Names)
			if err != nil {
				return out, err
			}
			o := featsel.Options{Threshold: in.Threshold, Tolerance: in.Tolerance, CV: featsel.CVOptions{
				Folds: in.Folds, Seed: in.Seed, Workers: 2,
				New: func() learners.Learner { l, _ := featsel.NewLearner(in.Learner, params); return l }},
				Resample: featsel.ResampleOptions{Resamples: in.Resamples, KeepShare: in.KeepShare, Seed: in.Seed},
				Progress: w.Log}
			rep, err := featsel.Run(ctx, t, o)
			if err != nil {
				return out, err
			}
			// Only inputs and settings: no paths, dates or timings, so the
			// records reproduce byte for byte.
			rep.Manifest = featsel.Manifest{Store: in.Store.Identity(), Criterion: profileview.Criterion(in.Criterion),
				Folds: in.Folds, Seed: in.Seed, Threshold: in.Threshold, Tolerance: in.Tolerance,
				Resamples: rep.Resampling.Resamples, ResampleSeed: rep.Resampling.Seed, KeepShare: rep.Resampling.KeepShare,
				Learner:         fmt.Sprintf("learners %q (K=%d) on min-max scaled features, scaler fitted on each training fold", in.Learner, in.K),
				FeaturesVersion: features.Version, ConfigKey: in.ConfigKey}
			dir := w.Path("records")
			if err := os.RemoveAll(dir); err != nil {
				return out, err
			}
			if err := featsel.WriteRecords(dir, rep); err != nil {
				return out, err
			}
			if out.Records, err = w.Runner().HashDir(dir); err != nil {
				return out, err
			}
			out.Kept, out.Filtered, out.All = rep.Resampling.Kept, rep.Filter.Kept, rep.AllAccuracy
			out.Frequency, out.Summary, out.Rule = rep.Resampling.Frequency, rep.Summary, rep.Resampling.Rule
			out.SweepSets = featsel.SweepSets(t.Names, rep.Elimination, rep.Resampling)
			out.Load = rep.Load
			m := rep.Filter.Matrix
			for i := range m.Names {
				for j := i + 1; j < len(m.Names); j++ {
					p := Pair{A: m.Names[i], B: m.Names[j], R: finite(m.R[i][j])}
					for _, run := range rep.Resampling.Runs {
						p.Resampled = append(p.Resampled, finite(run.R[i][j]))
					}
					out.Pairs = append(out.Pairs, p)
				}
			}
			for _, x := range rep.Filter.Removed {
				rm := Removal{Removed: x.Removed, Kept: x.Kept, Reason: x.Reason}
				if !math.IsNaN(x.R) {
					r := x.R
					rm.R = &r
				}
				out.Removed = append(out.Removed, rm)
			}
			out.Importance, out.FilteredImportance = rep.Importance, rep.FilteredImportance
			out.Sweep = rep.Sweep
			for i, p := range rep.Sweep {
				reached := ""
				if p.Stage == featsel.StageElimination && i >= 2 {
					reached = rep.Elimination.Path[i-1].Removed
				}
				out.Reached = append(out.Reached, reached)
			}
			return out, nil
		},
	}
}

// FeatureTimingIn is the input of the extraction-time measurement.
type FeatureTimingIn struct {
	Sets    [][]string      `json:"sets"`
	Images  []pipeline.File `json:"images"`
	MaxSide int             `json:"max_side"`
	Reps    int             `json:"reps"`
	// Platform names the machine: a time belongs to a device.
	Platform string `json:"platform"`
	// Session: as CostIn's.
	Session string `json:"session,omitempty"`
}

// FeatureTimingOut is the mean extraction time per image of each set, and
// each image's time (the images' order), whose spread gives a ratio of two
// sets' means its interval.
type FeatureTimingOut struct {
	MS      []float64   `json:"ms_per_image"`
	ImageMS [][]float64 `json:"ms_by_image,omitempty"`
}

// FeatureTiming measures, single-threaded, the time to decode an image and
// extract each feature set (featsel.TimeSets).
func FeatureTiming() pipeline.Stage[FeatureTimingIn, FeatureTimingOut] {
	return pipeline.Stage[FeatureTimingIn, FeatureTimingOut]{
		// 2: OpenCV serial (featsel.TimeSets), as the classifier.
		// 3: each image's time too.
		Name: "feature-timing", Version: "3",
		Code:     []string{"features " + features.Version, opencvVersion()},
		Volatile: []string{"ms_per_image", "ms_by_image"},
		Run: func(ctx context.Context, w *pipeline.Work, in FeatureTimingIn) (FeatureTimingOut, error) {
			imgs := make([][]byte, len(in.Images))
			for i, f := range in.Images {
				b, err := os.ReadFile(f.Path)
				if err != nil {
					return FeatureTimingOut{}, err
				}
				imgs[i] = b
			}
			per, err := featsel.TimeSetsImages(in.Sets, imgs, features.Options{MaxSide: in.MaxSide}, in.Reps)
			if err != nil {
				return FeatureTimingOut{}, err
			}
			out := FeatureTimingOut{ImageMS: per}
			for _, ms := range per {
				var sum float64
				for _, v := range ms {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						return FeatureTimingOut{}, fmt.Errorf("feature timing: non-finite time %v", v)
					}
					sum += v
				}
				out.MS = append(out.MS, sum/float64(len(ms)))
			}
			return out, nil
		},
	}
}

// TimingImages returns the first n images of the set that extract, hashed.
func TimingImages(r *pipeline.Runner, d DataSet, n int) ([]pipeline.File, error) {
	set, err := d.Load()
	if err != nil {
		return nil, err
	}
	ex, err := features.NewExtractor(nil, features.Options{})
	if err != nil {
		return nil, err
	}
	var out []pipeline.File
	for _, i := range d.Items(set) {
		if len(out) == n {
			break
		}
		p := filepath.Join(set.Dir, filepath.FromSlash(set.Items[i].File))
		if _, err := ex.ExtractFile(p); err != nil {
			continue
		}
		f, err := r.HashFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no image of %s extracts", d.Name)
	}
	return out, nil
}
