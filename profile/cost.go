package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"gocv.io/x/gocv"

	"github.com/modelpick/modelpick/inference"
	"github.com/modelpick/modelpick/internal/ortenv"
	"github.com/modelpick/modelpick/measure"
	"github.com/modelpick/modelpick/store"
)

// Costs measures each model's inference latency until its 95% confidence
// interval is within the set width of the mean (measure.Time), and its
// energy when a meter is available, with idle power deducted as in the
// paper. Inference of these CNNs does not depend on the pixel values, so
// the model runs on one real, preprocessed image from the set; only
// Run is timed (preprocessing is an image cost, not a model cost).
func Costs(ctx context.Context, o Options, models []*inference.Model) ([]store.CostRow, error) {
	img, err := firstReadable(o)
	if err != nil {
		return nil, err
	}
	defer img.Close()

	meter := o.Meter
	if meter == nil {
		meter = measure.NewNone()
	}
	idle := 0.0
	if meter.Available() {
		d := o.IdleFor
		if d <= 0 {
			d = 2 * time.Second
		}
		if idle, err = measure.MeasureIdle(ctx, meter, d); err != nil {
			return nil, fmt.Errorf("cost: idle power: %w", err)
		}
	}
	plat := measure.DetectPlatform()
	plat.Runtime = "onnxruntime " + ortenv.Version()
	plat.Meter = meter.Name()

	topts := o.Timing
	warm := topts.Warmup
	topts.Warmup = 0 // warm up outside the meter window
	var rows []store.CostRow
	for _, m := range models {
		plat.Threads = m.Threads
		pj, _ := json.Marshal(plat) // plain struct: cannot fail
		if err := m.SetInput(img); err != nil {
			return nil, fmt.Errorf("cost %s: %w", m.Spec.Name, err)
		}
		for i := 0; i < warm; i++ {
			if err := m.Run(); err != nil {
				return nil, fmt.Errorf("cost %s: warm-up: %w", m.Spec.Name, err)
			}
		}
		// The None meter keeps the same protocol and reads "not measured".
		if err := meter.Start(ctx); err != nil {
			return nil, fmt.Errorf("cost %s: start meter: %w", m.Spec.Name, err)
		}
		s, err := measure.Time(ctx, topts, m.Run)
		reading, merr := meter.Stop()
		if err == nil && merr != nil {
			err = fmt.Errorf("stop meter: %w", merr)
		}
		if err != nil {
			return nil, fmt.Errorf("cost %s: %w", m.Spec.Name, err)
		}
		row := store.CostRow{
			Model: m.Spec.Name, PlatformJSON: string(pj), Threads: m.Threads,
			N: s.N, MeanMS: s.Mean, StdMS: s.Std, MedianMS: s.Median, P95MS: s.P95,
			CILowMS: s.CILow, CIHighMS: s.CIHigh, Converged: s.Converged,
			Warnings:     s.Warnings,
			MeasuredAt:   time.Now().UTC(),
			EnergyStatus: reading.Status,
		}
		if reading.Measured() && s.N > 0 {
			reading = reading.DeductIdle(idle)
			perInf := reading.NetJoules / float64(s.N)
			row.EnergyJ, row.IdleW = &perInf, &idle
			row.EnergyStatus = measure.StatusMeasured + ": " + meter.Name()
		}
		if err := o.Store.PutCost(ctx, row); err != nil {
			return nil, fmt.Errorf("cost %s: %w", m.Spec.Name, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// firstReadable decodes the first image of the run that OpenCV can read.
func firstReadable(o Options) (gocv.Mat, error) {
	for _, idx := range Items(o) {
		m, err := inference.DecodeImageFile(filepath.Join(o.Set.Dir, o.Set.Items[idx].File))
		if err == nil {
			return m, nil
		}
		m.Close()
	}
	return gocv.NewMat(), fmt.Errorf("cost: no readable image in %s", o.Set.Dir)
}
