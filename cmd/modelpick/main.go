// Command modelpick profiles candidate image classifiers, learns a premodel
// that picks one per image, and reproduces the experiments of Taylor et al.,
// "Adaptive Selection of Deep Learning Models on Embedded Systems".
//
// Each subcommand maps flags to a settings struct and calls one function;
// main only maps errors to exit codes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand: run parses args and does the work.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is the explicit registry of subcommands.
func commands() map[string]command {
	return map[string]command{
		"profile":         {"profile models on a labelled image set into a store", runProfile},
		"merge":           {"merge shard stores into one", runMerge},
		"export":          {"export a store to CSV files with a manifest", runExport},
		"summary":         {"print per-model accuracy and cost of a store (markdown)", runSummary},
		"features":        {"extract the image features of a labelled set into a store", runFeatures},
		"select-features": {"choose the premodel's features (correlation filter, backward elimination)", runSelectFeatures},
		"select-models":   {"run Algorithm 1 on a store and write its trace (Figs 5, 6)", runSelectModels},
		"train":           {"train a premodel on a store and write its bundle", runTrain},
		"classify":        {"classify images with a premodel bundle (one JSON line each)", runClassify},
		"evaluate":        {"evaluate a bundle on a separately profiled test store", runEvaluate},
		"embed":           {"store a ladder backbone's image embeddings (the CNN premodel's input) in a store", runEmbed},
		"baselines":       {"softmax cascade, one-knob premodels and random routing: calibrate on one store, test on another", runBaselines},
		"version":         {"print versions of modelpick and its runtimes", runVersion},
		"serve":           {"serve a bundle over HTTP (POST /v1/classify, /healthz, /metrics)", runServe},
		"loadtest":        {"load-test serve over loopback against the classifier in-process", runLoadtest},
		"run":             {"run experiment specs through the cached pipeline (experiments/NAME.yaml)", runRun},
		"reproduce":       {"run every experiment and write REPRODUCE.md", runReproduce},
		"report":          {"regenerate REPRODUCE.md from results/ alone", runReport},
		"import":          {"import external per-image results (FILE,PREDICTED[,TRUTH]) into a store", runImport},

		// Committees: models whose answer averages other models' (package committee).
		"committees":       {"choose a ladder's committees on a training set and write the spec with them", runCommittees},
		"committee-report": {"committees beside single models from profiled stores, with bootstrap gains", runCommitteeReport},
	}
}

// errUsage marks a command-line mistake (exit code 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "modelpick:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		usage(stderr, cmds)
		return errUsage
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(stderr, cmds)
		return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: modelpick COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun `modelpick COMMAND -h` for its flags.")
}

// newFlags returns a FlagSet that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("modelpick "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags and rejects stray positional arguments.
func parse(fs *flag.FlagSet, args []string, positional bool) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if !positional && fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if f := fs.Lookup(n); f != nil && f.Value.String() == "" {
			return fmt.Errorf("%w: %s: flag -%s is required", errUsage, fs.Name(), n)
		}
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
