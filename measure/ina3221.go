package measure

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rail is one INA3221 channel. Give either PowerFile (milliwatts, as the
// TX2's ina3221x iio driver exports in_powerN_input) or VoltageFile
// (millivolts) and CurrentFile (milliamps), as the mainline ina3221 hwmon
// driver exports inN_input and currN_input. Paths are absolute sysfs paths;
// [MeterOptions.SysfsRoot] is prefixed to them.
type Rail struct {
	Name        string `json:"name"`
	PowerFile   string `json:"power_file,omitempty"`
	VoltageFile string `json:"voltage_file,omitempty"`
	CurrentFile string `json:"current_file,omitempty"`
	// Component marks a rail fed by another listed rail: it is sampled and
	// reported in [Reading.Rails] but not added to Joules.
	Component bool `json:"component,omitempty"`
}

func (r Rail) files() []string {
	if r.PowerFile != "" {
		return []string{r.PowerFile}
	}
	return []string{r.VoltageFile, r.CurrentFile}
}

func (r Rail) validate() error {
	switch {
	case r.PowerFile != "" && (r.VoltageFile != "" || r.CurrentFile != ""):
		return fmt.Errorf("rail %q: give a power file or a voltage and current pair, not both", r.Name)
	case r.PowerFile == "" && (r.VoltageFile == "" || r.CurrentFile == ""):
		return fmt.Errorf("rail %q: needs a power file, or both a voltage and a current file", r.Name)
	}
	return nil
}

// watts reads the rail's power; paths are already under the root.
func (r Rail) watts() (float64, error) {
	if r.PowerFile != "" {
		mw, err := readFloat(r.PowerFile)
		return mw / 1e3, err
	}
	mv, err := readFloat(r.VoltageFile)
	if err != nil {
		return 0, err
	}
	ma, err := readFloat(r.CurrentFile)
	return mv * ma / 1e6, err
}

// TX2 iio device folders of the ina3221x driver (L4T 28/32).
const (
	tx2Dev0 = "/sys/bus/i2c/drivers/ina3221x/0-0040/iio:device0/"
	tx2Dev1 = "/sys/bus/i2c/drivers/ina3221x/0-0041/iio:device1/"
)

// TX2Rails returns the Jetson TX2's six module rails, the platform of the
// paper. Channel names follow NVIDIA's L4T documentation (0x40: GPU, SOC,
// WIFI; 0x41: IN, CPU, DDR). VDD_IN is the module's input and feeds the
// others, so it alone makes up Joules; the rest are reported as components.
func TX2Rails() []Rail {
	return []Rail{
		{Name: "VDD_SYS_GPU", PowerFile: tx2Dev0 + "in_power0_input", Component: true},
		{Name: "VDD_SYS_SOC", PowerFile: tx2Dev0 + "in_power1_input", Component: true},
		{Name: "VDD_4V0_WIFI", PowerFile: tx2Dev0 + "in_power2_input", Component: true},
		{Name: "VDD_IN", PowerFile: tx2Dev1 + "in_power0_input"},
		{Name: "VDD_SYS_CPU", PowerFile: tx2Dev1 + "in_power1_input", Component: true},
		{Name: "VDD_SYS_DDR", PowerFile: tx2Dev1 + "in_power2_input", Component: true},
	}
}

// hwmonClass is where hwmon devices appear.
const hwmonClass = "/sys/class/hwmon"

// DiscoverHwmonRails lists the channels of every hwmon device named
// "ina3221" under root (newer Jetsons: Nano, Xavier, Orin), as voltage and
// current rails with their labels. Disabled channels and channels labelled
// "NC" are skipped. When a label ends in "_IN" (VDD_IN, POM_5V_IN) that
// channel is the board input and the others are marked Component, so the
// total is not counted twice. The returned paths do not include root.
func DiscoverHwmonRails(root string) ([]Rail, error) {
	dirs, err := filepath.Glob(underRoot(root, hwmonClass+"/hwmon*"))
	if err != nil {
		return nil, fmt.Errorf("discover hwmon rails: %w", err)
	}
	sort.Strings(dirs)
	var rails []Rail
	for _, dir := range dirs {
		if name, err := readText(filepath.Join(dir, "name")); err != nil || name != "ina3221" {
			continue
		}
		base := filepath.Base(dir)
		for ch := 1; ch <= 3; ch++ {
			in := filepath.Join(dir, "in"+strconv.Itoa(ch)+"_input")
			curr := filepath.Join(dir, "curr"+strconv.Itoa(ch)+"_input")
			if !exists(in) || !exists(curr) {
				continue
			}
			if en, err := readText(filepath.Join(dir, "in"+strconv.Itoa(ch)+"_enable")); err == nil && en == "0" {
				continue
			}
			label, err := readText(filepath.Join(dir, "in"+strconv.Itoa(ch)+"_label"))
			if err != nil || label == "" {
				label = base + "/in" + strconv.Itoa(ch)
			}
			if strings.EqualFold(label, "NC") {
				continue
			}
			rails = append(rails, Rail{
				Name:        label,
				VoltageFile: hwmonClass + "/" + base + "/in" + strconv.Itoa(ch) + "_input",
				CurrentFile: hwmonClass + "/" + base + "/curr" + strconv.Itoa(ch) + "_input",
			})
		}
	}
	markComponents(rails)
	return rails, nil
}

// markComponents marks every rail but the input ones as components when
// any rail is a board input ("..._IN").
func markComponents(rails []Rail) {
	hasInput := false
	for _, r := range rails {
		if strings.HasSuffix(strings.ToUpper(r.Name), "_IN") {
			hasInput = true
		}
	}
	if !hasInput {
		return
	}
	for i := range rails {
		rails[i].Component = !strings.HasSuffix(strings.ToUpper(rails[i].Name), "_IN")
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// DefaultINA3221RateHz is the paper's sampling rate of the INA3221
// (Taylor et al., experimental methodology: power sampled at 1 kHz).
const DefaultINA3221RateHz = 1000

// INA3221 samples sysfs power rails in its own goroutine and integrates
// power over time with the trapezoid rule on the actual sample times.
type INA3221 struct {
	rails  []Rail // paths under the root
	names  []string
	period time.Duration

	mu  sync.Mutex
	run *sampler
	in  *integrator
}

// NewINA3221 opens the rails of opts: opts.Rails if given (every file must
// exist), else those of [TX2Rails] that exist, else [DiscoverHwmonRails].
// Every rail is read once, so an unreadable file fails here, by name.
func NewINA3221(opts MeterOptions) (*INA3221, error) {
	rails, err := pickRails(opts)
	if err != nil {
		return nil, err
	}
	m := &INA3221{period: periodOf(opts.RateHz, DefaultINA3221RateHz)}
	for _, r := range rails {
		abs := r
		if abs.PowerFile != "" {
			abs.PowerFile = underRoot(opts.SysfsRoot, r.PowerFile)
		} else {
			abs.VoltageFile = underRoot(opts.SysfsRoot, r.VoltageFile)
			abs.CurrentFile = underRoot(opts.SysfsRoot, r.CurrentFile)
		}
		if _, err := abs.watts(); err != nil {
			return nil, fmt.Errorf("rail %s: %w", r.Name, err)
		}
		m.rails = append(m.rails, abs)
		m.names = append(m.names, r.Name)
	}
	return m, nil
}

// pickRails chooses the rails as NewINA3221 documents.
func pickRails(opts MeterOptions) ([]Rail, error) {
	if len(opts.Rails) > 0 {
		for _, r := range opts.Rails {
			if err := r.validate(); err != nil {
				return nil, err
			}
			for _, f := range r.files() {
				if _, err := os.Stat(underRoot(opts.SysfsRoot, f)); err != nil {
					return nil, fmt.Errorf("rail %s: %w", r.Name, err)
				}
			}
		}
		return opts.Rails, nil
	}
	var rails []Rail
	for _, r := range TX2Rails() {
		if exists(underRoot(opts.SysfsRoot, r.PowerFile)) {
			rails = append(rails, r)
		}
	}
	if len(rails) == 0 {
		var err error
		if rails, err = DiscoverHwmonRails(opts.SysfsRoot); err != nil {
			return nil, err
		}
	}
	if len(rails) == 0 {
		return nil, fmt.Errorf("no INA3221 rails: %s not found and no ina3221 device under %s",
			underRoot(opts.SysfsRoot, tx2Dev1+"in_power0_input"), underRoot(opts.SysfsRoot, hwmonClass))
	}
	counted := false
	for _, r := range rails {
		counted = counted || !r.Component
	}
	if !counted { // the input rail is missing: the components are all there is
		for i := range rails {
			rails[i].Component = false
		}
	}
	return rails, nil
}

// Name returns "ina3221".
func (*INA3221) Name() string { return KindINA3221 }

// Available returns true: the rails were read when the meter was opened.
func (*INA3221) Available() bool { return true }

// Rails returns the rails being read, with paths under the sysfs root.
func (m *INA3221) Rails() []Rail {
	out := make([]Rail, len(m.rails))
	copy(out, m.rails)
	for i := range out {
		out[i].Name = m.names[i]
	}
	return out
}

// Start takes a first sample (so a broken sensor fails here) and starts
// the sampling goroutine.
func (m *INA3221) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start %s: %w", KindINA3221, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.run != nil {
		return fmt.Errorf("start %s: %w", KindINA3221, ErrAlreadyStarted)
	}
	in := &integrator{read: m.readAll, joules: make([]float64, len(m.rails))}
	if err := in.sample(time.Now()); err != nil {
		return fmt.Errorf("start %s: %w", KindINA3221, err)
	}
	m.in = in
	m.run = startSampler(ctx, m.period, func(t time.Time) { _ = in.sample(t) })
	return nil
}

// Stop halts the sampling, takes a last sample so the integral reaches the
// moment of the call, and returns the reading.
func (m *INA3221) Stop() (Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.run == nil {
		return Reading{}, fmt.Errorf("stop %s: %w", KindINA3221, ErrNotStarted)
	}
	ctxErr := m.run.halt()
	in := m.in
	m.run, m.in = nil, nil
	if ctxErr != nil {
		return Reading{}, fmt.Errorf("stop %s: sampling ended early: %w", KindINA3221, ctxErr)
	}
	if err := in.sample(time.Now()); err != nil {
		return Reading{}, fmt.Errorf("stop %s: last sample: %w", KindINA3221, err)
	}
	r := Reading{
		Meter:      KindINA3221,
		Duration:   in.last.Sub(in.first),
		Samples:    in.n,
		ReadErrors: in.errs,
		Status:     StatusMeasured,
	}
	for i, j := range in.joules {
		counted := !m.rails[i].Component
		if counted {
			r.Joules += j
		}
		r.Rails = append(r.Rails, RailEnergy{Name: m.names[i], Joules: j, MeanWatts: meanWatts(j, r.Duration), Counted: counted})
	}
	r.MeanWatts = meanWatts(r.Joules, r.Duration)
	r.NetJoules = r.Joules
	return r, nil
}

// readAll reads every rail's power in watts.
func (m *INA3221) readAll(dst []float64) error {
	var errs []error
	for i, r := range m.rails {
		w, err := r.watts()
		if err != nil {
			errs = append(errs, fmt.Errorf("rail %s: %w", m.names[i], err))
		}
		dst[i] = w
	}
	return errors.Join(errs...)
}

func meanWatts(joules float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return joules / d.Seconds()
}

// integrator accumulates the trapezoid rule per rail. It is touched by the
// sampling goroutine while it runs and by Start/Stop before and after, never
// both at once (halt waits for the goroutine), so it needs no lock.
type integrator struct {
	read        func(dst []float64) error
	first, last time.Time
	prev, cur   []float64
	joules      []float64
	n, errs     int
}

// sample reads all rails at t and adds the trapezoid since the previous
// good sample. A failed read is counted and skipped; the next good sample
// bridges the gap on the true time axis.
func (in *integrator) sample(t time.Time) error {
	if in.cur == nil {
		in.cur = make([]float64, len(in.joules))
		in.prev = make([]float64, len(in.joules))
	}
	if err := in.read(in.cur); err != nil {
		in.errs++
		return err
	}
	if in.n == 0 {
		in.first = t
	} else {
		dt := t.Sub(in.last).Seconds()
		for i := range in.joules {
			in.joules[i] += (in.prev[i] + in.cur[i]) / 2 * dt
		}
	}
	in.prev, in.cur = in.cur, in.prev
	in.last = t
	in.n++
	return nil
}
