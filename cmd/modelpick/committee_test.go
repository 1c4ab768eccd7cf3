package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image/color"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/modelpick/modelpick/internal/settings"
	"github.com/modelpick/modelpick/routers"
)

// TestTrainCommitteeCascade runs profile → train -learner committee (the
// images' probability vectors computed on the way) → classify → evaluate
// → serve on tiny generated models, and the refusals of settings that do
// not fit.
func TestTrainCommitteeCascade(t *testing.T) {
	t.Setenv("MODELPICK_ORT_LIB", settings.ORTLibrary())
	t.Setenv("MODELPICK_CACHE", t.TempDir())
	dir, spec, data := tinyProject(t, 24)
	testData := writeTestSet(t, dir)
	trainDB, testDB := profilePair(t, dir, spec, data, testData)
	bundle := filepath.Join(dir, "committee")
	for _, bad := range [][]string{
		{"-learner", "knn", "-stop", "learned"},
		{"-learner", "softmax", "-target-gain", "1"},
		{"-learner", "committee", "-budget-ms", "1", "-target-gain", "1"},
		{"-learner", "committee", "-stop", "vote"},
	} {
		if _, _, err := cli(t, append([]string{"train", "-store", trainDB, "-models", spec, "-out", bundle}, bad...)...); err == nil {
			t.Errorf("train %v accepted", bad)
		}
	}
	for _, stop := range []string{routers.StopLearned, routers.StopThreshold} {
		out, stderr, err := cli(t, "train", "-store", trainDB, "-learner", "committee", "-stop", stop, "-target-gain", "0",
			"-models", spec, "-out", bundle)
		if err != nil {
			t.Fatalf("train: %v\n%s", err, stderr)
		}
		if !strings.Contains(out, stop+" stop rule") || !strings.Contains(out, "bundle written to") {
			t.Errorf("train output:\n%s", out)
		}
	}
	var m struct {
		Router    string `json:"router"`
		Committee struct {
			Levels []string `json:"levels"`
			Stop   string   `json:"stop"`
		} `json:"committee"`
	}
	raw, err := os.ReadFile(filepath.Join(bundle, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil || m.Router != routers.KindCommittee || m.Committee.Stop != routers.StopThreshold ||
		len(m.Committee.Levels) == 0 {
		t.Fatalf("manifest %s (%v)", raw, err)
	}

	// classify lists the models it ran; the answer is the last of them
	// alone or the committee of them all.
	out, _, err := cli(t, "classify", "-bundle", bundle, filepath.Join(testData, "img_00001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var line struct {
		Model string `json:"model"`
		Runs  []struct {
			Model string `json:"model"`
		} `json:"runs"`
		Labels []any `json:"labels"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &line); err != nil {
		t.Fatal(err)
	}
	var ran []string
	for _, r := range line.Runs {
		ran = append(ran, r.Model)
	}
	if len(ran) == 0 || !slices.Equal(ran, m.Committee.Levels[:len(ran)]) || len(line.Labels) == 0 ||
		(line.Model != ran[0] && line.Model != strings.Join(ran, "+")) {
		t.Errorf("classify line %s", out)
	}

	rep := filepath.Join(dir, "eval", "committee.json")
	out, _, err = cli(t, "evaluate", "-bundle", bundle, "-store", testDB, "-out", rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "| committee cascade (threshold) |") {
		t.Errorf("evaluate output:\n%s", out)
	}
	raw, err = os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Router  string `json:"router"`
		Images  int    `json:"images"`
		Methods []struct {
			Name string `json:"name"`
			Kind string `json:"kind"`
		} `json:"methods"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range r.Methods {
		kinds = append(kinds, m.Kind)
	}
	if r.Router != routers.KindCommittee || r.Images != 12 || !slices.Equal(kinds, []string{"premodel", "single", "single", "oracle"}) {
		t.Errorf("report %s", raw)
	}

	// serve answers with the same shape, the models run included.
	cmd := child(t, "serve", "-bundle", bundle, "-addr", "127.0.0.1:0", "-workers", "1")
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
		t.Fatalf("serve printed nothing; stderr:\n%s", stderr.String())
	}
	addr := regexp.MustCompile(`on http://(127\.0\.0\.1:\d+) `).FindStringSubmatch(lines.Text())
	if addr == nil {
		t.Fatalf("no address in %q", lines.Text())
	}
	resp, err := http.Post("http://"+addr[1]+"/v1/classify", "image/png", bytes.NewReader(pngOf(t, 30, 20, color.RGBA{R: 220, G: 20, B: 20})))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Model string `json:"model"`
		Runs  []any  `json:"runs"`
	}
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(res.Runs) == 0 || resp.Header.Get("X-Modelpick-Model") != res.Model {
		t.Errorf("serve: %d %+v (%v)", resp.StatusCode, res, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve exit: %v\n%s", err, stderr.String())
	}
}
