package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/forward"
)

// forwardApp is the application payhook serve forwards to, as a merchant
// would write it: it verifies each request's Standard Webhooks signature,
// with package forward and with the Standard Webhooks project's own Go
// library (so that any language's library is known to accept payhook's
// signature), and deduplicates on webhook-id. Its answers are scripted by
// answer.
type forwardApp struct {
	t      testing.TB
	secret string
	key    forward.Key
	lib    *standardwebhooks.Webhook
	srv    *httptest.Server

	mu        sync.Mutex
	requests  map[string]int    // requests by webhook-id
	taken     map[string]int    // 2xx answers by webhook-id
	processed []string          // webhook-ids, once each: what the app's dedupe lets through
	bodies    map[string]string // the body of each webhook-id's first request
	changed   chan struct{}     // closed and replaced at each request
	// answer returns the status of the n-th request (from 1) of id; 0 or
	// 2xx takes the event. It may block, on the request's context.
	answer func(r *http.Request, id string, n int) int
}

func newForwardApp(t testing.TB) *forwardApp {
	t.Helper()
	a := &forwardApp{t: t, secret: forward.NewSecret(), requests: map[string]int{}, taken: map[string]int{},
		bodies: map[string]string{}, changed: make(chan struct{})}
	var err error
	a.key, err = forward.ParseKey(a.secret)
	require.NoError(t, err)
	a.lib, err = standardwebhooks.NewWebhook(a.secret)
	require.NoError(t, err)
	a.srv = httptest.NewServer(http.HandlerFunc(a.serveHTTP))
	t.Cleanup(a.srv.Close)
	return a
}

// script sets the app's answers.
func (a *forwardApp) script(answer func(r *http.Request, id string, n int) int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answer = answer
}

func (a *forwardApp) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	if err := a.key.Verify(r.Header, body, time.Now(), 0); err != nil {
		a.t.Errorf("package forward refused a forwarded request: %v", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	if err := a.lib.Verify(body, r.Header); err != nil {
		a.t.Errorf("the Standard Webhooks library refused a forwarded request: %v", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	id := r.Header.Get(forward.HeaderID)
	a.mu.Lock()
	a.requests[id]++
	n := a.requests[id]
	if first, ok := a.bodies[id]; !ok {
		a.bodies[id] = string(body)
	} else if first != string(body) {
		a.t.Errorf("%s sent again with another body:\n%s\n%s", id, first, body)
	}
	answer := a.answer
	a.notify()
	a.mu.Unlock()

	code := 0
	if answer != nil {
		code = answer(r, id, n)
	}
	if code == 0 {
		code = http.StatusNoContent
	}
	if code >= 200 && code < 300 {
		a.mu.Lock()
		a.taken[id]++
		if a.taken[id] == 1 { // the app's dedupe on webhook-id
			a.processed = append(a.processed, id)
		}
		a.notify()
		a.mu.Unlock()
	}
	w.WriteHeader(code)
}

// notify wakes the waits. a.mu is held.
func (a *forwardApp) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// waitTaken waits until the app has taken the Kazawallet event of every
// order, or fails the test after timeout.
func (a *forwardApp) waitTaken(t testing.TB, timeout time.Duration, orders []string) {
	t.Helper()
	a.waitFor(t, timeout, "every acknowledged event taken by the app", func() bool {
		for _, order := range orders {
			if a.taken["kazawallet:"+order] == 0 {
				return false
			}
		}
		return true
	})
}

// waitFor waits until cond holds of the app's counts (a.mu held while it
// runs), or fails the test after timeout: serve runs in another process.
func (a *forwardApp) waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		a.mu.Lock()
		ok, changed := cond(), a.changed
		a.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			a.mu.Lock()
			defer a.mu.Unlock()
			t.Fatalf("%s: not within %s (requests %v, taken %v)", what, timeout, a.requests, a.taken)
		}
	}
}

// counts returns the requests and 2xx answers of id.
func (a *forwardApp) counts(id string) (requests, taken int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[id], a.taken[id]
}
