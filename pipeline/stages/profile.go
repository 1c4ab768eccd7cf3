package stages

import (
	"context"
	"fmt"
	"time"

	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/onnxconv"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/store"
)

// ProfileIn is the input of the profile stage.
type ProfileIn struct {
	Set     DataSet `json:"set"`
	Models  []Model `json:"models"`
	Runtime Runtime `json:"runtime"`
}

// ProfileOut is a correctness profile: a store with one prediction per
// (image, model).
type ProfileOut struct {
	Store       pipeline.File `json:"store"`
	Dataset     string        `json:"dataset"`
	Models      []string      `json:"models"`
	Images      int           `json:"images"`
	Unreadable  int           `json:"unreadable"`
	Predictions int           `json:"predictions"`
}

// profileVersion: bump when profile.Run or inference's preprocessing
// changes what is stored.
const profileVersion = "1"

// Profile profiles correctness (top-5 per image and model) of the models on
// the set; it resumes a killed run from its store.
func Profile() pipeline.Stage[ProfileIn, ProfileOut] {
	return pipeline.Stage[ProfileIn, ProfileOut]{
		Name: "profile", Version: profileVersion,
		Describe: func(in ProfileIn) string {
			return fmt.Sprintf("running %d models on every image of %s", len(in.Models), in.Set.describe())
		},
		Code: []string{"onnxconv " + onnxconv.Version, opencvVersion()},
		Run: func(ctx context.Context, w *pipeline.Work, in ProfileIn) (ProfileOut, error) {
			var out ProfileOut
			set, err := in.Set.Load()
			if err != nil {
				return out, err
			}
			st, err := store.Open(w.Path("profile.db"))
			if err != nil {
				return out, err
			}
			sum, err := profile.Run(ctx, profile.Options{
				Specs: specsOf(in.Models), Load: in.Runtime.options(), Set: set, Store: st,
				Limit: in.Set.Limit, Correctness: true, Progress: w.Log,
			})
			if err != nil {
				st.Close()
				return out, err
			}
			out = ProfileOut{Dataset: set.Name, Models: namesOf(in.Models), Images: sum.Images}
			images, err := st.Images(ctx, set.Name)
			if err != nil {
				st.Close()
				return out, err
			}
			for _, im := range images {
				if im.Error != "" {
					out.Unreadable++
				}
			}
			c, err := st.Counts(ctx)
			if err != nil {
				st.Close()
				return out, err
			}
			out.Predictions = int(c["predictions"])
			out.Store, err = closeDigest(ctx, w, st, "profile.db")
			return out, err
		},
	}
}

// CostIn is the input of the cost stage. Set supplies the image the models
// run on (their latency does not depend on pixel values).
type CostIn struct {
	Set     DataSet               `json:"set"`
	Models  []Model               `json:"models"`
	Runtime Runtime               `json:"runtime"`
	Timing  measure.TimingOptions `json:"timing"`
	Meter   string                `json:"meter"`
	// Platform names this machine, so a cost cached on one device is
	// never reused on another (cost belongs to the device).
	Platform string `json:"platform"`
	// Session, when set, names a measuring session (`make measure`):
	// its measurements are fresh, never another session's cached ones.
	Session string `json:"session,omitempty"`
}

// Cost is one model's measured cost on this device.
type Cost struct {
	Model     string   `json:"model"`
	Threads   int      `json:"threads"`
	N         int      `json:"n"`
	MeanMS    float64  `json:"mean_ms"`
	StdMS     float64  `json:"std_ms"`
	MedianMS  float64  `json:"median_ms"`
	P95MS     float64  `json:"p95_ms"`
	CILowMS   float64  `json:"ci_low_ms"`
	CIHighMS  float64  `json:"ci_high_ms"`
	Converged bool     `json:"converged"`
	Warnings  []string `json:"warnings,omitempty"`
	// EnergyJ is nil when not measured; EnergyStatus says why.
	EnergyJ      *float64 `json:"energy_j"`
	IdleW        *float64 `json:"idle_w,omitempty"`
	EnergyStatus string   `json:"energy_status"`
	Platform     string   `json:"platform"`
	MeasuredAt   string   `json:"measured_at"`
}

