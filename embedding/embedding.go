package embedding

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/progress"
	"github.com/modelpick/modelpick/onnxconv"
	"github.com/modelpick/modelpick/store"
)

// Version is part of every configuration key: bump it when the stored
// values for the same image and model would change.
const Version = "embedding-v1"

// DefaultBatchSize is the number of images per store transaction.
const DefaultBatchSize = 64

// ConfigKey identifies everything besides the image that determines an
// embedding: this package's version, the model, its files' hash (as
// inference.Spec.FilesSHA256 gives it) and the importer's version.
func ConfigKey(model, filesSHA string) string {
	short := filesSHA
	if len(short) > 16 {
		short = short[:16]
	}
	return fmt.Sprintf("%s;model=%s;files=%s;onnxconv=%s", Version, model, short, onnxconv.Version)
}

// Names returns the feature names of a d-dimensional embedding: emb000,
// emb001, ... (zero-padded so that sorted names keep dimension order).
func Names(d int) []string {
	out := make([]string, d)
	for i := range out {
		out[i] = fmt.Sprintf("emb%03d", i)
	}
	return out
}

// Vector embeds one encoded image (decode included) as float64, the form
// a premodel reads: what a classifier calls per image at run time.
func Vector(e *inference.Embedder, data []byte) ([]float64, error) {
	img, err := inference.DecodeImage(data)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	v, err := e.Embed(img)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out, nil
}

// Options configure one run.
type Options struct {
	Set   *datasets.Set
	Store *store.Store
	// Spec is the backbone: a single-file TFLite ladder model.
	Spec      inference.Spec
	Inference inference.Options
	// Limit takes only the first Limit items of the set (0: all).
	Limit     int
	BatchSize int // images per store transaction (0: DefaultBatchSize)
	Progress  io.Writer
	// TimeFeatures, when set, also times the extraction of these image
	// features (package features) from each computed image's bytes.
	TimeFeatures []string
	// Recompute embeds (and times) every image again, replacing stored
	// values: to measure the overhead on a device after the fact.
	Recompute bool
}

// Summary reports what a run did.
type Summary struct {
	Dataset   string `json:"dataset"`
	Model     string `json:"model"`
	ConfigKey string `json:"config_key"`
	Dims      int    `json:"dims"`
	Images    int    `json:"images"`
	Skipped   int    `json:"skipped"`
	Computed  int    `json:"computed"`
	Failed    int    `json:"failed"` // recorded in feature_errors
	// DecodeMS is the mean full decode time, EmbedMS the mean backbone time
	// per computed image (one thread): PreprocessMS (crop, resize,
	// normalise) plus RunMS (the ONNX Runtime session, the part the
	// profile's model costs measure).
	DecodeMS     float64 `json:"decode_ms"`
	EmbedMS      float64 `json:"embed_ms"`
	PreprocessMS float64 `json:"preprocess_ms"`
	RunMS        float64 `json:"run_ms"`
	// FeaturesMS is the mean time to extract TimeFeatures from the bytes
	// (their own reduced decode included), on the same images; 0 when not
	// asked for.
	FeaturesMS float64  `json:"features_ms,omitempty"`
	Features   []string `json:"features,omitempty"`
	Elapsed    float64  `json:"elapsed_s"`
}

