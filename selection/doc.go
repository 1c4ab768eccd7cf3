// Package selection turns per-image correctness profiles into the two things
// the premodel is trained on: the optimum model of each image and the set of
// candidate models (Algorithm 1 of Taylor et al., "Adaptive Selection of Deep
// Learning Models on Embedded Systems", LCTES 2018).
//
// Everything here is pure and data-only: a profile is correct[image][model]
// (top-1 or top-5, the caller chooses) and a cost per model (milliseconds,
// joules, or any cost where lower is better). Nothing reads files or prints.
//
// # Optimum model
//
// [Targets] labels each image with the cheapest model that classifies it
// correctly, or [None] when every model fails (§3 of the paper: "the
// fastest model that gives the correct answer"). Equal costs go to the lower
// model index so the labels never depend on map order or sorting stability.
//
// # Model-set selection (Algorithm 1)
//
// [SelectModels] starts with the model that is optimum for the most images
// (Fig 5), then repeatedly adds the model that is most accurate on the images
// the current set fails (Fig 6b, 6c), and stops when the oracle accuracy of
// the set would grow by less than theta percentage points (the paper uses
// 0.5). A candidate whose gain equals theta exactly is still added; a
// candidate that rescues no image is never added, whatever theta is. The
// [Trace] it returns holds every number those figures need, as plain
// JSON-friendly data.
//
// All accuracies and shares are percentages of the images (0–100), so that
// they compare directly with theta, which the paper states in percentage
// points.
package selection
