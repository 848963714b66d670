package payhooktest

import (
	"net/http"
	"sync"
)

// Gate is an http.RoundTripper that holds every request until it is
// opened: give it to a provider's API client (its WithHTTPClient) to have
// the API be slow on cue, and see, without sleeping, how many calls are in
// flight. Each request that reaches the Gate is reported on Arrived before
// it waits. A request whose context ends while it waits fails with the
// context's error.
//
// Make one with NewGate; it is safe for concurrent use.
type Gate struct {
	next    http.RoundTripper
	arrived chan struct{}
	open    chan struct{}
	once    sync.Once
}

// NewGate returns a closed Gate that sends the requests it lets through
// with next, http.DefaultTransport when nil.
func NewGate(next http.RoundTripper) *Gate {
	if next == nil {
		next = http.DefaultTransport
	}
	return &Gate{next: next, arrived: make(chan struct{}), open: make(chan struct{})}
}

// Arrived receives once for each request that reaches the Gate. A request
// waits until it is received there, so read it for every request sent.
func (g *Gate) Arrived() <-chan struct{} { return g.arrived }

// Open lets every request through, those waiting and those to come. It may
// be called more than once.
func (g *Gate) Open() { g.once.Do(func() { close(g.open) }) }

// RoundTrip reports r on Arrived, waits for the Gate to open, then sends r.
func (g *Gate) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case g.arrived <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	select {
	case <-g.open:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return g.next.RoundTrip(r)
}
