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

// Costs measures each model's inference latency and, when a meter is
// available, its energy with idle power deducted as in the paper.
// Inference of these CNNs does not depend on the pixel values, so every
// model runs on one real, preprocessed image from the set; only Run is
// timed (preprocessing is an image cost, not a model cost).
//
// Latency is timed side by side (measure.TimeInterleaved): each round
// runs every model once, in rotating order, until every model's 95%
// interval is within the set width of its mean, so load from other jobs
// falls on all models alike and their order is not an artefact of when
// each was measured. Energy needs a meter window of its own per model, so
// it is read afterwards, over as many runs as the latency took.
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

	fns := make([]func() error, len(models))
	for k, m := range models {
		if err := m.SetInput(img); err != nil {
			return nil, fmt.Errorf("cost %s: %w", m.Spec.Name, err)
		}
		fns[k] = m.Run
	}
	sums, err := measure.TimeInterleaved(ctx, o.Timing, fns)
	if err != nil {
		return nil, fmt.Errorf("cost of %d models: %w", len(models), err)
	}
	var rows []store.CostRow
	for k, m := range models {
		s := sums[k]
		plat.Threads = m.Threads
		pj, _ := json.Marshal(plat) // plain struct: cannot fail
		// The None meter keeps the same protocol and reads "not measured".
		reading, err := energy(ctx, meter, m, s.N)
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

// energy reads the meter over n runs of m (none when the meter is not
// available: its reading then says why).
func energy(ctx context.Context, meter measure.Meter, m *inference.Model, n int) (measure.Reading, error) {
	if err := meter.Start(ctx); err != nil {
		return measure.Reading{}, fmt.Errorf("start meter: %w", err)
	}
	if meter.Available() {
		for range n {
			if err := m.Run(); err != nil {
				meter.Stop()
				return measure.Reading{}, fmt.Errorf("energy run: %w", err)
			}
		}
	}
	reading, err := meter.Stop()
	if err != nil {
		return reading, fmt.Errorf("stop meter: %w", err)
	}
	return reading, nil
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
