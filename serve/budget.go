package serve

import (
	"container/list"
	"context"
	"sync"

	"github.com/modelpick/modelpick/internal/imghdr"
)

// Cost is what classifying one image decodes, told before any decoder
// runs (see Options.Cost).
type Cost struct {
	// Pixels is the decoding work in pixels at full cost (checked against
	// Options.MaxDecodedPixels).
	Pixels int64
	// Bytes bounds the memory its decoding holds at once (taken from
	// Options.DecodeBudget while the request is classified).
	Bytes int64
}

// FullDecodeCost is the default Options.Cost: an image decoded in full
// (a progressive or multi-scan JPEG counted once per whole-image pass,
// imghdr's BufferedPasses), 4 bytes a pixel (BGR and working copies) plus
// libjpeg's coefficient buffer. A classifier that decodes JPEGs at
// reduced scale tells its own, smaller cost.
func FullDecodeCost(image []byte) (Cost, error) {
	h, err := imghdr.Read(image)
	if err != nil {
		return Cost{}, err
	}
	return Cost{Pixels: h.Pixels() * max(1, h.BufferedPasses()), Bytes: 4*h.Pixels() + h.CoefficientBytes()}, nil
}

// budget is a weighted semaphore of bytes, first come first served, so a
// large request is not starved by a stream of small ones (the scheme of
// golang.org/x/sync/semaphore, which this module does not otherwise need).
type budget struct {
	mu      sync.Mutex
	size    int64
	used    int64
	waiters list.List // of *budgetWaiter, in arrival order
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed when the bytes are taken for it
}

// acquire takes n bytes (n <= size), waiting for them until ctx ends.
func (b *budget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	if b.waiters.Len() == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	elem := b.waiters.PushBack(w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.used -= n
		default:
			b.waiters.Remove(elem)
		}
		b.grant() // those behind it may fit now
		b.mu.Unlock()
		return ctx.Err()
	}
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.grant()
	b.mu.Unlock()
}

// grant hands bytes to waiters in order while the first one fits. b.mu
// is held.
func (b *budget) grant() {
	for e := b.waiters.Front(); e != nil; e = b.waiters.Front() {
		w := e.Value.(*budgetWaiter)
		if b.used+w.n > b.size {
			return
		}
		b.used += w.n
		b.waiters.Remove(e)
		close(w.ready)
	}
}

func (b *budget) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waiters.Len()
}

func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
