// Package stages holds the harness's pipeline stages (package pipeline):
// each one function from a typed input to a typed output, callable by a
// test without the rest of the pipeline, and cached by pipeline.Do.
//
//	profile        correctness of every model on every image of a set (store)
//	cost           each model's latency (and energy) on this device
//	features       the Table 2 features of every image of a set (store)
//	join           profiles + features + costs in one store, the input of
//	               every analysis (featsel, selection, premodels)
//	select-features  featsel.Select: Table 3, Table 4, Figs 7, 12, 13
//	feature-timing   extraction time of each feature set of the sweep (Fig 13)
//	premodel-curve   learncurve.Run: the premodel's repeated CV at a training
//	                 size, or on shuffled or no features (learning curve)
//	feature-info     featsel.Information: each feature's mutual information
//	                 with the target against a permutation baseline
//	select-models  Algorithm 1 with its trace (Figs 5, 6)
//	import         per-image results computed elsewhere, FILE,PREDICTED[,TRUTH]
//	pick-images    the motivation study's three images (Table 1)
//	image-latency  per-image inference time of a few models (Fig 1d)
//
// Stores are written into the stage's own cache folder and identified by a
// digest of their rows (Digest), not their bytes, so a re-run that stores
// the same rows leaves every downstream key unchanged. Measurements (cost,
// timings) are declared Volatile, so verify reports them as measurement
// noise, and everything else must reproduce exactly.
//
// Inputs hold resolved values for Run (a loaded spec, a folder path) beside
// the identities the key needs; fields tagged json:"-" are never part of a
// key and must not change the output.
package stages
