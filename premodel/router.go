package premodel

// Fixed is the router of a single model: it always answers Model, reads
// no features and decides in no time. A classifier over Fixed gives a plain
// model's results in the premodel's shape, the baseline a user swaps from.
type Fixed struct{ Model string }

// Features implements Router.
func (Fixed) Features() []string { return nil }

// Models implements Router.
func (f Fixed) Models() []string { return []string{f.Model} }

// Route implements Router.
func (f Fixed) Route(Input) (Decision, error) {
	return Decision{Model: f.Model, Class: 0, Scores: []float64{1}, MeanDist: -1, Reason: ReasonFixed}, nil
}
