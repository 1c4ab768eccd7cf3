package profileview

import "fmt"

// Criterion says when a model counts as correct on an image.
type Criterion string

// The paper's two criteria.
const (
	Top1 Criterion = "top1"
	Top5 Criterion = "top5"
)

// ParseCriterion checks a criterion's name.
func ParseCriterion(s string) (Criterion, error) {
	switch c := Criterion(s); c {
	case Top1, Top5:
		return c, nil
	}
	return "", fmt.Errorf("criterion %q: want top1 or top5", s)
}

// Label is the criterion as people write it: "top-1" or "top-5".
func (c Criterion) Label() string {
	if c == Top5 {
		return "top-5"
	}
	return "top-1"
}
