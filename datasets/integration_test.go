package datasets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelpick/modelpick/internal/settings"
)

// These tests read the shared assets (see settings.Assets) and fail, rather
// than skip, when they are missing: a silently skipped check on the real data
// is worse than a loud one.

func assetImages(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(settings.Assets(), "images", name)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared image set missing (set %s to the assets folder): %v", settings.EnvAssets, err)
	}
	return dir
}

func TestRealImagenetValDev(t *testing.T) {
	s, err := Load(assetImages(t, "imagenet-val-dev"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 663 || len(s.Classes) != 1000 {
		t.Fatalf("%d items, %d classes; want 663, 1000", len(s.Items), len(s.Classes))
	}
	// The same folder through the full validation ground truth gives the same labels.
	gt := filepath.Join(settings.Assets(), "profiles", "timm-imagenet-val-top1", "val_ground_truth.txt")
	g, err := LoadWithGroundTruth(s.Dir, gt)
	if err != nil {
		t.Fatal(err)
	}
	if g.Hash() != s.Hash() {
		t.Fatal("labels.txt and val_ground_truth.txt disagree on imagenet-val-dev")
	}
	folds, err := StratifiedKFold(s.Labels(), 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, folds, 663, 10)
}

func TestRealImagenetSample(t *testing.T) {
	s, err := Load(assetImages(t, "imagenet-sample"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 1000 {
		t.Fatalf("%d items, want 1000", len(s.Items))
	}
	// File names start with their synset: a check of the label <-> synset mapping.
	for _, it := range s.Items {
		if syn := s.Classes[it.Label].Synset; !strings.HasPrefix(it.File, syn+"_") {
			t.Fatalf("%s labelled %d = %s", it.File, it.Label, syn)
		}
	}
}
