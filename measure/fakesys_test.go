package measure

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeAtomic replaces path's content through a temporary file and a
// rename, so a concurrent reader sees the old value or the new one, never a
// half-written file (real sysfs attributes are read whole, too).
func writeAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeFile creates path (and its folders) under root with content.
func writeFile(t testing.TB, root, path, content string) {
	t.Helper()
	full := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(full, content); err != nil {
		t.Fatal(err)
	}
}

// fakeTX2 writes the six TX2 rails (milliwatts, in TX2Rails order) under
// root; a negative value leaves that rail out.
func fakeTX2(t testing.TB, root string, mw [6]int) {
	t.Helper()
	for i, r := range TX2Rails() {
		if mw[i] >= 0 {
			writeFile(t, root, r.PowerFile, fmt.Sprintf("%d\n", mw[i]))
		}
	}
}

// fakeRAPLZone writes one powercap zone, e.g. id "0" or "0:1".
func fakeRAPLZone(t testing.TB, root, id, name string, energyUJ, maxUJ uint64) string {
	t.Helper()
	dir := powercapClass + "/intel-rapl:" + id
	writeFile(t, root, dir+"/name", name+"\n")
	writeFile(t, root, dir+"/max_energy_range_uj", fmt.Sprintf("%d\n", maxUJ))
	writeFile(t, root, dir+"/energy_uj", fmt.Sprintf("%d\n", energyUJ))
	return filepath.Join(root, dir, "energy_uj")
}

// setCounter rewrites a RAPL counter file.
func setCounter(t testing.TB, path string, uj uint64) {
	t.Helper()
	if err := writeAtomic(path, fmt.Sprintf("%d\n", uj)); err != nil {
		t.Fatal(err)
	}
}
