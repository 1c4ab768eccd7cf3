// Package libsvm is a small cgo binding to LIBSVM (Chang and Lin), the
// kernel SVM behind the SVM premodel. It links Debian's static library
// (package libsvm-dev 3.24: header /usr/include/libsvm/svm.h, archive
// libsvm.a) with -l:libsvm.a -lstdc++ -lm, so binaries do not need
// libsvm.so at run time.
//
// Only C-SVC classification is exposed: [Train] fits a model on dense
// feature rows and integer labels; [Model.Predict] returns the predicted
// label and the one-vs-one decision values; [Model.PredictProbability]
// returns Platt-scaled class probabilities when the model was trained with
// them.
//
// Memory: every structure handed to LIBSVM (problem, parameters, feature
// vectors, models) is allocated in C memory, never in Go memory. After
// training, the model is copied into Go values ([Model] owns them) and
// rebuilt in C memory from those values in LIBSVM's own load layout (one
// contiguous block of support-vector nodes, free_sv = 1), so that a trained
// model and a model restored by [Model.UnmarshalBinary] are built by the
// same code and predict bit-identically. LIBSVM's text format is not used
// for saving: it prints support vectors with 8 significant digits, which
// changes predictions, and it calls setlocale, which is process-wide.
// The C copy is freed when the Model becomes unreachable.
//
// Determinism: C-SVC training without probabilities uses no randomness.
// Probability training runs an internal cross-validation that shuffles with
// C's global rand(); Train seeds it with srand(Params.Seed) and holds a lock
// for the duration so that concurrent trainings in one process cannot
// interleave their random streams. The same lock covers the global print
// hook that silences LIBSVM's progress output (it writes to stdout
// otherwise).
package libsvm
