// Package deploy holds no code: it is the home of the scheduler files that
// run sharded profiling elsewhere (k8s/: a Kubernetes Indexed Job and the
// merge Job; slurm/: a job array, its merge and a submit script; a
// Dockerfile for the image). Its tests check that the manifests parse and
// agree with each other and that the shell scripts are valid bash;
// cmd/modelpick's tests run the scripts themselves against the real CLI.
package deploy
