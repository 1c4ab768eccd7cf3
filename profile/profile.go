package profile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/ortenv"
	"github.com/modelpick/modelpick/internal/progress"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/store"
)

// TopK is how many classes are kept per (image, model): top-5 is the
// paper's second criterion.
const TopK = 5

// Options configure one profiling run.
type Options struct {
	Specs []inference.Spec
	Load  inference.Options
	Set   *datasets.Set
	Store *store.Store
	// Shard selects items i of n (datasets.Shard) after Limit is applied,
	// so the shards of a limited run partition the same images.
	ShardI, ShardN int
	Limit          int // profile only the first Limit items (0 = all)
	BatchSize      int // images per store transaction (default 32)
	Progress       io.Writer

	// Correctness and Cost select the two profiles (see DESIGN.md: the
	// first is hardware-independent and shardable, the second is not).
	Correctness bool
	Cost        bool
	Timing      measure.TimingOptions
	Meter       measure.Meter // nil or unavailable: energy "not measured"
	IdleFor     time.Duration // idle-power measurement before cost runs
}

// Summary reports what a run did.
type Summary struct {
	Images      int // items in this shard (after Limit)
	Skipped     int // already complete in the store
	Failed      int // unreadable images recorded with their error
	Predictions int // (image, model) rows written
	Costs       []store.CostRow
}

// Run loads every model (rejecting a bad spec or file before any work),
// then profiles correctness and/or cost into the store. A killed run
// restarted with the same arguments skips what is stored and continues.
func Run(ctx context.Context, o Options) (Summary, error) {
	var sum Summary
	if o.Set == nil || o.Store == nil || len(o.Specs) == 0 {
		return sum, fmt.Errorf("profile: need a data set, a store and at least one model")
	}
	if o.ShardN == 0 {
		o.ShardN = 1
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 32
	}
	models, err := LoadModels(o.Specs, o.Load)
	if err != nil {
		return sum, err
	}
	defer func() {
		for _, m := range models {
			m.Close()
		}
	}()
	return RunModels(ctx, o, models)
}

// RunModels is Run with models already loaded (they must match o.Specs'
// names); the caller keeps ownership of them.
func RunModels(ctx context.Context, o Options, models []*inference.Model) (Summary, error) {
	var sum Summary
	if o.ShardN == 0 {
		o.ShardN = 1
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 32
	}
	if err := checkClasses(o.Set, models); err != nil {
		return sum, err
	}
	for _, m := range models {
		if err := o.Store.RegisterModel(ctx, m.Spec.Name, m.Spec.JSON(), m.FilesSHA); err != nil {
			return sum, fmt.Errorf("profile: %w", err)
		}
	}
	man := Manifest(o, models)
	mj, _ := json.Marshal(man) // plain maps and structs: cannot fail
	runID, err := o.Store.StartRun(ctx, "profile", string(mj))
	if err != nil {
		return sum, fmt.Errorf("profile: record run: %w", err)
	}
	if o.Correctness {
		if err := correctness(ctx, o, models, &sum); err != nil {
			return sum, err
		}
	}
	if o.Cost {
		rows, err := Costs(ctx, o, models)
		if err != nil {
			return sum, err
		}
		sum.Costs = rows
	}
	man["summary"] = sum
	mj, _ = json.Marshal(man)
	if err := o.Store.FinishRun(ctx, runID, string(mj)); err != nil {
		return sum, fmt.Errorf("profile: record run: %w", err)
	}
	return sum, nil
}

// LoadModels loads every spec, closing the loaded ones if one fails.
func LoadModels(specs []inference.Spec, opts inference.Options) ([]*inference.Model, error) {
	var models []*inference.Model
	for _, s := range specs {
		m, err := inference.Load(s, opts)
		if err != nil {
			for _, l := range models {
				l.Close()
			}
			return nil, err
		}
		models = append(models, m)
	}
	return models, nil
}

// Items returns the indices of o.Set.Items this run covers.
func Items(o Options) []int {
	n := len(o.Set.Items)
	if o.Limit > 0 && o.Limit < n {
		n = o.Limit
	}
	if o.ShardN <= 1 {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return datasets.Shard(n, o.ShardI, o.ShardN)
}

func correctness(ctx context.Context, o Options, models []*inference.Model, sum *Summary) error {
	ds := o.Set.Name
	done := make([]map[string]bool, len(models))
	for i, m := range models {
		d, err := o.Store.Done(ctx, ds, m.Spec.Name)
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		done[i] = d
	}
	stored, err := o.Store.Images(ctx, ds)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	failed := map[string]bool{} // unreadable images are recorded once, not retried
	for _, im := range stored {
		if im.Error != "" {
			failed[im.File] = true
		}
	}
	items := Items(o)
	sum.Images = len(items)
	prog := progress.New(o.Progress, "profile "+ds, "img", len(items))
	defer prog.Finish()

	var imgs []store.ImageRow
	var preds []store.PredictionRow
	flush := func() error {
		if len(imgs) == 0 && len(preds) == 0 {
			return nil
		}
		if err := o.Store.WriteBatch(ctx, imgs, preds); err != nil {
			return fmt.Errorf("profile: write batch: %w", err)
		}
		sum.Predictions += len(preds)
		imgs, preds = imgs[:0], preds[:0]
		return nil
	}
	pending := 0
	for _, idx := range items {
		if err := ctx.Err(); err != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return err
		}
		it := o.Set.Items[idx]
		var todo []int
		for i := range models {
			if !done[i][it.File] {
				todo = append(todo, i)
			}
		}
		if len(todo) == 0 || failed[it.File] {
			sum.Skipped++
			prog.Skip()
			continue
		}
		img, ps, err := profileImage(o.Set, it, models, todo)
		if err != nil {
			return err
		}
		if img.Error != "" {
			sum.Failed++
		}
		imgs = append(imgs, img)
		preds = append(preds, ps...)
		pending++
		if pending >= o.BatchSize {
			if err := flush(); err != nil {
				return err
			}
			pending = 0
		}
		prog.Step()
	}
	return flush()
}

