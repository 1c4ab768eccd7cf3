// Package profile runs every candidate model on every image of a labelled
// set and stores two profiles (DESIGN.md): correctness per (image, model) —
// top-5 classes, scores, correct@1 and correct@5 — which is hardware
// independent and can be sharded and merged; and cost per model — latency
// until its 95% CI holds, and energy where a meter exists — which must be
// measured on the device.
package profile
