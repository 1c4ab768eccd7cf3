package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/modelpick/modelpick/store"
)

// runSummary prints per-model accuracy and cost from a store as a markdown
// table: the quick look a user wants after profiling.
func runSummary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("summary", stderr)
	storePath := fs.String("store", "", "store file")
	dataset := fs.String("dataset", "", "data set name (default all in the store)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "store"); err != nil {
		return err
	}
	if _, err := os.Stat(*storePath); err != nil {
		return fmt.Errorf("summary: store %w", err)
	}
	st, err := store.Open(*storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	preds, err := st.Predictions(ctx, *dataset)
	if err != nil {
		return err
	}
	costs, err := st.Costs(ctx)
	if err != nil {
		return err
	}
	type acc struct{ n, c1, c5 int }
	by := map[[2]string]*acc{}
	for _, p := range preds {
		k := [2]string{p.Dataset, p.Model}
		a := by[k]
		if a == nil {
			a = &acc{}
			by[k] = a
		}
		a.n++
		if p.Correct1 {
			a.c1++
		}
		if p.Correct5 {
			a.c5++
		}
	}
	keys := make([][2]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	cost := map[string]store.CostRow{}
	for _, c := range costs {
		cost[c.Model] = c
	}
	fmt.Fprintln(stdout, "| data set | model | images | top-1 % | top-5 % | latency ms (95% CI) | n | energy |")
	fmt.Fprintln(stdout, "|---|---|---:|---:|---:|---|---:|---|")
	for _, k := range keys {
		a := by[k]
		lat, n, e := "not profiled", "", ""
		if c, ok := cost[k[1]]; ok {
			lat = fmt.Sprintf("%.2f [%.2f, %.2f]", c.MeanMS, c.CILowMS, c.CIHighMS)
			n = fmt.Sprint(c.N)
			e = c.EnergyStatus
			if c.EnergyJ != nil {
				e = fmt.Sprintf("%.4f J", *c.EnergyJ)
			}
		}
		fmt.Fprintf(stdout, "| %s | %s | %d | %.1f | %.1f | %s | %s | %s |\n", k[0], k[1], a.n,
			100*float64(a.c1)/float64(a.n), 100*float64(a.c5)/float64(a.n), lat, n, e)
	}
	return nil
}
