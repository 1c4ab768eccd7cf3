package experiments

import (
	"testing"

	"github.com/modelpick/modelpick/profileview"
	"github.com/modelpick/modelpick/report"
)

// TestMeasureKeysByCriterion: a top-5 experiment's keys follow
// claims.yaml's convention (a key naming the criterion names top5, any
// other takes the suffix _top5); a top-1 experiment's are as written.
func TestMeasureKeysByCriterion(t *testing.T) {
	for _, c := range []struct{ in, top1, top5 string }{
		{"premodel_top1_imagenet-val-dev", "premodel_top1_imagenet-val-dev", "premodel_top5_imagenet-val-dev"},
		{"top1_gain_pp_imagenet-val-dev", "top1_gain_pp_imagenet-val-dev", "top5_gain_pp_imagenet-val-dev"},
		{"premodel_minus_fastest_top1_pp_imagenet-val-dev", "premodel_minus_fastest_top1_pp_imagenet-val-dev", "premodel_minus_fastest_top5_pp_imagenet-val-dev"},
		{"of_oracle_pct_imagenet-val-dev", "of_oracle_pct_imagenet-val-dev", "of_oracle_pct_imagenet-val-dev_top5"},
		{"speedup_vs_best_single_imagenet-val-dev", "speedup_vs_best_single_imagenet-val-dev", "speedup_vs_best_single_imagenet-val-dev_top5"},
		{"top1_imagenet-val-dev_3 models", "top1_imagenet-val-dev_3 models", "top5_imagenet-val-dev_3 models"},
	} {
		if got := newMeasures(profileview.Top1).key(c.in); got != c.top1 {
			t.Errorf("top-1 %s: %s, want %s", c.in, got, c.top1)
		}
		if got := newMeasures(profileview.Top5).key(c.in); got != c.top5 {
			t.Errorf("top-5 %s: %s, want %s", c.in, got, c.top5)
		}
	}
	// An interval that misses its estimate by a hair is widened to hold it;
	// an undefined statistic is an error, kept as the first.
	ms := newMeasures(profileview.Top5)
	ms.put("a", report.Interval{Value: 1, Lo: 0, Hi: 2}, nil)
	if v, ok := ms.value("a"); !ok || v != 1 {
		t.Errorf("value %v %v", v, ok)
	}
	st := cvStats{n: 3, resamples: 10, seed: 1}
	ms.iv("b", st, func([]int) float64 { return 0 / zero() })
	ms.iv("c", st, func([]int) float64 { return 0 / zero() })
	if ms.err == nil || ms.m["b_top5"] != nil {
		t.Errorf("NaN statistic: err %v, stored %v", ms.err, ms.m["b_top5"])
	}
}

func zero() float64 { return 0 }
