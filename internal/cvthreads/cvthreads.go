// Package cvthreads sets how many threads OpenCV's own parallel loops
// use in this process (cv::setNumThreads), which gocv v0.31.0 does not
// expose.
//
// OpenCV runs its loops (Canny, cvtColor, resize, ...) on a TBB thread
// pool by default, whatever OPENCV_FOR_THREADS_NUM says: that variable
// only sizes the pool. On the 128 px working images of the features and
// the decodes of the service, waking the pool costs more than it saves,
// and its threads spin (sched_yield) on cores the callers' own workers
// need; this project parallelises across images instead.
package cvthreads

/*
#cgo pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include "cvthreads.h"
*/
import "C"

// Set makes OpenCV's parallel loops use n threads; 0 or 1 runs them on
// the calling thread, and a negative n restores OpenCV's default. It
// applies to the whole process.
func Set(n int) { C.modelpick_cv_set_num_threads(C.int(n)) }

// Get returns OpenCV's current thread count (cv::getNumThreads).
func Get() int { return int(C.modelpick_cv_get_num_threads()) }
