package main

import (
	"context"
	"fmt"
	"io"

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
	st, err := openStore("summary", *storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	acc, err := st.Accuracy(ctx, *dataset)
	if err != nil {
		return err
	}
	costs, err := st.Costs(ctx)
	if err != nil {
		return err
	}
	cost := map[string]store.CostRow{}
	for _, c := range costs {
		cost[c.Model] = c
	}
	fmt.Fprintln(stdout, "| data set | model | images | top-1 % | top-5 % | latency ms (95% CI) | n | energy |")
	fmt.Fprintln(stdout, "|---|---|---:|---:|---:|---|---:|---|")
	for _, a := range acc {
		lat, n, e := "not profiled", "", ""
		if c, ok := cost[a.Model]; ok {
			lat = fmt.Sprintf("%.2f [%.2f, %.2f]", c.MeanMS, c.CILowMS, c.CIHighMS)
			n = fmt.Sprint(c.N)
			e = c.EnergyStatus
			if c.EnergyJ != nil {
				e = fmt.Sprintf("%.4f J", *c.EnergyJ)
			}
		}
		fmt.Fprintf(stdout, "| %s | %s | %d | %.1f | %.1f | %s | %s | %s |\n", a.Dataset, a.Model, a.Images, a.Top1Pct, a.Top5Pct, lat, n, e)
	}
	return nil
}
