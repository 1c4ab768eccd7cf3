// Package report turns experiment records into what people read: markdown
// tables (through tablewriter), figures (gonum/plot, SVG and PNG), the
// claims comparison and REPRODUCE.md. It only reads records — the CSV/JSON
// files an experiment wrote into results/NAME — and never recomputes
// anything, so every table and figure can be regenerated from results/
// alone (`modelpick report`).
//
// Record types (records.go) are shared with package experiments, which
// writes them. Each figure is one function from records to a [Figure]
// (figures.go), tested against an SVG golden; each table is one function
// from records to markdown (tables.go). Both are registered by name in
// registry.go, the names an experiment's result lists.
//
// Claims (claims.go) are the paper's statements, each with its section and
// words (quotes.go checks them against the paper's text), the value the
// paper gives and the band in which ours must lie; Evaluate gives each a
// status from our measure's interval: reproduced (within the band),
// deviates (wholly outside), inconclusive (across a bound), not attempted
// (no measure), or not comparable (the claim says why).
package report
