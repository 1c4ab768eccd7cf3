package main

import (
	"context"
	"fmt"
	"io"

	"github.com/modelpick/modelpick/internal/settings"

	"github.com/modelpick/modelpick/embedding"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/store"
)

// runEmbed stores a backbone's embedding of every image of a set, the
// CNN premodel's input.
func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("embed", stderr)
	var (
		modelsPath = fs.String("models", "", "model spec file (YAML), e.g. experiments/models/ladder.yaml")
		model      = fs.String("model", "mobilenet_v1_0.25_128", "the backbone: a single-file TFLite model of the spec")
		dataDir    = fs.String("data", "", "labelled image folder (labels.txt, or one folder per class)")
		gt         = fs.String("ground-truth", "", "ImageNet ground-truth file (FILE INDEX) for a flat image folder")
		storePath  = fs.String("store", "", "store file (SQLite); created if missing, resumed if present")
		limit      = fs.Int("limit", 0, "embed only the first N images of the set (0 = all)")
		threads    = fs.Int("threads", 1, "ONNX Runtime intra-op threads")
		ortLib     = fs.String("ort-lib", "", "ONNX Runtime library (default $MODELPICK_ORT_LIB or the Makefile's cache)")
		timeFeats  = fs.String("time-features", "", "comma-separated image features to time on the same images, for the overhead comparison")
		recompute  = fs.Bool("recompute", false, "embed and time every image again, replacing stored values (re-measure the overhead)")
		quiet      = fs.Bool("quiet", false, "no progress line")
	)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if err := required(fs, "models", "data", "store"); err != nil {
		return err
	}
	if *limit < 0 || *threads < 1 {
		return fmt.Errorf("%w: embed: -limit must be at least 0 and -threads at least 1", errUsage)
	}
	sf, err := inference.ParseSpecFile(*modelsPath)
	if err != nil {
		return err
	}
	specs, err := selectSpecs(sf.Models, *model)
	if err != nil {
		return err
	}
	set, err := loadSet(*dataDir, *gt)
	if err != nil {
		return err
	}
	st, err := store.Open(*storePath)
	if err != nil {
		return err
	}
	defer st.Close()
	o := embedding.Options{Set: set, Store: st, Spec: specs[0], Limit: *limit,
		Inference: inference.Options{Threads: *threads, ORTLibrary: *ortLib, CacheDir: settings.Cache()}, TimeFeatures: splitList(*timeFeats), Recompute: *recompute}
	if !*quiet {
		o.Progress = stderr
	}
	sum, err := embedding.Run(ctx, o)
	if err != nil {
		return err
	}
	printEmbed(stdout, set.Name, sum)
	return nil
}

func printEmbed(w io.Writer, set string, sum embedding.Summary) {
	fmt.Fprintf(w, "embed %s with %s: %d images (%d already stored, %d computed, %d failed), %d dims; config %s\n",
		set, sum.Model, sum.Images, sum.Skipped, sum.Computed, sum.Failed, sum.Dims, sum.ConfigKey)
	if sum.Computed == 0 {
		return
	}
	fmt.Fprintf(w, "  per image: decode %.3f ms, backbone %.3f ms (preprocess %.3f + run %.3f)",
		sum.DecodeMS, sum.EmbedMS, sum.PreprocessMS, sum.RunMS)
	if sum.FeaturesMS > 0 {
		fmt.Fprintf(w, ", %d image features from the bytes %.3f ms", len(sum.Features), sum.FeaturesMS)
	}
	fmt.Fprintln(w)
}
