package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/modelpick/modelpick/extract"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/store"
)

// FeaturesIn is the input of the features stage.
type FeaturesIn struct {
	Set DataSet `json:"set"`
	// MaxSide is the working image's longest side (0 = the default).
	MaxSide int `json:"max_side"`
}

// FeaturesOut is a store of every Table 2 feature of every image.
type FeaturesOut struct {
	Store     pipeline.File `json:"store"`
	ConfigKey string        `json:"config_key"`
	Names     []string      `json:"names"`
	Images    int           `json:"images"`
	Failed    int           `json:"failed"`
	// ExtractMS is the mean extraction time per image on one worker.
	ExtractMS float64 `json:"extract_ms_per_image"`
}

const featuresVersion = "1"

// Features extracts all features of the set's images; it resumes a
// killed run from its store.
func Features() pipeline.Stage[FeaturesIn, FeaturesOut] {
	return pipeline.Stage[FeaturesIn, FeaturesOut]{
		Name: "features", Version: featuresVersion,
		Describe: func(in FeaturesIn) string { return "extracting image features of " + in.Set.describe() },
		Code:     []string{"features " + features.Version, opencvVersion()},
		Volatile: []string{"extract_ms_per_image"},
		Run: func(ctx context.Context, w *pipeline.Work, in FeaturesIn) (FeaturesOut, error) {
			var out FeaturesOut
			set, err := in.Set.Load()
			if err != nil {
				return out, err
			}
			st, err := store.Open(w.Path("features.db"))
			if err != nil {
				return out, err
			}
			sum, err := extract.Run(ctx, extract.Options{Set: set, Store: st, Features: features.Options{MaxSide: in.MaxSide},
				Workers: runtime.GOMAXPROCS(0), Limit: in.Set.Limit, Progress: w.Log})
			if err != nil {
				st.Close()
				return out, err
			}
			if sum.Unreadable > 0 {
				st.Close()
				return out, fmt.Errorf("features %s: %d files could not be read (first: %v)", set.Name, sum.Unreadable, sum.Failures)
			}
			errs, err := st.FeatureErrors(ctx, sum.ConfigKey)
			if err != nil {
				st.Close()
				return out, err
			}
			out = FeaturesOut{ConfigKey: sum.ConfigKey, Names: sum.Names, Images: sum.Images, Failed: len(errs), ExtractMS: sum.ExtractMS}
			out.Store, err = closeDigest(ctx, w, st, "features.db")
			return out, err
		},
	}
}

// JoinIn names the stores to join.
type JoinIn struct {
	Profiles []ProfileOut  `json:"profiles"`
	Features []FeaturesOut `json:"features"`
	// Costs, when set, go in the joined store's costs table.
	Costs *CostOut `json:"costs,omitempty"`
	// Latency, when set instead, puts published latencies in the costs
	// table (one thread, no energy), for models not measured here.
	Latency *Latency `json:"latency,omitempty"`
}

// JoinOut is one store with everything the analyses read.
type JoinOut struct {
	Store    pipeline.File `json:"store"`
	Datasets []string      `json:"datasets"`
	Models   []string      `json:"models"`
	// ConfigKey is the features' configuration ("" without features).
	ConfigKey string   `json:"config_key"`
	Names     []string `json:"feature_names"`
}

const joinVersion = "1"

// Join merges profiles, feature stores and a cost profile into one store.
func Join() pipeline.Stage[JoinIn, JoinOut] {
	return pipeline.Stage[JoinIn, JoinOut]{
		Name: "join", Version: joinVersion,
		Run: func(ctx context.Context, w *pipeline.Work, in JoinIn) (JoinOut, error) {
			var out JoinOut
			if len(in.Profiles) == 0 {
				return out, fmt.Errorf("join: no profile")
			}
			path := w.Path("joined.db")
			// Start afresh: a half-merged store from a killed run is cheap to redo.
			if err := removeStore(path); err != nil {
				return out, err
			}
			st, err := store.Open(path)
			if err != nil {
				return out, err
			}
			var srcs []string
			for _, p := range in.Profiles {
				srcs = append(srcs, p.Store.Path)
				out.Datasets = append(out.Datasets, p.Dataset)
				out.Models = p.Models
			}
			for _, f := range in.Features {
				if out.ConfigKey != "" && f.ConfigKey != out.ConfigKey {
					st.Close()
					return out, fmt.Errorf("join: feature stores of two configurations (%s, %s)", out.ConfigKey, f.ConfigKey)
				}
				srcs = append(srcs, f.Store.Path)
				out.ConfigKey, out.Names = f.ConfigKey, f.Names
			}
			if err := store.Merge(ctx, st, srcs...); err != nil {
				st.Close()
				return out, err
			}
			if in.Costs != nil {
				for _, c := range in.Costs.Costs {
					if err := st.PutCost(ctx, c.Row()); err != nil {
						st.Close()
						return out, fmt.Errorf("join: %w", err)
					}
				}
			}
			if in.Latency != nil {
				for _, m := range out.Models {
					ms, ok := in.Latency.MS[m]
					if !ok || !(ms > 0) {
						st.Close()
						return out, fmt.Errorf("join: latency source %q has no latency for model %s", in.Latency.Source, m)
					}
					pj, _ := json.Marshal(map[string]string{"source": "published: " + in.Latency.Source})
					// Published figures carry no date: the epoch marks "not measured here".
					row := store.CostRow{Model: m, PlatformJSON: string(pj), Threads: 1, MeanMS: ms, MedianMS: ms,
						P95MS: ms, CILowMS: ms, CIHighMS: ms, EnergyStatus: "not measured: published latency",
						MeasuredAt: time.Unix(0, 0).UTC()}
					if err := st.PutCost(ctx, row); err != nil {
						st.Close()
						return out, fmt.Errorf("join: %w", err)
					}
				}
			}
			out.Store, err = closeDigest(ctx, w, st, "joined.db")
			return out, err
		},
	}
}
