package featsel

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/features"
)

// SweepPoint is one point of Fig 13: a feature set's CV accuracy and the
// time to extract it.
type SweepPoint struct {
	NFeatures int      `json:"n_features"`
	Features  []string `json:"features"`
	Accuracy  float64  `json:"cv_accuracy"`
	// ExtractMS is the time per image to decode JPEG bytes and extract the
	// set (one core; see TimeSets); nil when not measured.
	ExtractMS *float64 `json:"extract_ms_per_image,omitempty"`
	// Stage is "all" (every feature, before the filter) or "elimination".
	Stage string `json:"stage"`
}

// Sweep lists the accuracy against the number of features: all features
// (allAccuracy, from the same evaluator), then every set on the elimination
// path. times, when not nil, holds ExtractMS for each point in that order
// (see TimeSets).
func Sweep(all []string, allAccuracy float64, el Elimination, times []float64) ([]SweepPoint, error) {
	pts := []SweepPoint{{NFeatures: len(all), Features: all, Accuracy: allAccuracy, Stage: "all"}}
	for _, s := range el.Path {
		pts = append(pts, SweepPoint{NFeatures: s.NFeatures, Features: s.Features, Accuracy: s.Accuracy, Stage: "elimination"})
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

// SweepSets returns the feature sets of Sweep's points, in order, for
// timing before the points are built.
func SweepSets(all []string, el Elimination) [][]string {
	sets := [][]string{all}
	for _, s := range el.Path {
		sets = append(sets, s.Features)
	}
	return sets
}

// TimeSets measures, for each feature set, the time per image to extract
// it from encoded image bytes (decode included, as at run time),
// single-threaded: for every image the fastest of reps timed passes (after
// one untimed warm-up pass), averaged over the images. The minimum is the
// usual estimator on a shared machine, where other processes only ever add
// time; the sets are interleaved image by image, so slow drifts fall on all
// of them alike.
func TimeSets(sets [][]string, images [][]byte, opts features.Options, reps int) ([]float64, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("featsel: no images to time extraction on")
	}
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
	out := make([]float64, len(sets))
	for i, ds := range best {
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		out[i] = float64(sum) / float64(time.Millisecond) / float64(len(images))
	}
	return out, nil
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
