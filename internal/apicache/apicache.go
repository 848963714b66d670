// Package apicache stands between a provider's confirmation and the
// provider's API: it remembers the API's settled answers per id for a short
// while (and, with [Cache.Unsettled], its "not yet" and "unknown" answers
// for a shorter one), shares one call among the confirmations of one id
// that wait for it, and bounds the calls in flight, so that a spray of
// deliveries naming one payment costs one call, and a spray naming many
// cannot open unbounded connections to the API (and get the merchant
// throttled).
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
	ttl        time.Duration
	wait       time.Duration
	max        int
	now        func() time.Time
	slots      chan struct{}
	pendingTTL time.Duration    // Unsettled's
	final      func(error) bool // Unsettled's

	mu      sync.Mutex
	entries map[string]entry[V]
	calls   map[string]*call[V] // the call in flight for each id
}

type entry[V any] struct {
	v     V
	err   error
	until time.Time
}

// call is one fetch, shared by every Get of its id that waits for it.
type call[V any] struct {
	done    chan struct{}
	v       V
	err     error
	waiters int // the Gets waiting for it, under Cache.mu
}

// New returns a Cache that remembers an answer for ttl (0: never), lets at
// most inFlight calls run at once (a call beyond waits for a slot, at most
// wait), remembers at most maxEntries answers, and reads the time from now.
func New[V any](ttl time.Duration, inFlight int, wait time.Duration, maxEntries int, now func() time.Time) *Cache[V] {
	return &Cache[V]{ttl: ttl, wait: wait, max: max(maxEntries, 1), now: now,
		slots: make(chan struct{}, max(inFlight, 1)), entries: map[string]entry[V]{}, calls: map[string]*call[V]{}}
}

// Unsettled makes c remember for ttl what it otherwise asks again at once:
// an answer that keep reports unsettled (a payment the API says is pending),
// and an error that final reports as the API's answer rather than a
// failure to get one (a payment the API does not know). A spray of
// deliveries naming one pending or unknown payment then costs one call per
// ttl, and so do the retries of every inbox entry of that payment. It
// returns c, and must be called before c is used.
func (c *Cache[V]) Unsettled(ttl time.Duration, final func(error) bool) *Cache[V] {
	c.pendingTTL, c.final = ttl, final
	return c
}

// Get returns id's remembered answer, or calls fetch and, when keep
// reports that its answer is settled, remembers it. fetch runs only once a
// call slot is free; Get returns ErrBusy when none frees within the wait,
// and ctx's error when ctx ends first.
//
// Concurrent Gets of one id share one fetch: those that find it in flight
// wait for its answer (or for their ctx), rather than call the API again.
func (c *Cache[V]) Get(ctx context.Context, id string, fetch func(context.Context) (V, error), keep func(V) bool) (V, error) {
	for {
		c.mu.Lock()
		if v, err, ok := c.lookupLocked(id); ok {
			c.mu.Unlock()
			return v, err
		}
		if cl, ok := c.calls[id]; ok {
			cl.waiters++
			c.mu.Unlock()
			select {
			case <-cl.done:
			case <-ctx.Done():
				var zero V
				return zero, ctx.Err()
			}
			if isContextError(cl.err) && ctx.Err() == nil {
				continue // the caller that fetched gave up; this one has not
			}
			return cl.v, cl.err
		}
		cl := &call[V]{done: make(chan struct{})}
		c.calls[id] = cl
		c.mu.Unlock()
		cl.v, cl.err = c.fetch(ctx, id, fetch, keep)
		c.mu.Lock()
		delete(c.calls, id)
		c.mu.Unlock()
		close(cl.done)
		return cl.v, cl.err
	}
}

// fetch calls the API once a slot is free, and remembers what it may.
func (c *Cache[V]) fetch(ctx context.Context, id string, fetch func(context.Context) (V, error), keep func(V) bool) (V, error) {
	if err := c.acquire(ctx); err != nil {
		var zero V
		return zero, err
	}
	defer func() { <-c.slots }()
	v, err := fetch(ctx)
	switch {
	case err == nil && keep(v):
		c.store(id, v, nil, c.ttl)
	case err == nil:
		c.store(id, v, nil, c.pendingTTL)
	case c.final != nil && c.final(err):
		c.store(id, v, err, c.pendingTTL)
	}
	return v, err
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
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

// lookupLocked returns id's remembered answer. c.mu is held.
func (c *Cache[V]) lookupLocked(id string) (V, error, bool) {
	e, ok := c.entries[id]
	if !ok {
		var zero V
		return zero, nil, false
	}
	if !c.now().Before(e.until) {
		delete(c.entries, id)
		var zero V
		return zero, nil, false
	}
	return e.v, e.err, true
}

// store remembers v (and err) for id for ttl; nothing when ttl is 0.
func (c *Cache[V]) store(id string, v V, err error, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
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
	c.entries[id] = entry[V]{v: v, err: err, until: now.Add(ttl)}
}

// Len returns the number of answers remembered, expired ones included.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
