// Package apicache stands between a provider's confirmation and the
// provider's API: it remembers the API's settled answers per id for a short
// while, and bounds the calls in flight, so that a spray of deliveries
// naming one payment costs one call, and a spray naming many cannot open
// unbounded connections to the API (and get the merchant throttled).
package apicache

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrBusy is returned by [Cache.Get] when no call slot freed up in time.
var ErrBusy = errors.New("too many calls of the API in flight")

// Cache remembers answers of type V per id. It is safe for concurrent use.
type Cache[V any] struct {
	ttl   time.Duration
	wait  time.Duration
	max   int
	now   func() time.Time
	slots chan struct{}

	mu      sync.Mutex
	entries map[string]entry[V]
}

type entry[V any] struct {
	v     V
	until time.Time
}

// New returns a Cache that remembers an answer for ttl (0: never), lets at
// most inFlight calls run at once (a call beyond waits for a slot, at most
// wait), remembers at most maxEntries answers, and reads the time from now.
func New[V any](ttl time.Duration, inFlight int, wait time.Duration, maxEntries int, now func() time.Time) *Cache[V] {
	return &Cache[V]{ttl: ttl, wait: wait, max: max(maxEntries, 1), now: now,
		slots: make(chan struct{}, max(inFlight, 1)), entries: map[string]entry[V]{}}
}

// Get returns id's remembered answer, or calls fetch and, when keep
// reports that its answer is settled, remembers it. fetch runs only once a
// call slot is free; Get returns ErrBusy when none frees within the wait,
// and ctx's error when ctx ends first.
func (c *Cache[V]) Get(ctx context.Context, id string, fetch func(context.Context) (V, error), keep func(V) bool) (V, error) {
	if v, ok := c.lookup(id); ok {
		return v, nil
	}
	if err := c.acquire(ctx); err != nil {
		var zero V
		return zero, err
	}
	defer func() { <-c.slots }()
	// An answer may have come while this call waited for its slot.
	if v, ok := c.lookup(id); ok {
		return v, nil
	}
	v, err := fetch(ctx)
	if err == nil && c.ttl > 0 && keep(v) {
		c.store(id, v)
	}
	return v, err
}

func (c *Cache[V]) acquire(ctx context.Context) error {
	select {
	case c.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(c.wait)
	defer t.Stop()
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Cache[V]) lookup(id string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok {
		var zero V
		return zero, false
	}
	if !c.now().Before(e.until) {
		delete(c.entries, id)
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *Cache[V]) store(id string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.entries) >= c.max {
		for k, e := range c.entries { // expired first
			if !now.Before(e.until) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries { // then any: a full table of fresh answers is a spray
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[id] = entry[V]{v: v, until: now.Add(c.ttl)}
}

// Len returns the number of answers remembered, expired ones included.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
