package featsel

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/selection"
)

// Table is the data selection works on: raw (unscaled) feature values,
// the optimum model of each image, and which models are right on it.
type Table struct {
	Names []string    // feature names, one per column, in Table 2 order
	X     [][]float64 // [image][feature]
	Y     []int       // optimum model index, or selection.None
	// Classes is the number of candidate models (targets are 0..Classes-1
	// or selection.None).
	Classes int
	// Correct[i][j] says model j is right on image i under the criterion:
	// the premodel's answer on image i is right when the model it runs
	// is, so its accuracy needs no other input.
	Correct [][]bool
	// Fallback is the model run when the premodel says none: as
	// premodel.Train's default, the cheapest model (ties: the earlier).
	Fallback int
}

// Check reports whether t is a usable table.
func (t Table) Check() error {
	if len(t.X) == 0 {
		return errors.New("featsel: table has no rows")
	}
	if len(t.Y) != len(t.X) {
		return fmt.Errorf("featsel: %d rows but %d targets", len(t.X), len(t.Y))
	}
	for i, row := range t.X {
		if len(row) != len(t.Names) {
			return fmt.Errorf("featsel: row %d has %d values for %d names", i, len(row), len(t.Names))
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("featsel: row %d: %s is %v", i, t.Names[j], v)
			}
		}
		if y := t.Y[i]; y < selection.None || y >= t.Classes {
			return fmt.Errorf("featsel: row %d has target %d, want %d..%d", i, y, selection.None, t.Classes-1)
		}
	}
	if len(t.Correct) != len(t.X) {
		return fmt.Errorf("featsel: %d rows but correctness for %d (Table.Correct: one row per image, one column per model)", len(t.X), len(t.Correct))
	}
	for i, row := range t.Correct {
		if len(row) != t.Classes {
			return fmt.Errorf("featsel: correctness row %d has %d models, want %d", i, len(row), t.Classes)
		}
	}
	if t.Fallback < 0 || t.Fallback >= t.Classes {
		return fmt.Errorf("featsel: fallback model %d, want 0..%d", t.Fallback, t.Classes-1)
	}
	return nil
}

// columns returns the indices of names in t, in the order given.
func (t Table) columns(names []string) ([]int, error) {
	out := make([]int, len(names))
	for i, n := range names {
		j := slices.Index(t.Names, n)
		if j < 0 {
			return nil, fmt.Errorf("featsel: no feature %q in the table", n)
		}
		out[i] = j
	}
	return out, nil
}

// LoadInfo describes how a table was built from a store's profile.
type LoadInfo struct {
	Datasets []string `json:"datasets"`
	Models   []string `json:"models"` // class i is Models[i]
	// Cost is the per-model cost the targets were computed with, and
	// CostSource says where it came from.
	Cost       []float64 `json:"cost"`
	CostSource string    `json:"cost_source"`
	Images     int       `json:"images"` // rows of the table
	// Excluded counts images left out, by reason.
	Excluded map[string]int `json:"excluded"`
	// TargetCounts is the number of images whose optimum model is each of
	// Models, and "none".
	TargetCounts map[string]int `json:"target_counts"`
}

// TableOf is the table of a profile joined with its features: raw values,
// and each image's optimum model (profileview's rule) as its target.
func TableOf(p *profileview.Table) (Table, LoadInfo, error) {
	info := LoadInfo{Datasets: p.Datasets, Models: p.Models, Cost: p.Cost, CostSource: costSource(p.CostFrom),
		Images: len(p.X), Excluded: p.Excluded, TargetCounts: map[string]int{}}
	y, err := p.Targets(nil)
	if err != nil {
		return Table{}, info, fmt.Errorf("featsel: %w", err)
	}
	for _, t := range y {
		info.TargetCounts[className(info.Models, t)]++
	}
	fallback := p.Order()[0] // the cheapest, by the tie rule
	return Table{Names: slices.Clone(p.Names), X: p.X, Y: y, Classes: len(p.Models), Correct: p.Correct(), Fallback: fallback}, info, nil
}

// costSource says where the costs came from, in the words featsel's
// records have always used (so they reproduce byte for byte).
func costSource(c profileview.CostSource) string {
	switch c.Kind {
	case profileview.CostMeasured:
		return fmt.Sprintf("costs table: mean latency (ms) at %d thread(s)", c.Threads)
	case profileview.CostMMACs:
		return "spec mmacs (the store has no latency for every model at one thread count)"
	}
	return c.String()
}

// className names a target.
func className(models []string, y int) string {
	if y == selection.None {
		return "none"
	}
	return models[y]
}
