// Package progress is how long runs show life on stderr, in one place:
// a line over counted units (images profiled, resamples) with count,
// percentage, rate and ETA, and a heartbeat for computations without
// units, whose ETA is the time the same computation took before, or
// "ETA unknown". On a terminal the line overwrites itself at most once a
// second; in a log (CI, make > file) it prints whole lines every ten
// seconds, and heartbeats every thirty, so logs are not flooded.
package progress
