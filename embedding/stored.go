package embedding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/store"
)

// Stored returns the configuration key and the dimension of the embedding
// by model (whose files hash filesSHA) stored in st, and fails, naming the
// command to run, when there is none.
func Stored(ctx context.Context, st *store.Store, model, filesSHA string) (string, int, error) {
	key := ConfigKey(model, filesSHA)
	rows, err := st.Features(ctx, key)
	if err != nil {
		return "", 0, err
	}
	dims := map[string]bool{}
	for _, r := range rows {
		dims[r.Name] = true
	}
	if len(dims) == 0 {
		return "", 0, fmt.Errorf("store %s has no embedding by %s (key %s): run `modelpick embed -models SPEC -model %s -data DIR -store %s` on the profiled images",
			st.Path(), model, key, model, st.Path())
	}
	return key, len(dims), nil
}

// StoredOf is Stored for a model registered in st, with the files hash
// the store registered.
func StoredOf(ctx context.Context, st *store.Store, model string) (string, int, error) {
	ms, err := st.Models(ctx)
	if err != nil {
		return "", 0, err
	}
	for _, m := range ms {
		if m.Name == model {
			return Stored(ctx, st, model, m.FilesSHA256)
		}
	}
	return "", 0, fmt.Errorf("store %s has no model %s: name a profiled model as the backbone", st.Path(), model)
}

// Sources of a premodel's input whose overhead an embed run measures.
const (
	SourceFeatures  = "features"
	SourceEmbedding = "embedding"
)

// MeasuredOverhead returns a source's overhead per image from the latest
// finished embed run that measured it, in the first store that has one,
// and where it came from. With backboneMS > 0 the time is rescaled by
// backboneMS / the backbone's run time in the same loop: the embed run
// times the premodel's work interleaved with the backbone's own run, so
// the ratio survives a machine busier (or quieter) than when the profile
// measured the model costs, which the overhead is added to.
func MeasuredOverhead(ctx context.Context, source string, backboneMS float64, stores ...*store.Store) (float64, string, error) {
	for _, st := range stores {
		runs, err := st.Runs(ctx)
		if err != nil {
			return 0, "", err
		}
		for i := len(runs) - 1; i >= 0; i-- {
			r := runs[i]
			if r.Command != "embedding" || r.Finished.IsZero() {
				continue
			}
			var s Summary
			if json.Unmarshal([]byte(r.ManifestJSON), &s) != nil || s.Computed == 0 {
				continue
			}
			v := s.EmbedMS
			if source == SourceFeatures {
				v = s.FeaturesMS
			}
			if v <= 0 {
				continue
			}
			from := fmt.Sprintf("%s run %d (%s, %d images): %.4g ms", st.Path(), r.ID, s.Dataset, s.Computed, v)
			if backboneMS > 0 && s.RunMS > 0 {
				from += fmt.Sprintf(" x profiled backbone %.4g ms / its run in the same loop %.4g ms", backboneMS, s.RunMS)
				v *= backboneMS / s.RunMS
			}
			return v, from, nil
		}
	}
	return 0, "", fmt.Errorf("%w for source %s: run `modelpick embed ... -time-features %s` on the device, or pass -overhead %s=MS",
		ErrNoOverhead, source, strings.Join(features.PaperKept, ","), source)
}

// ErrNoOverhead: no finished embed run measured a source's overhead.
var ErrNoOverhead = errors.New("no measured overhead")
