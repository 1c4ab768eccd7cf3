package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// job is the part of a batch/v1 Job these checks read.
type job struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    *int   `yaml:"completions"`
		Parallelism    *int   `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Name    string   `yaml:"name"`
					Image   string   `yaml:"image"`
					Command []string `yaml:"command"`
					Args    []string `yaml:"args"`
					Env     []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name                  string `yaml:"name"`
					PersistentVolumeClaim struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// readJobs decodes every YAML document of a manifest, checking it is valid
// YAML and, field by field, the shape of a Job.
func readJobs(t *testing.T, path string) []job {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var jobs []job
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var j job
		err := dec.Decode(&j)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		t.Fatalf("%s: no documents", path)
	}
	return jobs
}

func env(j job, name string) string {
	for _, e := range j.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func TestKubernetesManifests(t *testing.T) {
	shards := readJobs(t, filepath.Join("k8s", "profile-shards.yaml"))
	merge := readJobs(t, filepath.Join("k8s", "merge.yaml"))
	if len(shards) != 1 || len(merge) != 1 {
		t.Fatalf("want one Job per file, got %d and %d", len(shards), len(merge))
	}
	p, m := shards[0], merge[0]
	for _, j := range []job{p, m} {
		if j.APIVersion != "batch/v1" || j.Kind != "Job" || j.Metadata.Name == "" {
			t.Errorf("%s: want a named batch/v1 Job, got %s %s", j.Metadata.Name, j.APIVersion, j.Kind)
		}
		ts := j.Spec.Template.Spec
		if ts.RestartPolicy != "Never" && ts.RestartPolicy != "OnFailure" {
			t.Errorf("%s: restartPolicy %q is not allowed in a Job", j.Metadata.Name, ts.RestartPolicy)
		}
		if len(ts.Containers) != 1 || len(ts.Containers[0].Args) != 1 || strings.Join(ts.Containers[0].Command, " ") != "/bin/sh -c" {
			t.Fatalf("%s: want one container running one sh -c script", j.Metadata.Name)
		}
		if len(ts.Volumes) != 1 || ts.Volumes[0].PersistentVolumeClaim.ClaimName == "" ||
			len(ts.Containers[0].VolumeMounts) != 1 || ts.Containers[0].VolumeMounts[0].Name != ts.Volumes[0].Name {
			t.Errorf("%s: want the shared claim mounted", j.Metadata.Name)
		}
		if err := exec.Command("sh", "-n", "-c", ts.Containers[0].Args[0]).Run(); err != nil {
			t.Errorf("%s: script does not parse: %v", j.Metadata.Name, err)
		}
	}
	if p.Spec.CompletionMode != "Indexed" || p.Spec.Completions == nil {
		t.Fatal("profile Job: want completionMode Indexed with completions")
	}
	n, err := strconv.Atoi(env(p, "SHARD_COUNT"))
	if err != nil || n != *p.Spec.Completions {
		t.Errorf("profile Job: SHARD_COUNT %q differs from completions %d", env(p, "SHARD_COUNT"), *p.Spec.Completions)
	}
	if env(m, "SHARD_COUNT") != env(p, "SHARD_COUNT") || env(m, "OUT") != env(p, "OUT") {
		t.Errorf("merge Job's SHARD_COUNT/OUT (%s, %s) differ from the profile Job's (%s, %s)",
			env(m, "SHARD_COUNT"), env(m, "OUT"), env(p, "SHARD_COUNT"), env(p, "OUT"))
	}
	if p.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != m.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName {
		t.Error("profile and merge Jobs mount different claims")
	}
	script := p.Spec.Template.Spec.Containers[0].Args[0]
	for _, want := range []string{"JOB_COMPLETION_INDEX", `-shard "$i/$SHARD_COUNT"`, "-cost=false", "modelpick profile"} {
		if !strings.Contains(script, want) {
			t.Errorf("profile script lacks %q", want)
		}
	}
	if !strings.Contains(m.Spec.Template.Spec.Containers[0].Args[0], "modelpick merge -out") {
		t.Error("merge script does not run modelpick merge")
	}
}

func TestSlurmScriptsParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("slurm", "*"))
	if err != nil || len(files) < 3 {
		t.Fatalf("slurm scripts: %v %v", files, err)
	}
	for _, f := range files {
		if out, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", f, err, out)
		}
		st, err := os.Stat(f)
		if err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", f)
		}
	}
	b, err := os.ReadFile(filepath.Join("slurm", "profile-array.sbatch"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#SBATCH --array=0-", "SLURM_ARRAY_TASK_ID", `-shard "$i/$n"`, "-cost=false"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("profile-array.sbatch lacks %q", want)
		}
	}
	b, err = os.ReadFile(filepath.Join("slurm", "submit.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "--dependency=\"afterok:$jid\"") {
		t.Error("submit.sh does not make the merge wait for the array")
	}
}
