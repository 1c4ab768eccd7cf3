// Package measure holds the measuring instruments of the harness: latency
// timing that repeats a call until its confidence interval is tight enough,
// energy meters behind one small interface, and a description of the
// platform the numbers were taken on.
//
// # Timing
//
// Taylor et al. ("Adaptive Selection of Deep Learning Models on Embedded
// Systems", experimental methodology) run each model on each input
// repeatedly until the 95% confidence interval of the mean inference time
// is within 5% of the mean.
// [Time] does exactly that and returns a [Summary]: plain data (centre,
// spread, interval, whether it converged and why it stopped, warnings) that
// the store and the report read; nothing here prints.
//
// # Energy
//
// The paper samples the Jetson TX2's INA3221 power monitors at 1 kHz and
// deducts the idle (static) power. A [Meter] is started before the work and
// stopped after it; [Meter.Stop] returns a [Reading]. Implementations:
//
//   - ina3221: sysfs power rails (the TX2's iio driver in milliwatts, or the
//     mainline hwmon driver as millivolts × milliamps) polled by a goroutine
//     at a fixed rate and integrated with the trapezoid rule on the actual
//     sample times;
//   - rapl: Intel powercap cumulative energy counters, with wrap-around;
//   - none: always reports "not measured" and never a number.
//
// The implementations are listed in one place (registry.go) and every one
// runs the same conformance test. [DetectMeter] picks the first one whose
// files exist; [NewMeter] does the same for an explicit kind and says which
// file is missing when it cannot. [MeasureIdle] and [Reading.DeductIdle]
// implement the idle deduction: NetJoules = Joules − IdleWatts × Duration.
//
// All sysfs paths take an optional root prefix so tests run against a fake
// tree in a temporary directory.
//
// # Platform
//
// [DetectPlatform] records the CPU, core count, OS, kernel and Go version
// beside every cost profile, since latency and energy only mean something
// for the device they were taken on.
package measure
