package features

import (
	"fmt"

	"gocv.io/x/gocv"
)

// Hue histogram. OpenCV's COLOR_BGR2HSV gives 8-bit hue H in 0..179 (degrees
// / 2), saturation S and value V in 0..255.
//
// Hue is meaningless for grey and near-black pixels (it flickers with JPEG
// noise), so only chromatic pixels are counted: S ≥ 60 and V ≥ 32, the mask
// of OpenCV's meanshift/CamShift tutorial. The histogram is a per-pixel rate
// (divided by ALL pixels), so it sums to the chromatic fraction of the image:
// a grey image gives all zeros and a colourful one sums to nearly 1.
//
// Seven bins of 180/7 OpenCV units (≈51.4°) are centred so that bin 1 is
// centred on red (H = 0), because red straddles the 0/180 wrap and would
// otherwise be split between the first and the last bin.
const (
	hueMinSat = 60
	hueMinVal = 32
)

const defHueCommon = "Fraction of ALL pixels that are chromatic (HSV via OpenCV COLOR_BGR2HSV, S ≥ 60 and V ≥ 32 of 255) and whose hue H (OpenCV units 0..180, 2° each) falls in"

// hueBinOf maps an OpenCV hue (0..179) to its bin, bin 0 centred on 0 (red).
func hueBinOf(h byte) int {
	// Bin k covers [(k-½)·180/7, (k+½)·180/7) modulo 180, i.e.
	// floor((h + 90/7)·7/180) mod 7 = floor((7h + 90)/180) mod 7, exact in
	// integers.
	return ((7*int(h) + 90) / 180) % histBins
}

// defHue describes bin i (0-based).
func defHue(i int) string {
	w := 180.0 / histBins
	lo, hi := (float64(i)-0.5)*w, (float64(i)+0.5)*w
	var r string
	if i == 0 {
		r = fmt.Sprintf("H ≥ %.2f or H < %.2f (red, centred on 0)", 180+lo, hi)
	} else {
		r = fmt.Sprintf("%.2f ≤ H < %.2f (centre %.2f = %.0f°)", lo, hi, float64(i)*w, float64(i)*w*2)
	}
	return fmt.Sprintf("%s %s. The seven sum to the chromatic fraction (0 for a grey image).", defHueCommon, r)
}

// hueHist converts to HSV and histograms the chromatic pixels' hue.
func (f *frame) hueHist() ([histBins]float64, error) {
	if f.hue == nil {
		hsv := gocv.NewMat()
		defer hsv.Close()
		gocv.CvtColor(f.bgr, &hsv, gocv.ColorBGRToHSV)
		px, err := bytesOf(hsv, "hsv")
		if err != nil {
			return [histBins]float64{}, err
		}
		var bins [256]uint8 // hueBinOf by hue, so the loop has no division
		for v := range bins {
			bins[v] = uint8(hueBinOf(byte(v)))
		}
		var n [histBins]int
		for i := 0; i+2 < len(px); i += 3 {
			if px[i+1] >= hueMinSat && px[i+2] >= hueMinVal {
				n[bins[px[i]]]++
			}
		}
		var h [histBins]float64
		for i, c := range n {
			h[i] = float64(c)
		}
		normalise(&h, float64(len(px)/3))
		f.hue = &h
		f.computed(productHueHist)
	}
	return *f.hue, nil
}

func hueFeature(bin int) func(*frame) (float64, error) {
	return func(f *frame) (float64, error) {
		h, err := f.hueHist()
		return h[bin], err
	}
}
