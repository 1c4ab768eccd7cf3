package extract

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/modelpick/modelpick/datasets"
	"github.com/modelpick/modelpick/internal/settings"
)

// This test reads the shared assets (see settings.Assets) and fails, rather
// than skips, when they are missing.

// TestRealImages extracts all features of 60 shared ImageNet images with two
// workers, then resumes: nothing fails, and the second run computes nothing.
func TestRealImages(t *testing.T) {
	dir := filepath.Join(settings.Assets(), "images", "imagenet-val-dev")
	set, err := datasets.Load(dir)
	if err != nil || len(set.Items) < 60 {
		t.Fatalf("need the shared images in %s (set %s): %v", dir, settings.EnvAssets, err)
	}
	ctx := context.Background()
	st := openStore(t, "real.db")
	o := Options{Set: set, Store: st, Workers: 2, Limit: 60}
	sum, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Computed != 60 || sum.Failed+sum.Unreadable != 0 {
		t.Fatalf("summary %+v", sum)
	}
	t.Logf("%d images in %.2f s on %d workers, %.2f ms/image/worker (decode + 29 features)", sum.Computed, sum.Elapsed, sum.Workers, sum.ExtractMS)
	again, err := Run(ctx, o)
	if err != nil || again.Skipped != 60 || again.Computed != 0 {
		t.Fatalf("resume: %+v %v", again, err)
	}
}