// profileImage decodes one image and runs the models listed in todo. An
// unreadable image is returned as a row carrying its error (the run goes
// on); an error from a model is returned, because it means the model or
// runtime is broken, not the image.
func profileImage(set *datasets.Set, it datasets.Item, models []*inference.Model, todo []int) (store.ImageRow, []store.PredictionRow, error) {
	row := store.ImageRow{Dataset: set.Name, File: it.File, Label: it.Label}
	data, err := os.ReadFile(filepath.Join(set.Dir, it.File))
	if err != nil {
		row.Error = err.Error()
		return row, nil, nil
	}
	h := sha256.Sum256(data)
	row.SHA256 = hex.EncodeToString(h[:])
	mat, err := inference.DecodeImage(data)
	if err != nil {
		row.Error = err.Error()
		return row, nil, nil
	}
	defer mat.Close()
	row.Width, row.Height = mat.Cols(), mat.Rows()
	preds := make([]store.PredictionRow, 0, len(todo))
	for _, i := range todo {
		m := models[i]
		top, err := m.Classify(mat, TopK)
		if err != nil {
			return row, nil, fmt.Errorf("profile %s on %s: %w", m.Spec.Name, it.File, err)
		}
		preds = append(preds, Prediction(set.Name, it, m.Spec.Name, top))
	}
	return row, preds, nil
}

// Prediction turns a top-k result into a store row with correct@1/@5.
// A class whose score is exactly 0 never counts as a hit: the quantised
// models' uint8 softmax rounds most classes to 0, and such a class ties
// with hundreds of others, so its place in the top 5 is an artefact of
// tie-breaking, not a prediction.
func Prediction(dataset string, it datasets.Item, model string, top inference.TopK) store.PredictionRow {
	p := store.PredictionRow{Dataset: dataset, File: it.File, Model: model,
		Top5Idx: make([]int, len(top.Index)), Top5Score: make([]float64, len(top.Score))}
	copy(p.Top5Idx, top.Index)
	for i, v := range top.Score {
		p.Top5Score[i] = float64(v)
	}
	for k, c := range top.Index {
		if c == it.Label && top.Score[k] > 0 {
			p.Correct5 = true
			if k == 0 {
				p.Correct1 = true
			}
		}
	}
	return p
}

// Manifest describes the inputs, versions and settings of a run.
func Manifest(o Options, models []*inference.Model) map[string]any {
	ms := make([]map[string]string, len(models))
	for i, m := range models {
		ms[i] = map[string]string{"name": m.Spec.Name, "files_sha256": m.FilesSHA, "spec": m.Spec.JSON()}
	}
	return map[string]any{
		"dataset":      o.Set.Name,
		"dataset_dir":  o.Set.Dir,
		"dataset_hash": o.Set.Hash(),
		"shard":        fmt.Sprintf("%d/%d", o.ShardI, o.ShardN),
		"limit":        o.Limit,
		"models":       ms,
		"runtime":      "onnxruntime " + ortenv.Version(),
		"ort_library":  ortenv.Library(),
		"threads":      o.Load.Threads,
		"provider":     o.Load.Provider,
		"timing":       o.Timing,
	}
}

// checkClasses refuses a set labelled with a class no model can answer:
// every model would be wrong on those images for a reason that is not the
// models', and every figure would show it. (One model of fewer classes
// among others, as a backbone kept for its embedding, is let through.)
func checkClasses(set *datasets.Set, models []*inference.Model) error {
	top, at := -1, ""
	for _, it := range set.Items {
		if it.Label > top {
			top, at = it.Label, it.File
		}
	}
	source := filepath.Join(set.Dir, datasets.LabelsFile)
	if _, err := os.Stat(source); err != nil {
		source = "class folder " + filepath.Join(set.Dir, strings.SplitN(at, "/", 2)[0])
	}
	var widest *inference.Model
	for _, m := range models {
		if widest == nil || m.Spec.NumClasses > widest.Spec.NumClasses {
			widest = m
		}
	}
	if m, n := widest, widest.Spec.NumClasses; top >= n {
		return fmt.Errorf("profile: model %s (%s) answers %d classes (num_classes %d), but %s labels image %s with class %d: "+
			"the labels and the model must number classes alike: set num_classes (and label_offset) in the model spec to the model's output, "+
			"or relabel the images with the model's class indices 0..%d",
			m.Spec.Name, strings.Join(m.Spec.Files, ", "), n, n, source, at, top, n-1)
	}
	return nil
}
