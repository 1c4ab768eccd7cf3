package extract

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/modelpick/modelpick/store"
)

func sha(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// byName returns the stored values of one image.
func byName(rows []store.FeatureRow, sha string) map[string]float64 {
	out := map[string]float64{}
	for _, r := range rows {
		if r.SHA256 == sha {
			out[r.Name] = r.Value
		}
	}
	return out
}
