package stages

import (
	"errors"
	"io/fs"
	"os"
)

// removeStore deletes an SQLite file with its WAL and shared-memory files.
func removeStore(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
