package features

import "gocv.io/x/gocv"

// OpenCVVersion is the version of the OpenCV the features are computed
// with (results name it: another OpenCV may compute other values).
func OpenCVVersion() string { return gocv.OpenCVVersion() }
