package stages

import (
	"context"
	"fmt"

	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/onnxconv"
	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/premodel"
	"github.com/modelpick/modelpick/store"
)

// EmbeddingIn is the input of the embedding stage: a frozen backbone's
// pooled embedding of every image of a set, added to a joined store.
type EmbeddingIn struct {
	// Store is the joined store the embedding is added to (a copy).
	Store pipeline.File `json:"store"`
	Set   DataSet       `json:"set"`
	// Backbone is a single-file TFLite model of the chain.
	Backbone Model   `json:"backbone"`
	Runtime  Runtime `json:"runtime"`
}

// EmbeddingOut is the joined store with the embedding in its features
// table, under ConfigKey with Names (embedding.Names(Dims)).
type EmbeddingOut struct {
	Store     pipeline.File      `json:"store"`
	ConfigKey string             `json:"config_key"`
	Names     []string           `json:"names"`
	Backbone  premodel.Backbone  `json:"backbone"`
	Images    int                `json:"images"`
	Failed    int                `json:"failed"`
	Timing    EmbeddingTimingOut `json:"timing"`
}

// EmbeddingTimingOut is the backbone's mean time per image on one
// thread, as embedding.Run measured it.
type EmbeddingTimingOut struct {
	DecodeMS     float64 `json:"decode_ms"`
	PreprocessMS float64 `json:"preprocess_ms"`
	RunMS        float64 `json:"run_ms"`
	EmbedMS      float64 `json:"embed_ms"`
}

// embeddingVersion: bump when the stage's output would change for the
// same input (embedding.Version covers the stored values).
const embeddingVersion = "1"

// Embedding stores the backbone's embedding of every image of the set
// (embedding.Run) and merges it into a copy of the joined store; the
// embedding's own store resumes a killed run.
func Embedding() pipeline.Stage[EmbeddingIn, EmbeddingOut] {
	return pipeline.Stage[EmbeddingIn, EmbeddingOut]{
		Name: "embedding", Version: embeddingVersion,
		Describe: func(in EmbeddingIn) string { return "backbone embedding of every image of " + in.Set.describe() },
		Code:     []string{embedding.Version, "onnxconv " + onnxconv.Version, opencvVersion()},
		Volatile: []string{"timing"},
		Run: func(ctx context.Context, w *pipeline.Work, in EmbeddingIn) (EmbeddingOut, error) {
			var out EmbeddingOut
			set, err := in.Set.Load()
			if err != nil {
				return out, err
			}
			est, err := store.Open(w.Path("embedding.db"))
			if err != nil {
				return out, err
			}
			sum, err := embedding.Run(ctx, embedding.Options{Set: set, Store: est, Spec: in.Backbone.Spec,
				Inference: in.Runtime.options(), Limit: in.Set.Limit, Progress: w.Log})
			if err != nil {
				est.Close()
				return out, err
			}
			if err := est.Close(); err != nil {
				return out, fmt.Errorf("embedding %s: close: %w", set.Name, err)
			}
			sha, err := in.Backbone.Spec.FilesSHA256()
			if err != nil {
				return out, fmt.Errorf("embedding %s: %w", set.Name, err)
			}
			out = EmbeddingOut{ConfigKey: sum.ConfigKey, Names: embedding.Names(sum.Dims),
				Backbone: premodel.Backbone{Model: sum.Model, FilesSHA256: sha, Dims: sum.Dims},
				Images:   sum.Images, Failed: sum.Failed,
				Timing: EmbeddingTimingOut{DecodeMS: sum.DecodeMS, PreprocessMS: sum.PreprocessMS, RunMS: sum.RunMS, EmbedMS: sum.EmbedMS}}
			if out.ConfigKey != embedding.ConfigKey(sum.Model, sha) {
				return out, fmt.Errorf("embedding %s: config %s, want %s", set.Name, out.ConfigKey, embedding.ConfigKey(sum.Model, sha))
			}
			path := w.Path("embedded.db")
			if err := removeStore(path); err != nil {
				return out, err
			}
			st, err := store.Open(path)
			if err != nil {
				return out, err
			}
			if err := store.Merge(ctx, st, in.Store.Path, w.Path("embedding.db")); err != nil {
				st.Close()
				return out, fmt.Errorf("embedding %s: %w", set.Name, err)
			}
			out.Store, err = closeDigest(ctx, w, st, "embedded.db")
			return out, err
		},
	}
}