// Run embeds the images of o.Set into o.Store.
func Run(ctx context.Context, o Options) (Summary, error) {
	var sum Summary
	if o.Set == nil || o.Store == nil {
		return sum, errors.New("embedding: need a data set and a store")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	var fx *features.Extractor
	if len(o.TimeFeatures) > 0 {
		var err error
		if fx, err = features.NewExtractor(o.TimeFeatures, features.Options{}); err != nil {
			return sum, fmt.Errorf("embedding: %w", err)
		}
	}
	e, err := inference.LoadEmbedder(o.Spec, o.Inference)
	if err != nil {
		return sum, fmt.Errorf("embedding: %w", err)
	}
	defer e.Close()
	key := ConfigKey(o.Spec.Name, e.FilesSHA)
	names := Names(e.Dims())
	sum = Summary{Dataset: o.Set.Name, Model: o.Spec.Name, ConfigKey: key, Dims: e.Dims(), Features: o.TimeFeatures}
	done := map[string]bool{}
	if !o.Recompute {
		if done, err = stored(ctx, o.Store, key, len(names)); err != nil {
			return sum, fmt.Errorf("embedding %s: %w", o.Set.Name, err)
		}
	}
	man, _ := json.Marshal(map[string]any{ // plain values: cannot fail
		"dataset": o.Set.Name, "dataset_dir": o.Set.Dir, "model": o.Spec.Name, "model_files_sha256": e.FilesSHA,
		"config_key": key, "dims": e.Dims(), "threads": e.Threads, "provider": e.Provider,
	})
	runID, err := o.Store.StartRun(ctx, "embedding", string(man))
	if err != nil {
		return sum, fmt.Errorf("embedding %s: record run: %w", o.Set.Name, err)
	}

	start := time.Now()
	items := o.Set.Items
	if o.Limit > 0 && o.Limit < len(items) {
		items = items[:o.Limit]
	}
	sum.Images = len(items)
	prog := progress.New(o.Progress, "embedding "+o.Set.Name, "img", len(items))
	var rows []store.FeatureRow
	var ferrs []store.FeatureErrorRow
	flush := func() error {
		if len(rows) == 0 && len(ferrs) == 0 {
			return nil
		}
		if err := o.Store.WriteFeatures(ctx, rows, ferrs); err != nil {
			return fmt.Errorf("embedding %s: %w", o.Set.Name, err)
		}
		rows, ferrs = rows[:0], ferrs[:0]
		return nil
	}
	var decode, prep, run, feats time.Duration
	pending := 0
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			if ferr := flush(); ferr != nil {
				return sum, ferr
			}
			return sum, err
		}
		data, err := os.ReadFile(filepath.Join(o.Set.Dir, filepath.FromSlash(it.File)))
		if err != nil {
			return sum, fmt.Errorf("embedding %s: %w", o.Set.Name, err)
		}
		h := sha256.Sum256(data)
		sha := hex.EncodeToString(h[:])
		switch {
		case done[sha]:
			sum.Skipped++
		default:
			done[sha] = true // a duplicate file later in the set is skipped
			t0 := time.Now()
			img, err := inference.DecodeImage(data)
			t1 := time.Now()
			if err != nil {
				img.Close()
				ferrs = append(ferrs, store.FeatureErrorRow{SHA256: sha, Version: key, Error: err.Error()})
				sum.Failed++
				pending++
				break
			}
			// Embed's two halves, timed apart: the profile's model costs
			// are Run alone, so RunMS is the comparable figure.
			err = e.SetInput(img)
			tp := time.Now()
			if err == nil {
				err = e.Run()
			}
			t2 := time.Now()
			img.Close()
			if err != nil {
				return sum, fmt.Errorf("embedding %s: %s: %w", o.Set.Name, it.File, err)
			}
			v := e.Embedding()
			decode += t1.Sub(t0)
			prep += tp.Sub(t1)
			run += t2.Sub(tp)
			if fx != nil {
				t3 := time.Now()
				if _, err := fx.ExtractBytes(data); err != nil {
					return sum, fmt.Errorf("embedding %s: timing features on %s: %w", o.Set.Name, it.File, err)
				}
				feats += time.Since(t3)
			}
			for j, x := range v {
				rows = append(rows, store.FeatureRow{SHA256: sha, Version: key, Name: names[j], Value: float64(x)})
			}
			sum.Computed++
			pending++
		}
		if pending >= o.BatchSize {
			if err := flush(); err != nil {
				return sum, err
			}
			pending = 0
		}
		prog.Step()
	}
	if err := flush(); err != nil {
		return sum, err
	}
	prog.Finish()
	if sum.Computed > 0 {
		ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(sum.Computed) }
		sum.DecodeMS, sum.PreprocessMS, sum.RunMS = ms(decode), ms(prep), ms(run)
		sum.EmbedMS = sum.PreprocessMS + sum.RunMS
		if fx != nil {
			sum.FeaturesMS = ms(feats)
		}
	}
	sum.Elapsed = time.Since(start).Seconds()
	final, _ := json.Marshal(sum) // plain values: cannot fail
	if err := o.Store.FinishRun(ctx, runID, string(final)); err != nil {
		return sum, fmt.Errorf("embedding %s: record run: %w", o.Set.Name, err)
	}
	return sum, nil
}

// stored returns the hashes that need no work under key: those with all
// dims values stored, and those with a recorded error.
func stored(ctx context.Context, st *store.Store, key string, dims int) (map[string]bool, error) {
	rows, err := st.Features(ctx, key)
	if err != nil {
		return nil, err
	}
	have := map[string]int{}
	for _, r := range rows {
		have[r.SHA256]++
	}
	done := map[string]bool{}
	for sha, n := range have {
		if n == dims {
			done[sha] = true
		}
	}
	errs, err := st.FeatureErrors(ctx, key)
	if err != nil {
		return nil, err
	}
	for _, e := range errs {
		done[e.SHA256] = true
	}
	return done, nil
}
