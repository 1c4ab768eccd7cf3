package features

// PaperKept is the paper's kept feature set (its Table 4), the default
// features of a premodel that is not selected here.
var PaperKept = []string{"n_keypoints", "avg_perceived_brightness", "hue1", "contrast", "area_by_perim", "edge_length1", "aspect_ratio"}
