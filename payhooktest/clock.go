package payhooktest

import (
	"context"
	"sync"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
)

// epoch is the time a zero Clock reads.
var epoch = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// Clock is a clock that moves only when told to, for the middleware
// ([payhook.WithClock]), the in-memory store ([idempotency.WithClock]), the
// providers (kasperopay.WithClock) and the webhook builders
// ([KasperoPay].Now), so that a test expires leases and retention, or
// leaves a replay window, without sleeping.
//
// The zero Clock reads 2026-01-02T15:04:05Z until it is set or advanced.
// A Clock is safe for concurrent use; do not copy one after first use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time. Its method value c.Now is what the
// WithClock options take.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = epoch
	}
	return c.now
}

// Advance moves the clock forward by d (back, if d is negative) and
// returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = epoch
	}
	c.now = c.now.Add(d)
	return c.now
}

// Set makes the clock read t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Sleep advances the clock by d at once, without waiting, unless ctx is
// done. It fits [Policy].Sleep, so that a KKiaPay replay moves the clock
// by each retry's interval.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// Store returns a new, empty in-memory idempotency store that reads the
// time from c: leases and retention end when c is advanced past them.
func (c *Clock) Store(opts ...idempotency.MemoryOption) *idempotency.Memory {
	return idempotency.NewMemory(append([]idempotency.MemoryOption{idempotency.WithClock(c.Now)}, opts...)...)
}

// Options returns the payhook options that run a middleware on c: a new
// in-memory store from [Clock.Store], and c as the middleware's clock
// (for rate limits). Append options of your own after them; a later
// WithStore wins.
func (c *Clock) Options() []payhook.Option {
	return []payhook.Option{payhook.WithStore(c.Store()), payhook.WithClock(c.Now)}
}
