package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/modelpick/modelpick/store"
)

// shim writes a folder holding `modelpick` (this test binary acting as the
// CLI) and a fake `sbatch` that logs its arguments, for the deploy scripts.
func shim(t *testing.T) string {
	t.Helper()
	exe, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"modelpick": "#!/bin/sh\nMODELPICK_TEST_AS_MAIN=1 exec '" + exe + "' \"$@\"\n",
		"sbatch":    "#!/bin/sh\necho \"$@\" >> \"$SBATCH_LOG\"\nn=$(wc -l < \"$SBATCH_LOG\")\necho \"10$n;cluster\"\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// manifestScript returns the sh -c script of the first container of a Job
// manifest.
func manifestScript(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Args []string `yaml:"args"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &j); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := j.Spec.Template.Spec.Containers
	if len(c) == 0 || len(c[0].Args) == 0 {
		t.Fatalf("%s: no container script", path)
	}
	return c[0].Args[0]
}

// runScript runs a deploy script with extra environment variables.
func runScript(t *testing.T, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, env, err, out)
	}
}

// TestDeployScriptsShardAndMerge runs the Kubernetes Jobs' scripts and the
// Slurm array and merge scripts as the schedulers would (three shards, each
// in its own process, then the merge), with this binary as modelpick, and
// checks each merged store equals an unsharded run.
func TestDeployScriptsShardAndMerge(t *testing.T) {
	dir, spec, data := tinyProject(t, 17)
	bin := shim(t)
	single := filepath.Join(dir, "single.db")
	if _, _, err := cli(t, "profile", "-models", spec, "-data", data, "-store", single, "-quiet", "-cost=false"); err != nil {
		t.Fatal(err)
	}
	deploy := filepath.Join("..", "..", "deploy")
	common := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"MODELS=" + spec, "DATA=" + data, "SHARD_COUNT=3"}

	k8sOut := filepath.Join(dir, "k8s")
	profile := manifestScript(t, filepath.Join(deploy, "k8s", "profile-shards.yaml"))
	for i := range 3 {
		runScript(t, append(common, "OUT="+k8sOut, "THREADS=1", fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)), "sh", "-c", profile)
	}
	runScript(t, append(common, "OUT="+k8sOut), "sh", "-c", manifestScript(t, filepath.Join(deploy, "k8s", "merge.yaml")))

	slurmOut := filepath.Join(dir, "slurm")
	for i := range 3 {
		runScript(t, append(common, "OUT="+slurmOut, "MODELPICK=modelpick", "SLURM_ARRAY_TASK_MIN=0",
			fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i)), "bash", filepath.Join(deploy, "slurm", "profile-array.sbatch"))
	}
	runScript(t, append(common, "OUT="+slurmOut), "bash", filepath.Join(deploy, "slurm", "merge.sbatch"))

	ctx := context.Background()
	a, err := store.Open(single)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, out := range []string{k8sOut, slurmOut} {
		b, err := store.Open(filepath.Join(out, "merged.db"))
		if err != nil {
			t.Fatal(err)
		}
		diff, err := store.Diff(ctx, a, b)
		b.Close()
		if err != nil || len(diff) > 0 {
			t.Errorf("%s: merged shards differ from a single run: %v %v", out, err, diff)
		}
	}

	// A merge with a shard missing refuses to run.
	if err := os.Remove(filepath.Join(slurmOut, "shard-1-of-3.db")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(deploy, "slurm", "merge.sbatch"))
	cmd.Env = append(os.Environ(), append(common, "OUT="+slurmOut)...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "missing shard store") {
		t.Errorf("merge with a shard missing: %v\n%s", err, out)
	}

	// submit.sh sizes the array from SHARD_COUNT and makes the merge wait.
	log := filepath.Join(dir, "sbatch.log")
	runScript(t, append(common, "SBATCH_LOG="+log), "bash", filepath.Join(deploy, "slurm", "submit.sh"), "--partition=cpu")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "--array=0-2") || !strings.Contains(lines[0], "profile-array.sbatch") ||
		!strings.Contains(lines[1], "--dependency=afterok:101") || !strings.Contains(lines[1], "merge.sbatch") ||
		!strings.Contains(lines[1], "--partition=cpu") {
		t.Errorf("sbatch calls:\n%s", b)
	}
}
