package inference

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// A committee is a model whose answer is the mean of its members' output
// probability vectors (Wang et al., "Wisdom of Committees", ICLR 2022).
// In a spec file it is an entry with a name and `members:`, naming two or
// more single models of the same file:
//
//	- name: committee_v2+edgetpu
//	  members: [mobilenet_v2_1.0_224, mobilenet_edgetpu_0.75_224]
//
// How outputs are combined:
//   - De-quantisation: a quantised TFLite model's softmax output is uint8;
//     the importer (package onnxconv) ends the graph with DequantizeLinear
//     using that output tensor's own scale and zero point, real =
//     scale*(q - zero_point). For the shared ladder every output is
//     scale 1/256, zero point 0, so a probability is q/256 for an integer
//     q in 0..256, and unlikely classes read exactly 0. Scores() is already
//     this real value (an ONNX model's own float output likewise), so the
//     committee averages Scores() as they are.
//   - No renormalisation: a quantised vector sums to 1 only roughly (the
//     mass of the classes that read 0 is lost); each member counts with
//     weight 1/n regardless.
//   - Background: the mean covers every output, index 0 ("background",
//     label_offset 1) included; ranking then skips the first label_offset
//     outputs, exactly as for a single model. Members must therefore share
//     label_offset and num_classes.
//   - Members must output probabilities, not logits: Run refuses a member
//     output with a negative score or a sum above 1.5.
//
// Committees do not nest: a member that is itself a committee is refused.
// A committee of committees would run a model shared by two of them twice
// per image (measured cost inflated by work a flat list avoids) and weigh
// models unevenly in a way the spec would not show; a flat member list is
// one model per member, which also keeps a cascade's levels one model each.
//
// Cost: Run runs the members one after the other in the calling goroutine,
// then averages, so timing Run measures the committee as it would run;
// nothing is summed from the members' own profiles.

// IsCommittee reports whether the spec declares a committee (members set,
// even to an empty list, which Validate then refuses).
func (s *Spec) IsCommittee() bool { return s.Members != nil }

// committeeFixFields are the fields a committee takes from its members.
const committeeFix = "a committee takes it from its members: remove it (or remove members to declare a single model)"

// ownFieldsUnset refuses the fields of a single model on a committee.
func (s *Spec) ownFieldsUnset() error {
	set := []struct {
		field string
		isSet bool
	}{
		{"files", s.Files != nil},
		{"input_size", s.InputSize != 0},
		{"layout", s.Layout != ""},
		{"dtype", s.DType != ""},
		{"mean", s.Mean != [3]float64{}},
		{"std", s.Std != [3]float64{}},
		{"channel_order", s.ChannelOrder != ""},
		{"crop_fraction", s.CropFraction != 0},
		{"resize", s.Resize != ""},
		{"label_offset", s.LabelOffset != 0},
		{"num_classes", s.NumClasses != 0},
		{"mmacs", s.MMACs != 0},
	}
	for _, f := range set {
		if f.isSet {
			return fmt.Errorf("field %s: %s", f.field, committeeFix)
		}
	}
	return nil
}

// resolveCommittees fills each committee's MemberSpecs, class layout and
// MMACs from the single models of the same file, then validates it.
func resolveCommittees(models []Spec) error {
	byName := map[string]int{}
	var singles []string
	for i, s := range models {
		byName[s.Name] = i
		if !s.IsCommittee() {
			singles = append(singles, s.Name)
		}
	}
	for i := range models {
		c := &models[i]
		if !c.IsCommittee() {
			continue
		}
		c.MemberSpecs = make([]Spec, 0, len(c.Members))
		c.MMACs = 0
		for j, name := range c.Members {
			k, ok := byName[name]
			if !ok {
				return fmt.Errorf("models[%d] (%s): field members[%d]: no model %q in this spec file (its single models: %s): fix the name or add the model",
					i, c.Name, j, name, strings.Join(singles, ", "))
			}
			m := models[k]
			m.MemberSpecs = nil // a nested committee is refused by name below
			c.MemberSpecs = append(c.MemberSpecs, m)
			c.MMACs += m.MMACs
		}
		if len(c.MemberSpecs) > 0 {
			c.LabelOffset, c.NumClasses = c.MemberSpecs[0].LabelOffset, c.MemberSpecs[0].NumClasses
		}
		if err := c.validateCommittee(); err != nil {
			return fmt.Errorf("models[%d] (%s): %w", i, c.Name, err)
		}
	}
	return nil
}

