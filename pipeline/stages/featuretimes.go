package stages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/cvthreads"
	"github.com/modelpick/modelpick/pipeline"
)

// FeatureTimesIn is the input of the per-image extraction timing: the
// premodel's feature set on every image of a set.
type FeatureTimesIn struct {
	Set     DataSet  `json:"set"`
	Names   []string `json:"names"`
	MaxSide int      `json:"max_side"`
	// Platform names the machine: a time belongs to a device.
	Platform string `json:"platform"`
	// Session: as CostIn's.
	Session string `json:"session,omitempty"`
}

// FeatureTimesOut maps each image's content hash to its extraction time,
// and to the time of the decode alone (the extractor's reduced decode,
// features.DecodeMax): the share of the premodel's overhead that is JPEG
// decoding, which the single models' latency does not include.
type FeatureTimesOut struct {
	MS       map[string]float64 `json:"ms_by_sha256"`
	DecodeMS map[string]float64 `json:"decode_ms_by_sha256"`
}

// FeatureTimes times, single-threaded, the extraction of a feature set from
// each image's file bytes (decode included), once per image after one
// untimed extraction of the first: what a premodel serving the images
// pays for its features (the premodel's overhead, Figs 8-11). Images that
// do not extract are left out (the premodel has no features for them).
// OpenCV runs on the calling thread, as in the classifier (cvthreads).
func FeatureTimes() pipeline.Stage[FeatureTimesIn, FeatureTimesOut] {
	return pipeline.Stage[FeatureTimesIn, FeatureTimesOut]{
		// 2: OpenCV serial (cvthreads.Set(1)), as the classifier.
		Name: "feature-times", Version: "2",
		Code:     []string{"features " + features.Version, opencvVersion()},
		Volatile: []string{"ms_by_sha256", "decode_ms_by_sha256"},
		Run: func(ctx context.Context, w *pipeline.Work, in FeatureTimesIn) (FeatureTimesOut, error) {
			out := FeatureTimesOut{MS: map[string]float64{}, DecodeMS: map[string]float64{}}
			set, err := in.Set.Load()
			if err != nil {
				return out, err
			}
			ex, err := features.NewExtractor(in.Names, features.Options{MaxSide: in.MaxSide})
			if err != nil {
				return out, fmt.Errorf("feature times: %w", err)
			}
			cvthreads.Set(1)
			warm := false
			for _, i := range in.Set.Items(set) {
				if err := ctx.Err(); err != nil {
					return out, err
				}
				it := set.Items[i]
				data, err := os.ReadFile(filepath.Join(set.Dir, filepath.FromSlash(it.File)))
				if err != nil {
					return out, fmt.Errorf("feature times: %w", err)
				}
				if !warm { // OpenCV builds some tables on first use
					_, _ = ex.ExtractBytes(data)
					warm = true
				}
				t0 := time.Now()
				_, err = ex.ExtractBytes(data)
				d := time.Since(t0)
				if err != nil {
					continue
				}
				t0 = time.Now()
				img, err := features.DecodeMax(data, ex.MaxSide())
				dec := time.Since(t0)
				if err != nil {
					return out, fmt.Errorf("feature times: %s decoded once, then not: %w", it.File, err)
				}
				img.Close()
				h := sha256.Sum256(data) // the key of the image's stored features
				key := hex.EncodeToString(h[:])
				out.MS[key] = float64(d) / float64(time.Millisecond)
				out.DecodeMS[key] = float64(dec) / float64(time.Millisecond)
			}
			return out, nil
		},
	}
}
