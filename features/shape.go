package features

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// Shape features of the image's main object.
//
// The main object is found by global thresholding, the classic
// figure/ground split: luma is smoothed with a 5x5 Gaussian and thresholded
// with Otsu's method (N. Otsu, IEEE TSMC 1979; the "Otsu's thresholding after
// Gaussian filtering" recipe of OpenCV's tutorial). Otsu does not say which
// class is the object, so the class covering the smaller share of the image
// border is taken as foreground (the background usually surrounds the
// object; ties go to the bright class). The main object is the external
// contour (OpenCV findContours, RETR_EXTERNAL, suzuki85) of largest area.

const (
	defAreaByPerim = "Main object = largest-area external contour of the Otsu-thresholded luma (5x5 Gaussian first; foreground = the Otsu class covering less of the image border, ties to bright). Value: contour area / (contour perimeter × L), L the working image's longest side, making it scale-free (a square or disc filling the image gives 0.25). 0 when there is no object or the perimeter is 0."
	defAspectRatio = "Width / height of the upright bounding rectangle (OpenCV boundingRect, in pixels) of the main object defined as for area_by_perim. 0 when there is no object."
)

// mainObject holds the two shape features.
type mainObject struct {
	areaByPerim, aspect float64
}

// mainObjectOf segments the working image and measures its largest object.
func (f *frame) mainObjectOf() (mainObject, error) {
	if f.object == nil {
		o, err := f.findMainObject()
		if err != nil {
			return mainObject{}, err
		}
		f.object = &o
		f.computed(productObject)
	}
	return *f.object, nil
}

func (f *frame) findMainObject() (mainObject, error) {
	g, err := f.grayMat()
	if err != nil {
		return mainObject{}, err
	}
	blur, mask := gocv.NewMat(), gocv.NewMat()
	defer blur.Close()
	defer mask.Close()
	gocv.GaussianBlur(g, &blur, image.Pt(5, 5), 0, 0, gocv.BorderDefault)
	gocv.Threshold(blur, &mask, 0, 255, gocv.ThresholdBinary|gocv.ThresholdOtsu)
	px, err := bytesOf(mask, "otsu mask")
	if err != nil {
		return mainObject{}, err
	}
	w, h := mask.Cols(), mask.Rows()
	bright, total := borderCount(px, w, h)
	if 2*bright > total {
		gocv.BitwiseNot(mask, &mask)
	}
	contours := gocv.FindContours(mask, gocv.RetrievalExternal, gocv.ChainApproxSimple)
	defer contours.Close()
	best, bestArea := -1, -1.0
	for i := 0; i < contours.Size(); i++ {
		if a := gocv.ContourArea(contours.At(i)); a > bestArea {
			best, bestArea = i, a
		}
	}
	if best < 0 {
		return mainObject{}, nil
	}
	c := contours.At(best)
	perim := gocv.ArcLength(c, true)
	box := gocv.BoundingRect(c)
	if box.Dy() <= 0 {
		return mainObject{}, fmt.Errorf("main object bounding box %v", box)
	}
	o := mainObject{aspect: float64(box.Dx()) / float64(box.Dy())}
	if perim > 0 {
		o.areaByPerim = bestArea / (perim * f.longSide())
	}
	return o, nil
}

// borderCount counts the non-zero pixels among the border pixels of a w x h
// 8-bit mask, and the border pixels.
func borderCount(px []byte, w, h int) (nonzero, total int) {
	count := func(i int) {
		total++
		if px[i] != 0 {
			nonzero++
		}
	}
	for x := 0; x < w; x++ {
		count(x)
		if h > 1 {
			count((h-1)*w + x)
		}
	}
	for y := 1; y < h-1; y++ {
		count(y * w)
		if w > 1 {
			count(y*w + w - 1)
		}
	}
	return nonzero, total
}

func areaByPerim(f *frame) (float64, error) {
	o, err := f.mainObjectOf()
	return o.areaByPerim, err
}

func aspectRatio(f *frame) (float64, error) {
	o, err := f.mainObjectOf()
	return o.aspect, err
}
