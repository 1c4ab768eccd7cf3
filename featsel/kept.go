package featsel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// ReadKept reads the kept features of a selection run written by
// WriteRecords (its folder, or its kept_features.json) and the feature
// configuration key its manifest names ("" when it names none).
func ReadKept(from string) ([]string, string, error) {
	file, dir := from, filepath.Dir(from)
	if st, err := os.Stat(from); err == nil && st.IsDir() {
		file, dir = filepath.Join(from, "kept_features.json"), from
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("kept features: %w (want the -out folder of modelpick select-features)", err)
	}
	var kept struct {
		Kept []string `json:"kept"`
	}
	if err := json.Unmarshal(b, &kept); err != nil || len(kept.Kept) == 0 {
		return nil, "", fmt.Errorf("kept features: %s has no \"kept\" feature list (%v)", file, err)
	}
	var man struct {
		ConfigKey string `json:"config_key"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil {
		_ = json.Unmarshal(b, &man) // a manifest without a key leaves the side to the caller
	}
	return kept.Kept, man.ConfigKey, nil
}
