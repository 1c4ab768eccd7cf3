package features

import (
	"fmt"
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
	px, err := bytesOf(g, productGray)
	if err != nil {
		return mainObject{}, err
	}
	found, area, perim, bw, bh, err := objectOf(px, g.Cols(), g.Rows())
	if err != nil || !found {
		return mainObject{}, err
	}
	if bh <= 0 {
		return mainObject{}, fmt.Errorf("main object bounding box %dx%d", bw, bh)
	}
	o := mainObject{aspect: float64(bw) / float64(bh)}
	if perim > 0 {
		o.areaByPerim = area / (perim * f.longSide())
	}
	return o, nil
}

func areaByPerim(f *frame) (float64, error) {
	o, err := f.mainObjectOf()
	return o.areaByPerim, err
}

func aspectRatio(f *frame) (float64, error) {
	o, err := f.mainObjectOf()
	return o.aspect, err
}
