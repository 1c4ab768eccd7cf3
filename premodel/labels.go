package premodel

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/store"
)

var synsetID = regexp.MustCompile(`^n[0-9]{8}$`)

// ReadLabels reads class names, one per class index, from a synset file
// ("n01440764 tench, Tinca tinca" per line, as ImageNet sets ship it), a
// TensorFlow labels file whose first line is "background" (dropped: the
// models' label offset already removes that output), or a plain file of
// one name per line.
func ReadLabels(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	text := strings.TrimSuffix(strings.TrimPrefix(string(b), "\uFEFF"), "\n")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > 0 && strings.EqualFold(strings.TrimSpace(lines[0]), "background") {
		lines = lines[1:]
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("labels %s: no class names", path)
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			return nil, fmt.Errorf("labels %s:%d: blank line would shift every later class", path, i+1)
		}
		if id, names, ok := strings.Cut(l, " "); ok && synsetID.MatchString(id) {
			l = strings.TrimSpace(names)
		}
		out[i] = l
	}
	return out, nil
}

// DefaultLabelsFile finds class names for a store's data sets: the
// synset_words.txt beside the images of a training data set (the folder a
// profile or features run recorded), else the shared assets' ImageNet
// labels file. It returns "" when neither exists.
func DefaultLabelsFile(ctx context.Context, st *store.Store, dsets []string) string {
	if runs, err := st.Runs(ctx); err == nil {
		for i := len(runs) - 1; i >= 0; i-- {
			var m struct {
				Dataset string `json:"dataset"`
				Dir     string `json:"dataset_dir"`
			}
			if json.Unmarshal([]byte(runs[i].ManifestJSON), &m) != nil || m.Dir == "" || !slices.Contains(dsets, m.Dataset) {
				continue
			}
			if p := filepath.Join(m.Dir, "synset_words.txt"); fileExists(p) {
				return p
			}
		}
	}
	if p := filepath.Join(settings.Assets(), "models", "imagenet", "imagenet_labels.txt"); fileExists(p) {
		return p
	}
	return ""
}

// DatasetDir returns the image folder a profile or features run recorded
// for a data set of the store, when it is still readable here ("" if not).
func DatasetDir(ctx context.Context, st *store.Store, dataset string) string {
	runs, err := st.Runs(ctx)
	if err != nil {
		return ""
	}
	for i := len(runs) - 1; i >= 0; i-- {
		var m struct {
			Dataset string `json:"dataset"`
			Dir     string `json:"dataset_dir"`
		}
		if json.Unmarshal([]byte(runs[i].ManifestJSON), &m) != nil || m.Dataset != dataset || m.Dir == "" {
			continue
		}
		if st, err := os.Stat(m.Dir); err == nil && st.IsDir() {
			return m.Dir
		}
	}
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
