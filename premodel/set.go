package premodel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/modelpick/modelpick/store"
)

// SetOptions select what Load reads.
type SetOptions struct {
	ProfileOptions
	// Names are the features, in the order of X's columns.
	Names []string
	// ConfigKey is the feature configuration (features.Extractor.ConfigKey)
	// the values were stored under.
	ConfigKey string
}

// Set is a profile joined with the raw (unscaled) features of its images:
// the rows a premodel is trained or tested on. Rows whose image lacks a
// feature are left out and counted in Excluded.
type Set struct {
	*Profile
	Names     []string    `json:"names"`
	ConfigKey string      `json:"config_key"`
	X         [][]float64 `json:"-"`
}

// Load reads a profile (LoadProfile) and joins each image, by its content
// hash, with its stored features. It fails, naming the fix, when the store
// has no features under the configuration, lacks a named feature, or when
// no image has both predictions and features.
func Load(ctx context.Context, st *store.Store, o SetOptions) (*Set, error) {
	if len(o.Names) == 0 || o.ConfigKey == "" {
		return nil, errors.New("load training set: need feature names and a feature config key")
	}
	p, err := LoadProfile(ctx, st, o.ProfileOptions)
	if err != nil {
		return nil, err
	}
	rows, err := st.Features(ctx, o.ConfigKey)
	if err != nil {
		return nil, fmt.Errorf("load training set: %w", err)
	}
	fix := fmt.Sprintf("run `modelpick features -data DIR -store %s` on the profiled images", st.Path())
	if len(rows) == 0 {
		return nil, fmt.Errorf("load training set: store %s has no features under %s%s: %s",
			st.Path(), o.ConfigKey, otherKeys(ctx, st), fix)
	}
	col := make(map[string]int, len(o.Names))
	for j, n := range o.Names {
		if _, dup := col[n]; dup {
			return nil, fmt.Errorf("load training set: feature %q named twice", n)
		}
		col[n] = j
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
		v := vals[r.SHA256]
		if v == nil {
			v = make([]float64, len(o.Names))
			vals[r.SHA256] = v
		}
		v[j] = r.Value
		have[r.SHA256]++
	}
	var absent []string
	for _, n := range o.Names {
		if !seen[n] {
			absent = append(absent, n)
		}
	}
	if len(absent) > 0 {
		return nil, fmt.Errorf("load training set: store %s has no values of %s under %s: %s (with -only naming them, or without -only for all)",
			st.Path(), strings.Join(absent, ", "), o.ConfigKey, fix)
	}
	ferrs, err := st.FeatureErrors(ctx, o.ConfigKey)
	if err != nil {
		return nil, fmt.Errorf("load training set: %w", err)
	}
	failed := map[string]bool{}
	for _, e := range ferrs {
		failed[e.SHA256] = true
	}
	s := &Set{Names: append([]string(nil), o.Names...), ConfigKey: o.ConfigKey}
	q := *p
	q.Items, q.Correct1, q.Correct5 = nil, nil, nil
	q.Excluded = map[string]int{}
	for k, v := range p.Excluded {
		q.Excluded[k] = v
	}
	for i, it := range p.Items {
		switch v := vals[it.SHA256]; {
		case failed[it.SHA256]:
			q.Excluded["feature error"]++
		case have[it.SHA256] != len(o.Names):
			q.Excluded["features not extracted"]++
		case !finite(v):
			q.Excluded["non-finite feature"]++
		default:
			q.Items = append(q.Items, it)
			q.Correct1 = append(q.Correct1, p.Correct1[i])
			q.Correct5 = append(q.Correct5, p.Correct5[i])
			s.X = append(s.X, append([]float64(nil), v...))
		}
	}
	if len(s.X) == 0 {
		return nil, fmt.Errorf("load training set: no image of %s in store %s has both predictions and features under %s (excluded: %v): %s",
			strings.Join(p.Datasets, ", "), st.Path(), o.ConfigKey, q.Excluded, fix)
	}
	s.Profile = &q
	return s, nil
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
