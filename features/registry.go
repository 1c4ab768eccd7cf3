package features

import "fmt"

// registry lists every feature, in Table 2 order, with the products it reads.
// This is the one place features are registered: a new feature is one more
// entry here plus its function beside its kind. It returns a fresh slice so
// no caller can change another's view.
func registry() []Feature {
	fs := []Feature{
		{Name: "n_keypoints", Kind: KindKeypoints, Definition: defNKeypoints,
			Products: []string{productGray, productKeypoints}, compute: nKeypoints},
		{Name: "avg_brightness", Kind: KindBrightness, Definition: defAvgBrightness,
			Products: []string{productGray, productLuma}, compute: avgBrightness},
		{Name: "brightness_rms", Kind: KindBrightness, Definition: defBrightnessRMS,
			Products: []string{productGray, productLuma}, compute: brightnessRMS},
		{Name: "avg_perceived_brightness", Kind: KindBrightness, Definition: defAvgPerceived,
			Products: []string{productHSP}, compute: avgPerceivedBrightness},
		{Name: "perceived_brightness_rms", Kind: KindBrightness, Definition: defPerceivedRMS,
			Products: []string{productHSP}, compute: perceivedBrightnessRMS},
		{Name: "contrast", Kind: KindBrightness, Definition: defContrast,
			Products: []string{productGray, productLuma}, compute: contrast},
	}
	for i := range histBins {
		fs = append(fs, Feature{Name: fmt.Sprintf("edge_length%d", i+1), Kind: KindEdges,
			Definition: defEdgeLength(i),
			Products:   []string{productGray, productCanny, productEdgeLengths},
			compute:    edgeLengthFeature(i)})
	}
	for i := range histBins {
		fs = append(fs, Feature{Name: fmt.Sprintf("edge_angle%d", i+1), Kind: KindEdges,
			Definition: defEdgeAngle(i),
			Products:   []string{productGray, productCanny, productEdgeAngles},
			compute:    edgeAngleFeature(i)})
	}
	fs = append(fs,
		Feature{Name: "area_by_perim", Kind: KindShape, Definition: defAreaByPerim,
			Products: []string{productGray, productObject}, compute: areaByPerim},
		Feature{Name: "aspect_ratio", Kind: KindShape, Definition: defAspectRatio,
			Products: []string{productGray, productObject}, compute: aspectRatio},
	)
	for i := range histBins {
		fs = append(fs, Feature{Name: fmt.Sprintf("hue%d", i+1), Kind: KindHue,
			Definition: defHue(i),
			Products:   []string{productHueHist},
			compute:    hueFeature(i)})
	}
	return fs
}
