package features

import (
	"strconv"
	"strings"
)

// MaxSideOf reads the working-image side back from an extractor's
// ConfigKey ("features-vN;max_side=S"); ok is false for another key.
func MaxSideOf(key string) (side int, ok bool) {
	_, v, found := strings.Cut(key, ";max_side=")
	if !found {
		return 0, false
	}
	side, err := strconv.Atoi(v)
	return side, err == nil
}
