package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// File is a file or folder a stage reads or writes, identified by content.
type File struct {
	// Path is where it is now; it is not part of any cache key.
	Path string
	// SHA256 is the hex SHA-256 of the file's bytes; for a folder, of the
	// sorted list of (relative path, SHA-256) of every regular file in it.
	SHA256 string
	// Digest, when set, identifies what the file means rather than its
	// bytes, for files whose bytes differ between equal runs (an SQLite
	// store's pages, its run timestamps). Keys and verify use it instead
	// of SHA256.
	Digest string
	// Dir says Path is a folder.
	Dir bool
}

// Identity is what cache keys and verify compare: the digest when set,
// else the content hash.
func (f File) Identity() string {
	if f.Digest != "" {
		return "digest:" + f.Digest
	}
	return "sha256:" + f.SHA256
}

// fileKey marks a File inside JSON; canonical descriptions replace the
// object holding it by its value (the identity).
const fileKey = "$file"

type fileJSON struct {
	ID     string `json:"$file"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Digest string `json:"digest,omitempty"`
	Dir    bool   `json:"dir,omitempty"`
}

// MarshalJSON writes the file with its identity under "$file".
func (f File) MarshalJSON() ([]byte, error) {
	return json.Marshal(fileJSON{ID: f.Identity(), Path: f.Path, SHA256: f.SHA256, Digest: f.Digest, Dir: f.Dir})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (f *File) UnmarshalJSON(b []byte) error {
	var j fileJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = File{Path: j.Path, SHA256: j.SHA256, Digest: j.Digest, Dir: j.Dir}
	return nil
}

// hasher hashes files and folders, remembering results by (path, size,
// modification time) so that the many experiments of one reproduce run
// hash the shared image folders once.
type hasher struct {
	mu   sync.Mutex
	memo map[string]memoEntry
}

type memoEntry struct {
	size  int64
	mtime time.Time
	sum   string
}

func (h *hasher) file(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("hash %s: not a regular file", path)
	}
	h.mu.Lock()
	e, ok := h.memo[path]
	h.mu.Unlock()
	if ok && e.size == st.Size() && e.mtime.Equal(st.ModTime()) {
		return e.sum, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := sha256.New()
	if _, err := io.Copy(s, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	sum := hex.EncodeToString(s.Sum(nil))
	// A file changed within the clock's resolution could change again
	// with the same size and time: trust only older ones (as Go's build
	// cache does).
	if time.Since(st.ModTime()) < 2*time.Second {
		return sum, nil
	}
	h.mu.Lock()
	if h.memo == nil {
		h.memo = map[string]memoEntry{}
	}
	h.memo[path] = memoEntry{size: st.Size(), mtime: st.ModTime(), sum: sum}
	h.mu.Unlock()
	return sum, nil
}

// dir hashes every regular file under root (symbolic links followed for
// files, not for folders), in sorted relative-path order.
func (h *hasher) dir(root string) (string, error) {
	var rels []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rels = append(rels, rel)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash folder %s: %w", root, err)
	}
	sort.Strings(rels)
	s := sha256.New()
	for _, rel := range rels {
		p := filepath.Join(root, rel)
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue // a dangling link or a socket is not content
		}
		sum, err := h.file(p)
		if err != nil {
			return "", fmt.Errorf("hash folder %s: %w", root, err)
		}
		fmt.Fprintf(s, "%s\t%s\n", filepath.ToSlash(rel), sum)
	}
	return hex.EncodeToString(s.Sum(nil)), nil
}

// HashFile returns path as a File with its content hash.
func (r *Runner) HashFile(path string) (File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return File{}, fmt.Errorf("hash %s: %w", path, err)
	}
	sum, err := r.hash.file(abs)
	if err != nil {
		return File{}, fmt.Errorf("hash %s: %w", path, err)
	}
	return File{Path: abs, SHA256: sum}, nil
}

// HashDir returns the folder at path as a File whose hash covers the names
// and contents of every file in it.
func (r *Runner) HashDir(path string) (File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return File{}, fmt.Errorf("hash folder %s: %w", path, err)
	}
	if st, err := os.Stat(abs); err != nil {
		return File{}, fmt.Errorf("hash folder: %w", err)
	} else if !st.IsDir() {
		return File{}, fmt.Errorf("hash folder %s: not a folder", path)
	}
	sum, err := r.hash.dir(abs)
	if err != nil {
		return File{}, err
	}
	return File{Path: abs, SHA256: sum, Dir: true}, nil
}