// validateCommittee checks the member list and each member in full.
func (s *Spec) validateCommittee() error {
	switch len(s.Members) {
	case 0:
		return errors.New("field members: empty: a committee needs at least two models of this spec file (or remove members to declare a single model)")
	case 1:
		return fmt.Errorf("field members: only %q: a committee needs at least two models (to run %q alone, use it by its name)", s.Members[0], s.Members[0])
	}
	first := map[string]int{}
	for j, name := range s.Members {
		if k, dup := first[name]; dup {
			return fmt.Errorf("field members[%d]: %q is listed twice (also members[%d]): a committee averages distinct models: list each once", j, name, k)
		}
		first[name] = j
	}
	if len(s.MemberSpecs) != len(s.Members) {
		return errors.New("field members: not resolved against a spec file: load committees with ParseSpecFile")
	}
	// Preprocessing belongs to each member; the class layout is theirs.
	c := *s
	c.LabelOffset, c.NumClasses, c.MMACs = 0, 0, 0
	if err := c.ownFieldsUnset(); err != nil {
		return err
	}
	for j := range s.MemberSpecs {
		m := &s.MemberSpecs[j]
		switch {
		case m.Name != s.Members[j]:
			return fmt.Errorf("field members[%d]: names %q but its resolved spec is %q: load committees with ParseSpecFile", j, s.Members[j], m.Name)
		case m.IsCommittee():
			return fmt.Errorf("field members[%d]: %q is itself a committee, and committees do not nest: list its members instead", j, m.Name)
		}
		if err := m.Validate(); err != nil {
			return fmt.Errorf("field members[%d] (%s): %w", j, m.Name, err)
		}
		if m.LabelOffset != s.LabelOffset || m.NumClasses != s.NumClasses {
			return fmt.Errorf("field members[%d]: %q has label_offset %d and num_classes %d, but the committee's class layout is label_offset %d, num_classes %d (from members[0]): members must share one class layout",
				j, m.Name, m.LabelOffset, m.NumClasses, s.LabelOffset, s.NumClasses)
		}
	}
	return nil
}

// nullMembers refuses `members:` with no value, which YAML decodes as if
// the field were absent (the entry would then be read as a single model
// with no files, a misleading error).
func nullMembers(data []byte) error {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil || len(doc.Content) == 0 {
		return nil // the typed decode already accepted it
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "models" {
			continue
		}
		for k, m := range root.Content[i+1].Content {
			for j := 0; j+1 < len(m.Content); j += 2 {
				key, val := m.Content[j], m.Content[j+1]
				if key.Value == "members" && val.Tag == "!!null" {
					return fmt.Errorf("models[%d]: field members (line %d): empty: a committee needs at least two models of this spec file (or remove members to declare a single model)", k, key.Line)
				}
			}
		}
	}
	return nil
}

// MeanScores writes the element-wise mean of the score vectors into dst
// (each as long as dst), summed in float64 in the order given: the one
// rule by which a committee combines its members, used by Run and by the
// offline analysis alike so that both agree bit for bit.
func MeanScores(dst []float32, vecs ...[]float32) {
	n := float64(len(vecs))
	for c := range dst {
		var sum float64
		for _, v := range vecs {
			sum += float64(v[c])
		}
		dst[c] = float32(sum / n)
	}
}

// CheckProbabilities refuses a score vector that cannot be a (de-quantised)
// softmax output: a negative score, or a sum above 1.5. The sum is not
// bounded below: quantised outputs read 0 for unlikely classes, so an
// unsure model's vector may sum well under 1.
func CheckProbabilities(v []float32) error {
	var sum float64
	for c, x := range v {
		if x < 0 {
			return fmt.Errorf("output %d is %g: a committee averages probabilities (softmax outputs), not logits", c, x)
		}
		sum += float64(x)
	}
	if sum > 1.5 {
		return fmt.Errorf("outputs sum to %.3f: a committee averages probabilities (softmax outputs), not logits", sum)
	}
	return nil
}

// loadCommittee loads each member in full (its own sessions and
// preprocessor) and the buffer the mean is written to.
func loadCommittee(spec Spec, opts Options) (m *Model, err error) {
	m = &Model{Spec: spec, Threads: opts.Threads, Provider: opts.Provider}
	defer func() {
		if err != nil {
			m.Close()
			m = nil
		}
	}()
	shas := make([]string, len(spec.MemberSpecs))
	for j, ms := range spec.MemberSpecs {
		mm, err := Load(ms, opts)
		if err != nil {
			return nil, fmt.Errorf("committee %s: members[%d]: %w", spec.Name, j, err)
		}
		m.members = append(m.members, mm)
		m.memberOut = append(m.memberOut, mm.Scores())
		shas[j] = mm.FilesSHA
	}
	m.FilesSHA = strings.Join(shas, ",")
	m.mean = make([]float32, spec.NumClasses+spec.LabelOffset)
	return m, nil
}

// runCommittee runs the members in order on their inputs, then averages.
func (m *Model) runCommittee() error {
	for _, mm := range m.members {
		if err := mm.Run(); err != nil {
			return fmt.Errorf("committee %s: %w", m.Spec.Name, err)
		}
		if err := CheckProbabilities(mm.Scores()); err != nil {
			return fmt.Errorf("committee %s: member %s: %w", m.Spec.Name, mm.Spec.Name, err)
		}
	}
	MeanScores(m.mean, m.memberOut...)
	return nil
}

// Members are a committee's loaded members in order (nil for a single
// model); their Scores() hold their own outputs of the last Run.
func (m *Model) Members() []*Model { return m.members }
