package learners

import (
	"fmt"
	"strings"
)

// entry is one registered learner.
type entry struct {
	name  string
	level bool // can serve as a binary level of a Hierarchy
	make  func(Params) Learner
}

// registry lists every learner, in one place and in a fixed order. Add new
// learners here; the conformance test runs every entry.
func registry() []entry {
	return []entry{
		{"knn", true, func(p Params) Learner { return NewKNN(p) }},
		{"knn-cascade", false, func(p Params) Learner { return NewKNNCascade(p) }},
		{"dt", true, func(p Params) Learner { return NewTree(p) }},
		{"svm", true, func(p Params) Learner { return NewSVM(p) }},
		// Not a level: its rows are a backbone's embedding, not the
		// image features the other levels of a hierarchy share.
		{"cnn", false, func(p Params) Learner { return NewCNNHead(p) }},
	}
}

// Names returns the names of the registered learners, in a fixed order.
// Hierarchies are named by joining level names with dots ("knn.svm.dt");
// LevelNames lists the names allowed as levels.
func Names() []string {
	var out []string
	for _, e := range registry() {
		out = append(out, e.name)
	}
	return out
}

// LevelNames returns the names of the learners that can serve as levels of
// a hierarchy.
func LevelNames() []string {
	var out []string
	for _, e := range registry() {
		if e.level {
			out = append(out, e.name)
		}
	}
	return out
}

// New returns an unfitted learner by name: a registered name, or a
// hierarchy "X.Y.Z" of level names.
func New(name string, p Params) (Learner, error) {
	if strings.Contains(name, ".") {
		h, err := NewHierarchy(strings.Split(name, "."), p)
		if err != nil {
			return nil, fmt.Errorf("learners: %w", err)
		}
		return h, nil
	}
	for _, e := range registry() {
		if e.name == name {
			return e.make(p), nil
		}
	}
	return nil, fmt.Errorf("learners: unknown learner %q (known: %s, or levels %s joined by dots)",
		name, strings.Join(Names(), ", "), strings.Join(LevelNames(), ", "))
}

// newLevel returns a learner allowed as a hierarchy level.
func newLevel(name string, p Params) (Learner, error) {
	for _, e := range registry() {
		if e.name == name {
			if !e.level {
				return nil, fmt.Errorf("learner %q cannot be a hierarchy level (levels: %s)", name, strings.Join(LevelNames(), ", "))
			}
			return e.make(p), nil
		}
	}
	return nil, fmt.Errorf("unknown level learner %q (levels: %s)", name, strings.Join(LevelNames(), ", "))
}

// Load decodes a learner written by MarshalBinary, whatever its kind.
func Load(b []byte) (Learner, error) {
	name, err := EncodedName(b)
	if err != nil {
		return nil, err
	}
	l, err := New(name, Params{})
	if err != nil {
		return nil, err
	}
	if err := l.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("learners: load: %w", err)
	}
	return l, nil
}
