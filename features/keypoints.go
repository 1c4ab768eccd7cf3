package features

// FAST corner detector settings (E. Rosten and T. Drummond, "Machine learning
// for high-speed corner detection", ECCV 2006). Threshold 20 with non-maximum
// suppression on the 16-pixel circle is the common setting in OpenCV's
// examples (its own default is 10, which fires on JPEG block noise).
const (
	fastThreshold = 20
	fastNonmax    = true
)

const defNKeypoints = "Number of FAST keypoints (Rosten & Drummond 2006; OpenCV FastFeatureDetector, TYPE_9_16, threshold 20, non-maximum suppression on) detected on the 8-bit luma of the working image (longest side ≤ MaxSide, default 128 px). A count, not a rate: its scale depends on MaxSide."

// keypointCount runs FAST on the grey image (cv::FAST, what
// FastFeatureDetector.Detect calls; only the count crosses into Go).
func (f *frame) keypointCount() (int, error) {
	if f.nKeypoints == nil {
		g, err := f.grayMat()
		if err != nil {
			return 0, err
		}
		px, err := bytesOf(g, productGray)
		if err != nil {
			return 0, err
		}
		n, err := fastCount(px, g.Cols(), g.Rows(), fastThreshold, fastNonmax)
		if err != nil {
			return 0, err
		}
		f.nKeypoints = &n
		f.computed(productKeypoints)
	}
	return *f.nKeypoints, nil
}

func nKeypoints(f *frame) (float64, error) {
	n, err := f.keypointCount()
	return float64(n), err
}
