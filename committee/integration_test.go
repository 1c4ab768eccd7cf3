package committee

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/profile"
	"github.com/modelpick/modelpick/store"
)

// TestCommitteeOnRealLadder reads experiments/models/committees.yaml, checks
// that its single models are ladder.yaml's (else the generated spec is
// stale), and on a few real validation images checks what the committee
// documentation claims: outputs are de-quantised as q/256, and a profiled
// committee answers exactly as the mean of its members' cached vectors.
// It fails (never skips) when the shared assets are missing.
func TestCommitteeOnRealLadder(t *testing.T) {
	assets := settings.Assets()
	if _, err := os.Stat(assets); err != nil {
		t.Fatalf("shared assets missing at %s (set %s): %v", assets, settings.EnvAssets, err)
	}
	models := filepath.Join(settings.RepoRoot(), "experiments", "models")
	ladder, err := inference.ParseSpecFile(filepath.Join(models, "ladder.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := inference.ParseSpecFile(filepath.Join(models, "committees.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range ladder.Models {
		if spec.Models[i].JSON() != s.JSON() {
			t.Fatalf("committees.yaml's %s differs from ladder.yaml's: rerun the command in its header", spec.Models[i].Name)
		}
	}
	// The cheapest committee of the spec, to keep the test fast.
	var c inference.Spec
	for _, s := range spec.Models[len(ladder.Models):] {
		if c.Name == "" || s.MMACs < c.MMACs {
			c = s
		}
	}
	if !c.IsCommittee() {
		t.Fatalf("committees.yaml has no committee after the ladder's models")
	}
	set, err := datasets.Load(filepath.Join(assets, "images", "imagenet-val-dev"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	ctx := context.Background()
	load := inference.Options{CacheDir: settings.Cache()} // the import cache, shared with the other tests
	ps, err := ComputeProbs(ctx, c.MemberSpecs, set, ProbsOptions{Load: load, CacheDir: t.TempDir(), Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		for i, v := range p.P {
			if q := float64(v) * 256; q != math.Round(q) || q > 256 {
				t.Fatalf("%s output %d = %g is not q/256 for an integer q in 0..256", p.Model, i%p.Outputs, v)
			}
		}
	}
	tr, err := NewTrace(ps, c.Members)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := profile.Run(ctx, profile.Options{Specs: []inference.Spec{c}, Load: load, Set: set, Store: st, Limit: n, Correctness: true}); err != nil {
		t.Fatal(err)
	}
	preds, err := st.Predictions(ctx, set.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(preds) != n {
		t.Fatalf("%d committee rows, want %d", len(preds), n)
	}
	last := len(c.Members) - 1
	for i, p := range preds {
		lv := tr.Levels[last][i]
		if p.File != tr.Files[i] || p.Top5Idx[0] != lv.Top1 || float32(p.Top5Score[0]) != float32(lv.MaxProb) || p.Correct1 != lv.Correct1 || p.Correct5 != lv.Correct5 {
			t.Errorf("%s: profiled committee %+v, mean of cached vectors %+v", p.File, p, lv)
		}
	}
}
