package features

import "math"

// Brightness features. Values are on a 0..1 scale (8-bit values / 255).
//
// Luma is ITU-R BT.601 Y = 0.299 R + 0.587 G + 0.114 B, as OpenCV's
// COLOR_BGR2GRAY computes it (rounded to 8 bits). Perceived brightness is the
// HSP model's P = sqrt(0.299 R² + 0.587 G² + 0.114 B²) (D. R. Finley, "HSP
// Color Model", 2006), which tracks perceived lightness better than Y for
// saturated colours. "RMS" is the root mean square (quadratic mean) of the
// per-pixel value, as the feature names say; the spread of luma is contrast.

const (
	defAvgBrightness = "Mean of BT.601 luma Y = 0.299R + 0.587G + 0.114B (OpenCV COLOR_BGR2GRAY, 8-bit) over all pixels, divided by 255; in [0,1]."
	defBrightnessRMS = "Root mean square of luma, sqrt(mean(Y²))/255; in [0,1]; equals avg_brightness exactly when luma is uniform."
	defAvgPerceived  = "Mean of HSP perceived brightness P = sqrt(0.299R² + 0.587G² + 0.114B²) (Finley 2006) over all pixels, divided by 255; in [0,1]."
	defPerceivedRMS  = "Root mean square of HSP perceived brightness, sqrt(mean(P²))/255; in [0,1]."
	defContrast      = "RMS contrast (Peli 1990): population standard deviation of luma Y/255 over all pixels; in [0,0.5]; 0 for a uniform image."
)

// meanRMS summarises a per-pixel quantity scaled to 0..1.
type meanRMS struct {
	mean, rms, std float64
}

// lumaStats computes mean, RMS and standard deviation of luma from a
// 256-bin histogram: one integer pass over the pixels, no overflow at any
// size, and a uniform image gets exactly zero spread (mean is then exact).
func (f *frame) lumaStats() (meanRMS, error) {
	if f.luma == nil {
		g, err := f.grayMat()
		if err != nil {
			return meanRMS{}, err
		}
		px, err := bytesOf(g, productGray)
		if err != nil {
			return meanRMS{}, err
		}
		var hist [256]int64
		for _, y := range px {
			hist[y]++
		}
		n := float64(len(px))
		var sum, sumSq float64
		for v, c := range hist {
			sum += float64(c) * float64(v)
			sumSq += float64(c) * float64(v) * float64(v)
		}
		mean := sum / n
		var dev float64
		for v, c := range hist {
			if c != 0 {
				d := float64(v) - mean
				dev += float64(c) * d * d
			}
		}
		f.luma = &meanRMS{
			mean: mean / 255,
			rms:  math.Sqrt(sumSq/n) / 255,
			std:  math.Sqrt(dev/n) / 255,
		}
		f.computed(productLuma)
	}
	return *f.luma, nil
}

// hspStats computes the mean and RMS of HSP perceived brightness.
func (f *frame) hspStats() (meanRMS, error) {
	if f.hsp == nil {
		px, err := bytesOf(f.bgr, productWorking)
		if err != nil {
			return meanRMS{}, err
		}
		var sum, sumSq float64
		for i := 0; i+2 < len(px); i += 3 {
			b, g, r := float64(px[i]), float64(px[i+1]), float64(px[i+2])
			p2 := 0.299*r*r + 0.587*g*g + 0.114*b*b
			sum += math.Sqrt(p2)
			sumSq += p2
		}
		n := float64(len(px) / 3)
		f.hsp = &meanRMS{mean: sum / n / 255, rms: math.Sqrt(sumSq/n) / 255}
		f.computed(productHSP)
	}
	return *f.hsp, nil
}

func avgBrightness(f *frame) (float64, error) {
	s, err := f.lumaStats()
	return s.mean, err
}

func brightnessRMS(f *frame) (float64, error) {
	s, err := f.lumaStats()
	return s.rms, err
}

func avgPerceivedBrightness(f *frame) (float64, error) {
	s, err := f.hspStats()
	return s.mean, err
}

func perceivedBrightnessRMS(f *frame) (float64, error) {
	s, err := f.hspStats()
	return s.rms, err
}

func contrast(f *frame) (float64, error) {
	s, err := f.lumaStats()
	return s.std, err
}