// CostOut is the cost profile.
type CostOut struct {
	Costs []Cost `json:"costs"`
}

// Row converts c back to a store row.
func (c Cost) Row() store.CostRow {
	t, _ := time.Parse(time.RFC3339Nano, c.MeasuredAt)
	return store.CostRow{Model: c.Model, PlatformJSON: c.Platform, Threads: c.Threads, N: c.N,
		MeanMS: c.MeanMS, StdMS: c.StdMS, MedianMS: c.MedianMS, P95MS: c.P95MS, CILowMS: c.CILowMS,
		CIHighMS: c.CIHighMS, Converged: c.Converged, Warnings: c.Warnings, EnergyJ: c.EnergyJ,
		IdleW: c.IdleW, EnergyStatus: c.EnergyStatus, MeasuredAt: t}
}

// DefaultTiming is the CLI's cost setting: the paper's rule (95% CI within
// 5% of the mean) with at least 30 timed runs after 5 warm-up runs.
func DefaultTiming() measure.TimingOptions {
	return measure.TimingOptions{Warmup: 5, MinRuns: 30, MaxRuns: 1000, Confidence: 0.95,
		RelHalfWidth: 0.05, MaxDuration: 60 * time.Second}
}

// PlatformID describes this machine for CostIn.Platform.
func PlatformID() string {
	p := measure.DetectPlatform()
	return fmt.Sprintf("%s; %d cores; %s/%s; %s", p.CPUModel, p.Cores, p.GOOS, p.GOARCH, p.Board)
}

// costVersion 2: models timed side by side (measure.TimeInterleaved).
const costVersion = "2"

// CostStage measures each model's latency until its CI holds, and energy
// where a meter exists (else "not measured").
func CostStage() pipeline.Stage[CostIn, CostOut] {
	return pipeline.Stage[CostIn, CostOut]{
		Name: "cost", Version: costVersion,
		Describe: func(in CostIn) string {
			return fmt.Sprintf("timing %d models' latency on %s", len(in.Models), in.Set.describe())
		},
		Code:     []string{"onnxconv " + onnxconv.Version, opencvVersion()},
		Volatile: []string{"costs"},
		Run: func(ctx context.Context, w *pipeline.Work, in CostIn) (CostOut, error) {
			var out CostOut
			set, err := in.Set.Load()
			if err != nil {
				return out, err
			}
			meter, err := measure.NewMeter(measure.MeterOptions{Kind: in.Meter})
			if err != nil {
				return out, err
			}
			st, err := store.Open(w.Path("cost.db"))
			if err != nil {
				return out, err
			}
			defer st.Close()
			models, err := profile.LoadModels(specsOf(in.Models), in.Runtime.options())
			if err != nil {
				return out, err
			}
			defer func() {
				for _, m := range models {
					m.Close()
				}
			}()
			o := profile.Options{Specs: specsOf(in.Models), Load: in.Runtime.options(), Set: set, Store: st,
				Limit: in.Set.Limit, Cost: true, Timing: in.Timing, Meter: meter, IdleFor: 2 * time.Second}
			for _, m := range models {
				if err := st.RegisterModel(ctx, m.Spec.Name, m.Spec.JSON(), m.FilesSHA); err != nil {
					return out, err
				}
			}
			rows, err := profile.Costs(ctx, o, models)
			if err != nil {
				return out, err
			}
			for _, c := range rows {
				out.Costs = append(out.Costs, Cost{Model: c.Model, Threads: c.Threads, N: c.N, MeanMS: c.MeanMS,
					StdMS: c.StdMS, MedianMS: c.MedianMS, P95MS: c.P95MS, CILowMS: c.CILowMS, CIHighMS: c.CIHighMS,
					Converged: c.Converged, Warnings: c.Warnings, EnergyJ: c.EnergyJ, IdleW: c.IdleW,
					EnergyStatus: c.EnergyStatus, Platform: c.PlatformJSON,
					MeasuredAt: c.MeasuredAt.UTC().Format(time.RFC3339Nano)})
			}
			return out, nil
		},
	}
}
