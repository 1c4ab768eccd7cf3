package report

import (
	"fmt"
	"sort"
)

// View renders records of a results folder: a markdown table and, for
// some, a figure. Both read only the folder's record files.
type View struct {
	Table func(dir string) (string, error)
	// Figure draws it, with the paper's values for this experiment
	// (claims.yaml) beside ours; nil: no figure.
	Figure func(dir, title string, paper Paper) (Figure, error)
}

// Views is the registry of views, by the name an experiment's result
// lists.
func Views() map[string]View {
	return map[string]View{
		"shares": {
			Table: func(dir string) (string, error) {
				rows, err := ReadRecords[OptimumShare](dir, "shares")
				if err != nil {
					return "", err
				}
				none, err := scalar(dir, "none_share_pct")
				if err != nil {
					return "", err
				}
				n, err := scalar(dir, "none_images")
				if err != nil {
					return "", err
				}
				return SharesTable(rows, none, int(n)), nil
			},
			Figure: func(dir, title string, paper Paper) (Figure, error) {
				rows, err := ReadRecords[OptimumShare](dir, "shares")
				if err != nil {
					return Figure{}, err
				}
				none, err := scalar(dir, "none_share_pct")
				if err != nil {
					return Figure{}, err
				}
				return SharesFigure(title, rows, none, paper)
			},
		},
		"steps": table("steps", StepsTable),
		"subset-accuracy": withFigure(table("subset_accuracy", SubsetAccuracyTable), func(dir, _ string, paper Paper) (Figure, error) {
			return figure(dir, "subset_accuracy", func(rows []SubsetAccuracy) (Figure, error) { return SubsetAccuracyFigure(rows, paper) })
		}),
		"motivation": table("motivation", MotivationTable),
		"image-times": withFigure(table("image_times", ImageTimeTable), func(dir, _ string, _ Paper) (Figure, error) {
			return figure(dir, "image_times", ImageTimeFigure)
		}),
		"features": table("features", FeatureTable),
		"removed":  table("removed", RemovalTable),
		"kept":     table("kept", KeptTable),
		"importance": withFigure(table("importance", ImportanceTable), func(dir, title string, paper Paper) (Figure, error) {
			return figure(dir, "importance", func(rows []Importance) (Figure, error) { return ImportanceFigure(title, rows, paper) })
		}),
		"sweep": withFigure(table("sweep", SweepTable), func(dir, _ string, paper Paper) (Figure, error) {
			return figure(dir, "sweep", func(rows []SweepPoint) (Figure, error) { return SweepFigure(rows, paper) })
		}),
		"models": withFigure(table("models", ModelTable), func(dir, title string, _ Paper) (Figure, error) {
			return figure(dir, "models", func(rows []ModelSummary) (Figure, error) {
				x := "latency (ms, log scale)"
				if len(rows) > 0 && rows[0].LatencySource != "" {
					x = "latency (ms, log scale; " + rows[0].LatencySource + ")"
				}
				return AccuracyLatencyFigure(title, x, rows)
			})
		}),
		"scalars": table("scalars", ScalarTable),
		"learning-curve": withFigure(table("learning_curve", LearningTable), func(dir, title string, _ Paper) (Figure, error) {
			return figure(dir, "learning_curve", func(rows []LearningPoint) (Figure, error) { return LearningFigure(title, rows) })
		}),
		"information":       table("information", InformationTable),
		"baselines":         table("baselines", BaselineTable),
		"ranked-costs":      table("ranked_costs", RankedCostTable),
		"cost-stability":    table("cost_stability", CostStabilityTable),
		"claim-stability":   table("claim_stability", ClaimStabilityTable),
		"per-image-targets": table("per_image_targets", PerImageTargetTable),
		"decode-share":      table("decode_share", DecodeShareTable),
		"overall": withFigure(table("methods", MethodTable), func(dir, title string, paper Paper) (Figure, error) {
			return figure(dir, "methods", func(rows []MethodSummary) (Figure, error) { return OverallFigure(title, rows, top5(rows), paper) })
		}),
		"groups": withFigure(table("methods", MethodTable), func(dir, title string, paper Paper) (Figure, error) {
			return figure(dir, "methods", func(rows []MethodSummary) (Figure, error) { return GroupFigure(title, rows, top5(rows), false, paper) })
		}),
		// Fig 11: the time bars span the test images, as the paper's do.
		"model-count": withFigure(table("methods", MethodTable), func(dir, title string, paper Paper) (Figure, error) {
			return figure(dir, "methods", func(rows []MethodSummary) (Figure, error) { return GroupFigure(title, rows, top5(rows), true, paper) })
		}),
		"curve": withFigure(table("curve", CurveTable), func(dir, title string, _ Paper) (Figure, error) {
			return figure(dir, "curve", func(rows []CurvePoint) (Figure, error) { return CurveFigure(title, rows) })
		}),
		"frontier": withFigure(table("frontier", FrontierTable), func(dir, _ string, _ Paper) (Figure, error) {
			return figure(dir, "frontier", FrontierFigure)
		}),
		"frontier-curve": table("frontier", FrontierCurveTable),
	}
}

// top5 says whether the rows are a top-5 premodel's.
func top5(rows []MethodSummary) bool {
	return len(rows) > 0 && rows[0].Criterion == "top5"
}

// ViewNames lists the registered views, sorted.
func ViewNames() []string {
	var out []string
	for n := range Views() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func table[T any](records string, render func([]T) string) View {
	return View{Table: func(dir string) (string, error) {
		rows, err := ReadRecords[T](dir, records)
		if err != nil {
			return "", err
		}
		return render(rows), nil
	}}
}

func withFigure(v View, f func(dir, title string, paper Paper) (Figure, error)) View {
	v.Figure = f
	return v
}

func figure[T any](dir, records string, draw func([]T) (Figure, error)) (Figure, error) {
	rows, err := ReadRecords[T](dir, records)
	if err != nil {
		return Figure{}, err
	}
	return draw(rows)
}

// scalar reads one named value from dir/scalars.json.
func scalar(dir, name string) (float64, error) {
	rows, err := ReadRecords[Scalar](dir, "scalars")
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if r.Name == name {
			return r.Value, nil
		}
	}
	return 0, fmt.Errorf("%s/scalars.json has no %s", dir, name)
}
