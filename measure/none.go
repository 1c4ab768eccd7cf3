package measure

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// None is the meter of a platform without energy sensors. It keeps the
// Start/Stop protocol so callers need no special case, and its readings say
// "not measured" instead of inventing a figure.
type None struct {
	mu      sync.Mutex
	started bool
	t0      time.Time
}

// NewNone returns the meter that measures nothing.
func NewNone() *None { return &None{} }

// noneReason is the status text of every None reading.
const noneReason = "no energy meter on this platform"

// Name returns "none".
func (*None) Name() string { return KindNone }

// Available returns false.
func (*None) Available() bool { return false }

// Start marks the meter started.
func (m *None) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start %s: %w", KindNone, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return fmt.Errorf("start %s: %w", KindNone, ErrAlreadyStarted)
	}
	m.started, m.t0 = true, time.Now()
	return nil
}

// Stop returns a reading whose status is "not measured". Duration is the
// real elapsed time (it was measured); no energy figure is given.
func (m *None) Stop() (Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		return Reading{}, fmt.Errorf("stop %s: %w", KindNone, ErrNotStarted)
	}
	m.started = false
	return Reading{Meter: KindNone, Duration: time.Since(m.t0), Status: NotMeasured(noneReason)}, nil
}
