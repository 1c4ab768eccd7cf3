package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"syscall"
	"testing"

	"github.com/modelpick/modelpick/classifier"
	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/settings"
)

// TestServeRealLadder trains a bundle on 60 profiled imagenet-val-dev
// images with two real ladder models, serves it from a child process, and
// checks that every answer over HTTP equals the in-process classifier's on
// the same bytes (model, classes, scores), then shuts the server down with
// SIGTERM. It fails, never skips, without the shared assets.
func TestServeRealLadder(t *testing.T) {
	assets := settings.Assets()
	data := filepath.Join(assets, "images", "imagenet-val-dev")
	if _, err := os.Stat(data); err != nil {
		t.Fatalf("shared assets missing at %s (set %s): %v", assets, settings.EnvAssets, err)
	}
	spec := filepath.Join(settings.RepoRoot(), "experiments", "models", "ladder.yaml")
	dir := t.TempDir()
	db, bundle := filepath.Join(dir, "dev.db"), filepath.Join(dir, "bundle")
	for _, args := range [][]string{
		{"profile", "-models", spec, "-only", "mobilenet_v1_0.25_128,tf2_mobilenet_v2_1.0_224", "-data", data, "-limit", "60",
			"-store", db, "-quiet", "-meter", "none", "-min-runs", "10", "-max-runs", "40", "-ci-width", "0.1", "-max-time", "3s"},
		{"features", "-data", data, "-limit", "60", "-store", db, "-quiet", "-only", "n_keypoints,contrast,hue1,edge_length1"},
		{"train", "-store", db, "-out", bundle, "-models", spec, "-features", "n_keypoints,contrast,hue1,edge_length1"},
	} {
		if _, stderr, err := cli(t, args...); err != nil {
			t.Fatalf("%s: %v\n%s", args[0], err, stderr)
		}
	}

	cmd := child(t, "serve", "-bundle", bundle, "-addr", "127.0.0.1:0", "-workers", "2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		cmd.Wait()
		t.Fatalf("serve printed nothing:\n%s", stderr.String())
	}
	m := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+) `).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("no address in %q", lines.Text())
	}

	c, err := classifier.Open(bundle, classifier.Options{Workers: 1, Load: inference.Options{CacheDir: settings.Cache()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".JPEG" && filepath.Ext(e.Name()) != ".jpg" && filepath.Ext(e.Name()) != ".jpeg" {
			continue
		}
		img, err := os.ReadFile(filepath.Join(data, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.Classify(context.Background(), img)
		if err != nil {
			t.Fatalf("%s in-process: %v", e.Name(), err)
		}
		resp, err := http.Post(m[1]+"/v1/classify", "image/jpeg", bytes.NewReader(img))
		if err != nil {
			t.Fatal(err)
		}
		var got classifier.Result
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s over HTTP: %d %v", e.Name(), resp.StatusCode, err)
		}
		if got.Model != want.Model || !reflect.DeepEqual(got.Labels, want.Labels) || !reflect.DeepEqual(got.Scores, want.Scores) ||
			!reflect.DeepEqual(got.Decision, want.Decision) {
			t.Errorf("%s: HTTP answered %s %v %v, in-process %s %v %v", e.Name(), got.Model, got.Labels, got.Scores, want.Model, want.Labels, want.Scores)
		}
		if checked++; checked == 30 {
			break
		}
	}
	if checked < 30 {
		t.Fatalf("only %d images checked", checked)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, stderr.String())
	}
}
