package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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

// ClassNamesFile finds class names for images from the folders dirs (newest
// first): the first synset_words.txt among them, else fallback when it
// exists; "" when neither does.
func ClassNamesFile(dirs []string, fallback string) string {
	for _, d := range dirs {
		if p := filepath.Join(d, "synset_words.txt"); isFile(p) {
			return p
		}
	}
	if fallback != "" && isFile(fallback) {
		return fallback
	}
	return ""
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
