package featsel

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/features"
	"github.com/modelpick/modelpick/internal/cvthreads"
)

// SweepPoint is one point of Fig 13: a feature set's premodel accuracy
// and the time to extract it.
type SweepPoint struct {
	NFeatures int      `json:"n_features"`
	Features  []string `json:"features"`
	// Accuracy and Selection are on all images (one CV); Resampled is the
	// accuracy over the bootstrap resamples: of each resample's own
	// elimination path at this many features for the "elimination"
	// stage, else of this very set.
	Accuracy  float64 `json:"premodel_accuracy_pct"`
	Selection float64 `json:"selection_accuracy_pct"`
	Resampled Spread  `json:"premodel_accuracy_resampled"`
	// ExtractMS is the time per image to decode JPEG bytes and extract the
	// set (one core; see TimeSets); nil when not measured.
	ExtractMS *float64 `json:"extract_ms_per_image,omitempty"`
	// Stage is "all" (every feature, before the filter), "elimination"
	// (the path on all images) or "table4" (Table 4's set).
	Stage string `json:"stage"`
}

// Sweep stages.
const (
	StageAll         = "all"
	StageElimination = "elimination"
	StageTable4      = "table4"
)

// Sweep lists the accuracy against the number of features: all features
// (all, from the same evaluator), every set on the elimination path, then
// Table 4's set (its score on all images in t4[0]). times, when not nil, holds ExtractMS for each point
// in that order (see SweepSets).
func Sweep(names []string, all Score, el Elimination, rs Resampling, t4 []Score, times []float64) ([]SweepPoint, error) {
	over := func(f func(run ResampleRun) float64) Spread {
		v := make([]float64, len(rs.Runs))
		for b, run := range rs.Runs {
			v[b] = f(run)
		}
		return SpreadOf(v)
	}
	pts := []SweepPoint{{NFeatures: len(names), Features: names, Accuracy: all.Accuracy, Selection: all.Selection, Stage: StageAll,
		Resampled: over(func(run ResampleRun) float64 { return run.All.Accuracy })}}
	for i, s := range el.Path {
		pts = append(pts, SweepPoint{NFeatures: s.NFeatures, Features: s.Features, Accuracy: s.Accuracy, Selection: s.Selection,
			Stage: StageElimination, Resampled: over(func(run ResampleRun) float64 { return run.Path[i].Accuracy })})
	}
	t4pts := sweepTable4(rs)
	if len(t4) != len(t4pts) {
		return nil, fmt.Errorf("featsel: %d scores for %d sets of Table 4", len(t4), len(t4pts))
	}
	for i, st := range t4pts {
		pts = append(pts, SweepPoint{NFeatures: len(st.set), Features: st.set, Stage: st.stage, Resampled: over(st.acc),
			Accuracy: t4[i].Accuracy, Selection: t4[i].Selection})
	}
	if times != nil {
		if len(times) != len(pts) {
			return nil, fmt.Errorf("featsel: %d times for %d sweep points", len(times), len(pts))
		}
		for i := range pts {
			pts[i].ExtractMS = &times[i]
		}
	}
	return pts, nil
}

type table4Point struct {
	stage string
	set   []string
	acc   func(run ResampleRun) float64
}

// Table4Sets are the sets of Table 4 the sweep shows: its own.
func Table4Sets(rs Resampling) [][]string {
	var out [][]string
	for _, st := range sweepTable4(rs) {
		out = append(out, st.set)
	}
	return out
}

// sweepTable4 is Table 4's set.
func sweepTable4(rs Resampling) []table4Point {
	return []table4Point{{StageTable4, rs.Kept, func(run ResampleRun) float64 { return run.Kept4.Accuracy }}}
}

// SweepSets returns the feature sets of Sweep's points, in order, for
// timing before the points are built.
func SweepSets(names []string, el Elimination, rs Resampling) [][]string {
	sets := [][]string{names}
	for _, s := range el.Path {
		sets = append(sets, s.Features)
	}
	return append(sets, Table4Sets(rs)...)
}

// TimeSets measures, for each feature set, the time per image to extract
// it from encoded image bytes (decode included, as at run time),
// single-threaded: for every image the fastest of reps timed passes (after
// one untimed warm-up pass), averaged over the images. The minimum is the
// usual estimator on a shared machine, where other processes only ever add
// time; the sets are interleaved image by image, so slow drifts fall on all
// of them alike. OpenCV runs on the calling thread (cvthreads.Set(1),
// process-wide), as in the classifier that serves the features: its
// thread pool would otherwise take a second core for the same latency.
func TimeSets(sets [][]string, images [][]byte, opts features.Options, reps int) ([]float64, error) {
	per, err := TimeSetsImages(sets, images, opts, reps)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(per))
	for i, ms := range per {
		out[i] = mean(ms)
	}
	return out, nil
}

// TimeSetsImages is TimeSets before the average: for each set, each
// image's fastest time (ms), in the images' order, so a ratio of two sets'
// means can be bootstrapped over the images.
func TimeSetsImages(sets [][]string, images [][]byte, opts features.Options, reps int) ([][]float64, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("featsel: no images to time extraction on")
	}
	cvthreads.Set(1)
	exs := make([]*features.Extractor, len(sets))
	for i, s := range sets {
		ex, err := features.NewExtractor(s, opts)
		if err != nil {
			return nil, fmt.Errorf("featsel: time set %d: %w", i, err)
		}
		exs[i] = ex
	}
	best := make([][]time.Duration, len(sets))
	for i := range best {
		best[i] = make([]time.Duration, len(images))
	}
	for rep := -1; rep < max(reps, 1); rep++ {
		for k, img := range images {
			for i, ex := range exs {
				t0 := time.Now()
				if _, err := ex.ExtractBytes(img); err != nil {
					return nil, fmt.Errorf("featsel: time extraction: %w", err)
				}
				d := time.Since(t0)
				if rep == 0 || (rep > 0 && d < best[i][k]) {
					best[i][k] = d
				}
			}
		}
	}
	out := make([][]float64, len(sets))
	for i, ds := range best {
		out[i] = make([]float64, len(ds))
		for k, d := range ds {
			out[i][k] = float64(d) / float64(time.Millisecond)
		}
	}
	return out, nil
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// TimingImages returns up to n images of the folder dir (a labelled set,
// or any folder of images) that extract, in the set's order: the images
// extraction is timed on.
func TimingImages(dir string, n int) ([]string, error) {
	set, err := datasets.Load(dir)
	if err != nil { // timing needs no labels
		if set, err = datasets.LoadWith(dir, datasets.Options{Unlabelled: true}); err != nil {
			return nil, err
		}
	}
	ex, err := features.NewExtractor(nil, features.Options{})
	if err != nil {
		return nil, err
	}
	var files []string
	for _, it := range set.Items {
		if len(files) == n {
			break
		}
		p := filepath.Join(set.Dir, filepath.FromSlash(it.File))
		if _, err := ex.ExtractFile(p); err == nil { // only images that extract
			files = append(files, p)
		}
	}
	return files, nil
}
