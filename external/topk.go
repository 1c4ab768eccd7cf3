package external

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/store"
)

// FormatTopK is the topk format (see the package documentation).
const FormatTopK = "topk"

// Options configure an import.
type Options struct {
	// Dir holds the topk_ids_MODEL.csv files.
	Dir string
	// Dataset is the data set name the rows get in the store.
	Dataset string
	// GroundTruth is a "FILE INDEX" file, needed when a file has no TRUTH
	// column, and checked against TRUTH when both are there.
	GroundTruth string
	// Models keeps only these models (default: every file in Dir).
	Models []string
	// BatchSize is the predictions per store transaction (default 20,000).
	BatchSize int
	// Limit keeps only the first Limit images in file-name order (0: all),
	// for a quick run.
	Limit int
}

// ModelSummary describes one imported file.
type ModelSummary struct {
	Model  string  `json:"model"`
	File   string  `json:"file"`
	SHA256 string  `json:"sha256"`
	Rows   int     `json:"rows"`
	Top1   float64 `json:"top1_pct"`
	// TruthFrom says where the labels came from: "file" or "ground truth".
	TruthFrom string `json:"truth_from"`
}

// Summary reports an import.
type Summary struct {
	Dataset string         `json:"dataset"`
	Images  int            `json:"images"`
	Models  []ModelSummary `json:"models"`
}

const filePrefix, fileSuffix = "topk_ids_", ".csv"

// Files lists the model files of dir, sorted by model name.
func Files(dir string) (map[string]string, []string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	files := map[string]string{}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasPrefix(n, filePrefix) || !strings.HasSuffix(n, fileSuffix) {
			continue
		}
		m := strings.TrimSuffix(strings.TrimPrefix(n, filePrefix), fileSuffix)
		files[m] = filepath.Join(dir, n)
		names = append(names, m)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("import: no %sMODEL%s files in %s", filePrefix, fileSuffix, dir)
	}
	return files, names, nil
}

// row is one parsed line.
type row struct {
	file        string
	pred, truth int // truth -1 when the file has no TRUTH column
}

