package payhooktest

import (
	"context"
	"errors"
	"sync"
)

// ErrHandlerFailed is the error a [Recorder] returns for the calls it was
// told to fail ([Recorder.FailNext]).
var ErrHandlerFailed = errors.New("payhooktest: handler failed (as told)")

// Recorder is an application's handler for payhook.Handle that records the
// events it processes: give payhook.Handle its method value r.Handle. It
// can fail calls, as a database that is down would, and hold them, as a
// slow one would.
//
// The zero Recorder processes every event at once. A Recorder is safe for
// concurrent use; do not copy one after first use.
type Recorder[E any] struct {
	mu     sync.Mutex
	events []E
	calls  int
	fails  int
	hold   chan struct{}
}

// Handle records e and returns nil, unless the call is one of those that
// FailNext asked to fail (ErrHandlerFailed, and e is not recorded). While
// Hold is in effect it first waits for the release, or for ctx to end.
func (r *Recorder[E]) Handle(ctx context.Context, e E) error {
	r.mu.Lock()
	r.calls++
	hold := r.hold
	if r.fails > 0 {
		r.fails--
		r.mu.Unlock()
		return ErrHandlerFailed
	}
	r.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

// FailNext makes the next n calls of Handle fail.
func (r *Recorder[E]) FailNext(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fails = n
}

// Hold makes the calls of Handle from now on wait until release is called.
func (r *Recorder[E]) Hold() (release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := make(chan struct{})
	r.hold = h
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.hold == h {
				r.hold = nil
			}
			close(h)
		})
	}
}

// Events returns the events processed so far, in order.
func (r *Recorder[E]) Events() []E {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]E(nil), r.events...)
}

// Calls returns how many times Handle was called, failed calls included.
func (r *Recorder[E]) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}
