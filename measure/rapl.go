package measure

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// powercapClass is where Linux exposes RAPL zones, flat: intel-rapl:0 is a
// package, intel-rapl:0:0 one of its subzones (core, uncore or dram).
const powercapClass = "/sys/class/powercap"

// DefaultRAPLRateHz: RAPL counters accumulate energy by themselves, so
// polling only has to beat wrap-around (hours at typical ranges); 10 Hz
// keeps the overhead negligible.
const DefaultRAPLRateHz = 10

// raplZone is one powercap zone in use.
type raplZone struct {
	name    string // e.g. "package-0", "dram"
	energy  string // path of energy_uj under the root
	max     uint64 // max_energy_range_uj: the counter wraps after it
	counted bool
}

// RAPL reads Intel's powercap energy counters (energy_uj, microjoules).
// Joules is the sum of the package zones and of any dram zone: core and
// uncore are parts of a package, and psys (whole platform, on some laptops)
// overlaps the packages, so they are reported in Rails but not counted.
type RAPL struct {
	zones  []raplZone
	period time.Duration

	mu  sync.Mutex
	run *sampler
	st  *raplState
	t0  time.Time
}

// NewRAPL finds the zones under opts.SysfsRoot/sys/class/powercap and reads
// each counter once; an unreadable counter (root-only since the 2020
// PLATYPUS mitigation) fails here with its path.
func NewRAPL(opts MeterOptions) (*RAPL, error) {
	dir := underRoot(opts.SysfsRoot, powercapClass)
	paths, err := filepath.Glob(filepath.Join(dir, "intel-rapl:*"))
	if err != nil {
		return nil, fmt.Errorf("find RAPL zones: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no RAPL zones: nothing matches %s", filepath.Join(dir, "intel-rapl:*"))
	}
	sort.Strings(paths)
	m := &RAPL{period: periodOf(opts.RateHz, DefaultRAPLRateHz)}
	hasPackage := false
	var top []bool
	for _, p := range paths {
		name, err := readText(filepath.Join(p, "name"))
		if err != nil {
			return nil, fmt.Errorf("RAPL zone %s: %w", filepath.Base(p), err)
		}
		maxUJ, err := readUint(filepath.Join(p, "max_energy_range_uj"))
		if err != nil {
			return nil, fmt.Errorf("RAPL zone %s: %w", name, err)
		}
		z := raplZone{name: name, energy: filepath.Join(p, "energy_uj"), max: maxUJ}
		if _, err := readUint(z.energy); err != nil {
			return nil, fmt.Errorf("RAPL zone %s (reading energy_uj often needs root): %w", name, err)
		}
		isTop := strings.Count(filepath.Base(p), ":") == 1
		if isTop && strings.HasPrefix(name, "package") {
			hasPackage = true
		}
		m.zones = append(m.zones, z)
		top = append(top, isTop)
	}
	for i := range m.zones {
		z := &m.zones[i]
		switch {
		case z.name == "dram":
			z.counted = true
		case hasPackage:
			z.counted = top[i] && strings.HasPrefix(z.name, "package")
		default:
			z.counted = top[i]
		}
	}
	return m, nil
}

// Name returns "rapl".
func (*RAPL) Name() string { return KindRAPL }

// Available returns true: the counters were read when the meter was opened.
func (*RAPL) Available() bool { return true }

// Start reads the counters and starts polling them for wrap-around.
func (m *RAPL) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start %s: %w", KindRAPL, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.run != nil {
		return fmt.Errorf("start %s: %w", KindRAPL, ErrAlreadyStarted)
	}
	st := &raplState{zones: m.zones, total: make([]uint64, len(m.zones))}
	if err := st.poll(); err != nil {
		return fmt.Errorf("start %s: %w", KindRAPL, err)
	}
	m.st, m.t0 = st, time.Now()
	m.run = startSampler(ctx, m.period, func(time.Time) { _ = st.poll() })
	return nil
}

// Stop halts polling, reads the counters a last time and returns the
// energy since Start.
func (m *RAPL) Stop() (Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.run == nil {
		return Reading{}, fmt.Errorf("stop %s: %w", KindRAPL, ErrNotStarted)
	}
	ctxErr := m.run.halt()
	st := m.st
	m.run, m.st = nil, nil
	if ctxErr != nil {
		return Reading{}, fmt.Errorf("stop %s: polling ended early: %w", KindRAPL, ctxErr)
	}
	if err := st.poll(); err != nil {
		return Reading{}, fmt.Errorf("stop %s: last read: %w", KindRAPL, err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	r := Reading{
		Meter:      KindRAPL,
		Duration:   time.Since(m.t0),
		Samples:    st.n,
		ReadErrors: st.errs,
		Status:     StatusMeasured,
	}
	var counted uint64
	for i, z := range m.zones {
		j := float64(st.total[i]) / 1e6
		if z.counted {
			counted += st.total[i]
		}
		r.Rails = append(r.Rails, RailEnergy{Name: z.name, Joules: j, MeanWatts: meanWatts(j, r.Duration), Counted: z.counted})
	}
	// Summing integer microjoules before converting keeps the total exact.
	r.Joules = float64(counted) / 1e6
	r.MeanWatts = meanWatts(r.Joules, r.Duration)
	r.NetJoules = r.Joules
	return r, nil
}

// raplState accumulates counter deltas. Polls come from the goroutine and
// from Start/Stop; the lock also lets white-box tests poll at chosen moments.
type raplState struct {
	mu      sync.Mutex
	zones   []raplZone
	prev    []uint64
	total   []uint64 // microjoules per zone since Start
	n, errs int
}

// poll reads every counter and adds the deltas. A failed read leaves the
// previous values, so the next poll accounts for the whole interval (as
// long as the counter wrapped at most once in between).
func (s *raplState) poll() error {
	// The lock covers the reads too: two polls interleaving could otherwise
	// apply an older value after a newer one and look like a wrap.
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := make([]uint64, len(s.zones))
	var errs []error
	for i, z := range s.zones {
		v, err := readUint(z.energy)
		if err != nil {
			errs = append(errs, fmt.Errorf("RAPL zone %s: %w", z.name, err))
		}
		cur[i] = v
	}
	if err := errors.Join(errs...); err != nil {
		s.errs++
		return err
	}
	if s.prev != nil {
		for i, z := range s.zones {
			s.total[i] += counterDelta(s.prev[i], cur[i], z.max)
		}
	}
	s.prev = cur
	s.n++
	return nil
}

// counterDelta is the energy between two readings of a counter that wraps
// to zero after max (max_energy_range_uj). At most one wrap is assumed
// between readings, which polling guarantees. A previous value above max
// means the counter was reset; the new value is then all that is known.
func counterDelta(prev, cur, maxUJ uint64) uint64 {
	switch {
	case cur >= prev:
		return cur - prev
	case prev > maxUJ:
		return cur
	default:
		return maxUJ - prev + cur
	}
}
