package measure

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Meter measures the energy used between Start and Stop.
//
// A meter is used by one caller at a time but may be started again after it
// is stopped. Start while started and Stop while stopped are errors
// ([ErrAlreadyStarted], [ErrNotStarted]), so a forgotten Stop shows up
// instead of silently merging two measurements.
type Meter interface {
	// Name is the meter kind, e.g. "ina3221".
	Name() string
	// Available is false when the meter cannot measure; its readings then
	// say "not measured" and carry no figures.
	Available() bool
	// Start begins a measurement. A sampling goroutine, if any, ends when
	// Stop is called or ctx is done.
	Start(ctx context.Context) error
	// Stop ends the measurement and returns what was measured.
	Stop() (Reading, error)
}

// Statuses of a [Reading].
const (
	StatusMeasured = "measured"
	// statusNotMeasured prefixes the reason a reading has no figures.
	statusNotMeasured = "not measured: "
)

// NotMeasured returns the status of a reading that has no figures.
func NotMeasured(why string) string { return statusNotMeasured + why }

// Reading is one energy measurement. Joules is the integral of power over
// Duration; NetJoules deducts IdleWatts × Duration (see
// [Reading.DeductIdle]). When Status is not [StatusMeasured] the figures are
// zero and mean nothing.
type Reading struct {
	Meter     string        `json:"meter"`
	Joules    float64       `json:"joules"`
	MeanWatts float64       `json:"mean_watts"`
	IdleWatts float64       `json:"idle_watts"`
	NetJoules float64       `json:"net_joules"`
	Duration  time.Duration `json:"duration_ns"`
	// Samples is the number of successful reads of the sensors.
	Samples int `json:"samples"`
	// ReadErrors counts sensor reads that failed and were bridged by the
	// integration (the next good sample closes the gap).
	ReadErrors int    `json:"read_errors,omitempty"`
	Status     string `json:"status"`
	// Rails breaks Joules down by sensor rail or powercap zone, including
	// rails that are reported but not counted in Joules.
	Rails []RailEnergy `json:"rails,omitempty"`
}

// RailEnergy is one rail's (or powercap zone's) share of a [Reading].
type RailEnergy struct {
	Name      string  `json:"name"`
	Joules    float64 `json:"joules"`
	MeanWatts float64 `json:"mean_watts"`
	// Counted is false for a rail fed by another listed rail (e.g. the
	// TX2's CPU rail, fed by VDD_IN): adding it would count power twice.
	Counted bool `json:"counted"`
}

// Measured reports whether the reading carries figures.
func (r Reading) Measured() bool { return r.Status == StatusMeasured }

// DeductIdle returns r with IdleWatts set and NetJoules = Joules − idleWatts
// × Duration: the paper reports energy with the idle (static) power of the
// board deducted. NetJoules is not clamped at zero: a run that drew less
// than the idle estimate is noise, and clamping it would bias averages over
// many runs upwards. A reading that was not measured stays as it is.
func (r Reading) DeductIdle(idleWatts float64) Reading {
	if !r.Measured() {
		return r
	}
	r.IdleWatts = idleWatts
	r.NetJoules = r.Joules - idleWatts*r.Duration.Seconds()
	return r
}

// Errors a meter returns; test them with errors.Is.
var (
	ErrNotAvailable   = errors.New("energy meter not available")
	ErrAlreadyStarted = errors.New("energy meter already started")
	ErrNotStarted     = errors.New("energy meter not started")
)

// MeasureIdle runs m for d while the caller keeps the device idle and
// returns the mean power, to be deducted with [Reading.DeductIdle]. A meter
// that is not available gives [ErrNotAvailable] rather than a made-up zero.
func MeasureIdle(ctx context.Context, m Meter, d time.Duration) (watts float64, err error) {
	if !m.Available() {
		return 0, fmt.Errorf("idle power on %s: %w", m.Name(), ErrNotAvailable)
	}
	if d <= 0 {
		return 0, fmt.Errorf("idle power on %s: duration %v must be positive", m.Name(), d)
	}
	if err := m.Start(ctx); err != nil {
		return 0, fmt.Errorf("idle power on %s: %w", m.Name(), err)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	r, err := m.Stop()
	if err != nil {
		return 0, fmt.Errorf("idle power on %s: %w", m.Name(), err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("idle power on %s: %w", m.Name(), err)
	}
	return r.MeanWatts, nil
}

// MeasureEnergy runs fn between m.Start and m.Stop and deducts idleWatts.
// On an unavailable meter fn still runs and the reading says "not
// measured". An error from fn is returned wrapped, after the meter stops.
func MeasureEnergy(ctx context.Context, m Meter, idleWatts float64, fn func() error) (Reading, error) {
	if err := m.Start(ctx); err != nil {
		return Reading{}, fmt.Errorf("energy on %s: %w", m.Name(), err)
	}
	fnErr := fn()
	r, err := m.Stop()
	if fnErr != nil {
		return r, fmt.Errorf("energy on %s: measured call: %w", m.Name(), fnErr)
	}
	if err != nil {
		return r, fmt.Errorf("energy on %s: %w", m.Name(), err)
	}
	return r.DeductIdle(idleWatts), nil
}

// MeterOptions chooses and configures a meter.
type MeterOptions struct {
	// Kind is "auto" (or empty), "ina3221", "rapl" or "none".
	Kind string `json:"kind"`
	// SysfsRoot prefixes every sysfs and procfs path ("" means "/"), so a
	// test can point the meters at a fake tree.
	SysfsRoot string `json:"sysfs_root,omitempty"`
	// Rails lists the INA3221 rails to read; empty means the Jetson TX2
	// rails, else any ina3221 hwmon device found (see [TX2Rails],
	// [DiscoverHwmonRails]).
	Rails []Rail `json:"rails,omitempty"`
	// RateHz is the sampling rate: default 1000 for INA3221 (the paper's
	// 1 kHz) and 10 for RAPL, whose counters accumulate by themselves and
	// need polling only to catch wrap-around.
	RateHz int `json:"rate_hz,omitempty"`
}

// NewMeter returns the meter of opts.Kind. For an explicit kind whose files
// are missing or unreadable the error names the path; "auto" never fails
// and falls back to the "none" meter, as [DetectMeter].
func NewMeter(opts MeterOptions) (Meter, error) {
	if opts.RateHz < 0 {
		return nil, fmt.Errorf("energy meter: negative rate %d Hz", opts.RateHz)
	}
	kind := opts.Kind
	if kind == "" || kind == KindAuto {
		return DetectMeter(opts), nil
	}
	for _, k := range meterKinds() {
		if k.name == kind {
			m, err := k.open(opts)
			if err != nil {
				return nil, fmt.Errorf("energy meter %s: %w", kind, err)
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("energy meter: unknown kind %q (known: auto, %v)", kind, MeterKinds())
}

// DetectMeter returns the first meter kind, in the order of [MeterKinds],
// that opens on this platform: INA3221 if its files exist, else RAPL if its
// counters are readable, else the "none" meter. Only opts.Kind is ignored.
func DetectMeter(opts MeterOptions) Meter {
	for _, k := range meterKinds() {
		if m, err := k.open(opts); err == nil {
			return m
		}
	}
	return NewNone()
}
