// Package progress prints the one self-overwriting status line that the
// long stages (profiling, feature extraction) show on stderr: count,
// percentage, rate and ETA, at most once a second, so long runs show life
// without flooding logs. When stderr is not a terminal (CI, make logs) it
// prints whole lines every ten seconds instead of carriage returns.
package progress
