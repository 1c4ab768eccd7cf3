package stages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/modelpick/modelpick/pipeline"
	"github.com/modelpick/modelpick/store"
)

// Digest identifies a store by its rows: images, models (name and files'
// hash, not the spec text with its paths), predictions, features, feature
// errors and costs (without the time they were measured). The runs table
// (timestamps, manifests) and SQLite's page layout are left out, so two
// stores holding the same results have the same digest.
func Digest(ctx context.Context, st *store.Store) (string, error) {
	h := sha256.New()
	w := func(tag string, fields ...string) {
		io.WriteString(h, tag)
		for _, f := range fields {
			io.WriteString(h, "\t")
			io.WriteString(h, f)
		}
		io.WriteString(h, "\n")
	}
	fail := func(err error) (string, error) { return "", fmt.Errorf("digest of %s: %w", st.Path(), err) }
	images, err := st.Images(ctx, "")
	if err != nil {
		return fail(err)
	}
	for _, im := range images {
		w("image", im.Dataset, im.File, im.SHA256, strconv.Itoa(im.Label), strconv.Itoa(im.Width), strconv.Itoa(im.Height), im.Error)
	}
	models, err := st.Models(ctx)
	if err != nil {
		return fail(err)
	}
	for _, m := range models {
		w("model", m.Name, m.FilesSHA256)
	}
	preds, err := st.Predictions(ctx, "")
	if err != nil {
		return fail(err)
	}
	for _, p := range preds {
		w("pred", p.Dataset, p.File, p.Model, fmt.Sprint(p.Top5Idx), fmt.Sprint(p.Top5Score),
			strconv.FormatBool(p.Correct1), strconv.FormatBool(p.Correct5))
	}
	feats, err := st.Features(ctx, "")
	if err != nil {
		return fail(err)
	}
	for _, f := range feats {
		w("feat", f.SHA256, f.Version, f.Name, num(f.Value))
	}
	ferrs, err := st.FeatureErrors(ctx, "")
	if err != nil {
		return fail(err)
	}
	for _, e := range ferrs {
		w("ferr", e.SHA256, e.Version, e.Error)
	}
	costs, err := st.Costs(ctx)
	if err != nil {
		return fail(err)
	}
	for _, c := range costs {
		e := c.EnergyStatus
		if c.EnergyJ != nil {
			e += " " + num(*c.EnergyJ)
		}
		w("cost", c.Model, strconv.Itoa(c.Threads), strconv.Itoa(c.N), num(c.MeanMS), num(c.CILowMS), num(c.CIHighMS), e)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// storeFile closes nothing: it hashes the store at path (after the caller
// closed it, so the WAL is checkpointed) and attaches digest.
func storeFile(w *pipeline.Work, name, digest string) (pipeline.File, error) {
	f, err := w.Output(name)
	if err != nil {
		return f, err
	}
	f.Digest = digest
	return f, nil
}

// closeDigest computes a store's digest, closes it and returns it as a File.
func closeDigest(ctx context.Context, w *pipeline.Work, st *store.Store, name string) (pipeline.File, error) {
	d, err := Digest(ctx, st)
	if err != nil {
		st.Close()
		return pipeline.File{}, err
	}
	if err := st.Close(); err != nil {
		return pipeline.File{}, fmt.Errorf("close %s: %w", name, err)
	}
	return storeFile(w, name, d)
}

// num writes a float exactly; NaN as "NaN".
func num(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
