package profileview

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/store"
)

// Table is a view joined, image by image, with raw (unscaled) stored
// feature values: the rows a premodel is trained or tested on. Row i of X
// belongs to View.Items[i].
type Table struct {
	*View
	// Names are the features, in the order of X's columns, stored under
	// ConfigKey (features.Extractor.ConfigKey, or an embedding's key).
	Names     []string    `json:"names"`
	ConfigKey string      `json:"config_key"`
	X         [][]float64 `json:"-"`
}

// Features joins the view's images, by content hash, with their stored
// values of names under key. Images with a feature error, a missing value
// or a non-finite one are left out and counted in the table's Excluded. It
// fails, naming the fix, when the store has no features under key, lacks
// a named feature, or when no image has them all.
func (v *View) Features(ctx context.Context, st *store.Store, key string, names []string) (*Table, error) {
	x, missing, err := v.FeatureRows(ctx, st, key, names)
	if err != nil {
		return nil, err
	}
	var keep []int
	excluded := maps.Clone(v.Excluded)
	for i, why := range missing {
		if why != "" {
			excluded[why]++
			continue
		}
		keep = append(keep, i)
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("load training set: no image of %s in store %s has both predictions and features under %s (excluded: %v): %s",
			strings.Join(v.Datasets, ", "), st.Path(), key, excluded, featuresFix(ctx, st, key))
	}
	t := &Table{View: v.Subset(keep), Names: slices.Clone(names), ConfigKey: key}
	t.Excluded = excluded
	for _, i := range keep {
		t.X = append(t.X, x[i])
	}
	return t, nil
}

// FeatureRows returns, for every image of the view, its stored values of
// names under key (a fresh row, in the order of names) and why it has no
// usable row ("" when it has one: ExcludedFeatureErr, ExcludedNoFeatures
// or ExcludedNonFinite).
func (v *View) FeatureRows(ctx context.Context, st *store.Store, key string, names []string) ([][]float64, []string, error) {
	if len(names) == 0 || key == "" {
		return nil, nil, errors.New("load training set: need feature names and a feature config key")
	}
	col := make(map[string]int, len(names))
	for j, n := range names {
		if _, dup := col[n]; dup {
			return nil, nil, fmt.Errorf("load training set: feature %q named twice", n)
		}
		col[n] = j
	}
	rows, err := st.Features(ctx, key)
	if err != nil {
		return nil, nil, fmt.Errorf("load training set: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("load training set: store %s has no features under %s%s: %s",
			st.Path(), key, otherKeys(ctx, st), featuresFix(ctx, st, key))
	}
	vals := map[string][]float64{}
	have := map[string]int{}
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r.Name] = true
		j, ok := col[r.Name]
		if !ok {
			continue
		}
		row := vals[r.SHA256]
		if row == nil {
			row = make([]float64, len(names))
			vals[r.SHA256] = row
		}
		row[j] = r.Value
		have[r.SHA256]++
	}
	var absent []string
	for _, n := range names {
		if !seen[n] {
			absent = append(absent, n)
		}
	}
	if len(absent) > 0 {
		return nil, nil, fmt.Errorf("load training set: store %s has no values of %s under %s: %s (with -only naming them, or without -only for all)",
			st.Path(), strings.Join(absent, ", "), key, featuresFix(ctx, st, key))
	}
	ferrs, err := st.FeatureErrors(ctx, key)
	if err != nil {
		return nil, nil, fmt.Errorf("load training set: %w", err)
	}
	failed := map[string]bool{}
	for _, e := range ferrs {
		failed[e.SHA256] = true
	}
	x := make([][]float64, len(v.Items))
	missing := make([]string, len(v.Items))
	for i, it := range v.Items {
		switch row := vals[it.SHA256]; {
		case failed[it.SHA256]:
			missing[i] = ExcludedFeatureErr
		case have[it.SHA256] != len(names):
			missing[i] = ExcludedNoFeatures
		case !finite(row):
			missing[i] = ExcludedNonFinite
		default:
			x[i] = slices.Clone(row)
		}
	}
	return x, missing, nil
}

func featuresFix(ctx context.Context, st *store.Store, key string) string {
	dir := "DIR"
	if dirs, err := st.DatasetDirs(ctx, runDatasets(ctx, st)...); err == nil && len(dirs) > 0 {
		dir = dirs[0]
	}
	// An embedding's key names its model (embedding.ConfigKey).
	if rest, ok := strings.CutPrefix(key, "embedding-"); ok {
		model := "BACKBONE"
		for _, f := range strings.Split(rest, ";") {
			if m, ok := strings.CutPrefix(f, "model="); ok {
				model = m
			}
		}
		return fmt.Sprintf("run `modelpick embed -models SPEC -model %s -data %s -store %s` (SPEC: the model spec the store was profiled with)", model, dir, st.Path())
	}
	return fmt.Sprintf("run `modelpick features -data %s -store %s` on the profiled images", dir, st.Path())
}

// runDatasets lists the data sets a store's runs name (none on an error:
// only an error message's hint depends on it).
func runDatasets(ctx context.Context, st *store.Store) []string {
	runs, err := st.Runs(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range runs {
		var m struct {
			Dataset string `json:"dataset"`
		}
		if json.Unmarshal([]byte(r.ManifestJSON), &m) == nil && m.Dataset != "" && !slices.Contains(out, m.Dataset) {
			out = append(out, m.Dataset)
		}
	}
	return out
}

// otherKeys lists the feature configurations a store does hold, for an
// error message.
func otherKeys(ctx context.Context, st *store.Store) string {
	rows, err := st.Features(ctx, "")
	if err != nil || len(rows) == 0 {
		return " (it has no features at all)"
	}
	keys := map[string]bool{}
	for _, r := range rows {
		keys[r.Version] = true
	}
	return fmt.Sprintf(" (it has features under %s; pass the matching -max-side)", strings.Join(sortedKeys(keys), ", "))
}

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// Subset keeps rows idx of the table, in that order.
func (t *Table) Subset(idx []int) *Table {
	out := &Table{View: t.View.Subset(idx), Names: t.Names, ConfigKey: t.ConfigKey, X: make([][]float64, 0, len(idx))}
	for _, i := range idx {
		out.X = append(out.X, t.X[i])
	}
	return out
}

// LoadTable loads a view (Load) and joins it with the named features under
// key (View.Features): a premodel's training or test set.
func LoadTable(ctx context.Context, st *store.Store, o Options, key string, names []string) (*Table, error) {
	v, err := Load(ctx, st, o)
	if err != nil {
		return nil, err
	}
	return v.Features(ctx, st, key, names)
}