// ImportTopK reads every model file of o.Dir (all validated before the
// store is touched) and writes images and predictions into st.
func ImportTopK(ctx context.Context, st *store.Store, o Options) (Summary, error) {
	sum := Summary{Dataset: o.Dataset}
	if o.Dataset == "" || strings.ContainsAny(o.Dataset, " \t\n") {
		return sum, fmt.Errorf("import: data set name %q: want a non-empty name without spaces", o.Dataset)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 20000
	}
	files, names, err := Files(o.Dir)
	if err != nil {
		return sum, err
	}
	if len(o.Models) > 0 {
		for _, m := range o.Models {
			if _, ok := files[m]; !ok {
				return sum, fmt.Errorf("import: no file %s%s%s in %s (have %s)", filePrefix, m, fileSuffix, o.Dir, strings.Join(names, ", "))
			}
		}
		names = slices.Clone(o.Models)
		sort.Strings(names)
	}
	var gt map[string]int
	if o.GroundTruth != "" {
		if gt, err = datasets.ReadGroundTruth(o.GroundTruth); err != nil {
			return sum, fmt.Errorf("import: %w", err)
		}
	}
	// Parse and check everything first: a bad file leaves the store untouched.
	var keep map[string]bool
	rows := map[string][]row{}
	labels := map[string]int{}
	for _, m := range names {
		rs, sha, err := readFile(files[m])
		if err != nil {
			return sum, err
		}
		if o.Limit > 0 {
			if keep == nil {
				var names []string
				for _, r := range rs {
					names = append(names, r.file)
				}
				sort.Strings(names)
				keep = map[string]bool{}
				for _, n := range names[:min(o.Limit, len(names))] {
					keep[n] = true
				}
			}
			kept := rs[:0]
			for _, r := range rs {
				if keep[r.file] {
					kept = append(kept, r)
				}
			}
			rs = kept
		}
		ms := ModelSummary{Model: m, File: filepath.Base(files[m]), SHA256: sha, Rows: len(rs), TruthFrom: "file"}
		hits := 0
		for i, r := range rs {
			t := r.truth
			if g, ok := gt[r.file]; ok {
				if t >= 0 && t != g {
					return sum, fmt.Errorf("import %s line %d: TRUTH %d but the ground truth %s says %d", files[m], i+1, t, o.GroundTruth, g)
				}
				t = g
			}
			if t < 0 {
				if gt == nil {
					return sum, fmt.Errorf("import %s line %d: no TRUTH column: pass a ground-truth file (-ground-truth)", files[m], i+1)
				}
				return sum, fmt.Errorf("import %s line %d: image %s is not in the ground truth %s", files[m], i+1, r.file, o.GroundTruth)
			}
			if r.truth < 0 {
				ms.TruthFrom = "ground truth"
			}
			if l, ok := labels[r.file]; ok && l != t {
				return sum, fmt.Errorf("import %s line %d: image %s has truth %d here and %d in another file", files[m], i+1, r.file, t, l)
			}
			labels[r.file] = t
			rs[i].truth = t
			if r.pred == t {
				hits++
			}
		}
		if len(rs) > 0 {
			ms.Top1 = 100 * float64(hits) / float64(len(rs))
		}
		rows[m] = rs
		sum.Models = append(sum.Models, ms)
	}

	for _, ms := range sum.Models {
		spec, _ := json.Marshal(map[string]any{"name": ms.Model, "source": "external", "format": FormatTopK,
			"file": ms.File, "k": 1})
		if err := st.RegisterModel(ctx, ms.Model, string(spec), ms.SHA256); err != nil {
			return sum, fmt.Errorf("import: %w", err)
		}
	}
	imgs := make([]string, 0, len(labels))
	for f := range labels {
		imgs = append(imgs, f)
	}
	sort.Strings(imgs)
	sum.Images = len(imgs)
	var batch []store.ImageRow
	for _, f := range imgs {
		batch = append(batch, store.ImageRow{Dataset: o.Dataset, File: f, Label: labels[f]})
		if len(batch) == o.BatchSize {
			if err := st.WriteBatch(ctx, batch, nil); err != nil {
				return sum, fmt.Errorf("import: %w", err)
			}
			batch = batch[:0]
		}
	}
	if err := st.WriteBatch(ctx, batch, nil); err != nil {
		return sum, fmt.Errorf("import: %w", err)
	}
	unknown := []float64{math.NaN()} // the file gives no score
	var preds []store.PredictionRow
	for _, m := range names {
		for _, r := range rows[m] {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
			preds = append(preds, store.PredictionRow{Dataset: o.Dataset, File: r.file, Model: m,
				Top5Idx: []int{r.pred}, Top5Score: unknown, Correct1: r.pred == r.truth})
			if len(preds) == o.BatchSize {
				if err := st.WriteBatch(ctx, nil, preds); err != nil {
					return sum, fmt.Errorf("import: %w", err)
				}
				preds = preds[:0]
			}
		}
	}
	if err := st.WriteBatch(ctx, nil, preds); err != nil {
		return sum, fmt.Errorf("import: %w", err)
	}
	return sum, nil
}

// readFile parses one model file and returns its rows and sha256.
func readFile(path string) ([]row, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	sc := bufio.NewScanner(io.TeeReader(f, h))
	var out []row
	seen := map[string]bool{}
	cols := 0
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		parts := strings.Split(text, ",")
		if cols == 0 {
			cols = len(parts)
		}
		bad := func(why string) error {
			return fmt.Errorf("import %s line %d: %s (want FILE,PREDICTED[,TRUTH] with classes 0..%d): %q",
				path, line, why, datasets.NumClasses-1, text)
		}
		if len(parts) < 2 || len(parts) > 3 {
			return nil, "", bad(fmt.Sprintf("%d columns", len(parts)))
		}
		if len(parts) != cols {
			return nil, "", bad(fmt.Sprintf("%d columns after %d on the first line", len(parts), cols))
		}
		r := row{file: strings.TrimSpace(parts[0]), truth: -1}
		if r.file == "" {
			return nil, "", bad("empty FILE")
		}
		if seen[r.file] {
			return nil, "", bad("image named twice")
		}
		seen[r.file] = true
		if r.pred, err = class(parts[1]); err != nil {
			return nil, "", bad("PREDICTED " + err.Error())
		}
		if len(parts) == 3 {
			if r.truth, err = class(parts[2]); err != nil {
				return nil, "", bad("TRUTH " + err.Error())
			}
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, "", fmt.Errorf("import %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("import %s: no rows", path)
	}
	return out, hex.EncodeToString(h.Sum(nil)), nil
}

func class(s string) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("is not an integer")
	}
	if v < 0 || v >= datasets.NumClasses {
		return 0, fmt.Errorf("%d is out of range", v)
	}
	return v, nil
}
