package learners

// Params are the settings of the learners. Zero values take the defaults
// noted on each field; a learner ignores the fields that are not its own.
type Params struct {
	// K is the number of neighbours of the kNN learners. Default 5, the
	// paper's premodel (a cascade of K = 5 nearest-neighbour classifiers).
	K int `json:"k,omitempty"`

	// Order lists the classes the levels of a cascade decide on, first level
	// first; normally Algorithm 1's order (selection.Trace.Chosen mapped to
	// class ids). Default 0..Classes-1. Classes left out are never chosen.
	Order []int `json:"order,omitempty"`

	// MaxDepth and MinLeaf bound the decision tree. The paper gives no
	// values; the defaults (depth 10, 5 rows per leaf) keep a tree trained
	// on tens of thousands of noisy image features from memorising them.
	MaxDepth int `json:"max_depth,omitempty"`
	MinLeaf  int `json:"min_leaf,omitempty"`

	// C and Gamma are the RBF SVM's cost and kernel width; defaults are
	// LIBSVM's (C = 1, Gamma = 1/features). Probability makes the SVM fit
	// Platt scaling and report probabilities as scores (slower to train);
	// otherwise scores are one-vs-one vote shares.
	C           float64 `json:"c,omitempty"`
	Gamma       float64 `json:"gamma,omitempty"`
	Probability bool    `json:"probability,omitempty"`

	// L2 is the CNN head's weight penalty per training row; 0 chooses it
	// by cross-validation on the training set (see CNNHead).
	L2 float64 `json:"l2,omitempty"`
}

const (
	defaultK        = 5
	defaultMaxDepth = 10
	defaultMinLeaf  = 5
)

func (p Params) k() int {
	if p.K > 0 {
		return p.K
	}
	return defaultK
}

func (p Params) maxDepth() int {
	if p.MaxDepth > 0 {
		return p.MaxDepth
	}
	return defaultMaxDepth
}

func (p Params) minLeaf() int {
	if p.MinLeaf > 0 {
		return p.MinLeaf
	}
	return defaultMinLeaf
}
