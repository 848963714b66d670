// Package deliver sends a webhook as a payment provider does: one
// attempt, then, while the answer is not 2xx, the retries of the
// provider's [Policy], reporting every answer.
//
// Each provider package's Sender builds that provider's webhooks and
// gives its Policy (kkiapay.Sender.Policy: five retries at 500 ms
// incremental intervals). payhook send posts them with [Send], the sandbox
// of payhook serve delivers its payments' webhooks with it, and tests
// deliver to a handler in process with payhooktest.Handler:
//
//	s := kkiapay.Sender{Secret: secret}
//	r, err := s.NewRequest("http://localhost:8080/webhooks/kkiapay", e)
//	if err != nil { ... }
//	res := deliver.Send(http.DefaultTransport, r, s.Policy())
//	fmt.Println(res) // attempt 1: 200 OK: ok
//
// Everything here is safe for concurrent use.
package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy is how a provider delivers a webhook: one attempt, then, while the
// answer is not 2xx (or no answer came), up to Retries more. Each provider
// package's Sender.Policy returns the provider's.
//
// The zero Policy sends once.
type Policy struct {
	// Retries is how many more attempts follow one not answered 2xx.
	// Default: 0.
	Retries int
	// Interval is the wait before the first retry; retry n waits n ×
	// Interval (KKiaPay's "500 ms incremental intervals": 500 ms, 1 s,
	// 1.5 s, ...). Default: 0.
	Interval time.Duration
	// Sleep waits before a retry, or returns an error (ctx's) to stop the
	// delivery. Default: nil, no waiting at all: the waits are reported in
	// each Attempt's Wait, and a test runs at full speed. Use [Sleep] to
	// wait for real (payhook send --retry does), or a payhooktest.Clock's
	// Sleep to move a test clock by each wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Sleep waits for d, or until ctx is done and returns its error. It is the
// Policy.Sleep that waits for real.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Attempt is one attempt of a delivery and its answer.
type Attempt struct {
	// Wait is how long the provider waited before this attempt; 0 for the
	// first.
	Wait time.Duration
	// Status is the answer's status code; 0 when no answer came (see Err).
	Status int
	// Header is the answer's header.
	Header http.Header
	// Body is the answer's body (up to 1 MiB).
	Body string
	// RetryAfter is the answer's Retry-After header, "" without one. The
	// providers do not honour it; payhook sends it with 409 and 429.
	RetryAfter string
	// Err is why no answer came: a network error, a handler that panicked
	// (net/http closes the connection), or the delivery's context ending.
	Err error
}

// OK reports whether the attempt was answered 2xx, which the providers
// take as acknowledged.
func (a Attempt) OK() bool { return a.Err == nil && a.Status >= 200 && a.Status <= 299 }

// String describes the answer: "200 OK: ok", "409 Conflict (Retry-After:
// 1): Conflict", or "no answer: <error>".
func (a Attempt) String() string {
	if a.Err != nil {
		return "no answer: " + a.Err.Error()
	}
	s := strconv.Itoa(a.Status)
	if t := http.StatusText(a.Status); t != "" {
		s += " " + t
	}
	if a.RetryAfter != "" {
		s += " (Retry-After: " + a.RetryAfter + ")"
	}
	if b := strings.TrimSpace(a.Body); b != "" {
		s += ": " + b
	}
	return s
}

// Result is what became of one delivery: every attempt, in order.
type Result struct {
	// Attempts are the delivery's attempts, the first first.
	Attempts []Attempt
}

// Acknowledged reports whether the delivery's last attempt was answered
// 2xx: the provider is done with it.
func (r Result) Acknowledged() bool { return len(r.Attempts) > 0 && r.Last().OK() }

// Last returns the last attempt, the answer the provider kept; the zero
// Attempt when there was none.
func (r Result) Last() Attempt {
	if len(r.Attempts) == 0 {
		return Attempt{}
	}
	return r.Attempts[len(r.Attempts)-1]
}

// Statuses returns each attempt's status code (0 where no answer came).
func (r Result) Statuses() []int {
	s := make([]int, len(r.Attempts))
	for i, a := range r.Attempts {
		s[i] = a.Status
	}
	return s
}

// String lists the attempts, one a line, with their waits.
func (r Result) String() string {
	var b strings.Builder
	for i, a := range r.Attempts {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "attempt %d", i+1)
		if a.Wait > 0 {
			fmt.Fprintf(&b, " (after %s)", a.Wait)
		}
		b.WriteString(": " + a.String())
	}
	return b.String()
}

// maxAnswer bounds the body read from an answer.
const maxAnswer = 1 << 20

// Send delivers r through rt as p says: once, then again while the answer
// is not 2xx, up to p.Retries times. rt is http.DefaultTransport (or any
// RoundTripper) for r's URL over the network, or payhooktest.Handler(h)
// for a handler in process; redirects are not followed, as the providers
// do not follow them; the user and password of r's URL are sent as basic
// auth, as http.Client sends them. r is not changed: each attempt sends a
// copy with a fresh body (r.GetBody, as http.NewRequest and the builders
// set it; a request without one is read once). The delivery stops when r's
// context is done.
func Send(rt http.RoundTripper, r *http.Request, p Policy) Result {
	return deliver(rt, r, bodyOf(r), p)
}

// bodyOf returns a function giving a fresh copy of r's body.
func bodyOf(r *http.Request) func() (io.ReadCloser, error) {
	switch {
	case r.GetBody != nil:
		return r.GetBody
	case r.Body == nil || r.Body == http.NoBody:
		return func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), err }
}

func deliver(rt http.RoundTripper, r *http.Request, body func() (io.ReadCloser, error), p Policy) Result {
	ctx := r.Context()
	var res Result
	for n := 0; n <= p.Retries; n++ {
		var wait time.Duration
		if n > 0 {
			wait = time.Duration(n) * p.Interval
			if p.Sleep != nil {
				if err := p.Sleep(ctx, wait); err != nil {
					res.Attempts = append(res.Attempts, Attempt{Wait: wait, Err: err})
					break
				}
			}
		}
		a := send(rt, r, body)
		a.Wait = wait
		res.Attempts = append(res.Attempts, a)
		if a.OK() || ctx.Err() != nil {
			break
		}
	}
	return res
}

// send makes one attempt.
func send(rt http.RoundTripper, r *http.Request, body func() (io.ReadCloser, error)) Attempt {
	if err := r.Context().Err(); err != nil {
		return Attempt{Err: err}
	}
	c := r.Clone(r.Context())
	c.RequestURI = "" // set by servers only; a transport refuses it
	if u := c.URL.User; u != nil && c.Header.Get("Authorization") == "" {
		pw, _ := u.Password() // sent as http.Client sends it; a RoundTripper would drop it
		c.SetBasicAuth(u.Username(), pw)
	}
	b, err := body()
	if err != nil {
		return Attempt{Err: fmt.Errorf("deliver: request body: %w", err)}
	}
	c.Body = b
	res, err := rt.RoundTrip(c)
	if err != nil {
		return Attempt{Err: err}
	}
	defer res.Body.Close()
	got, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil && !errors.Is(err, io.EOF) {
		return Attempt{Status: res.StatusCode, Header: res.Header, Body: string(got), Err: err}
	}
	return Attempt{Status: res.StatusCode, Header: res.Header, Body: string(got), RetryAfter: res.Header.Get("Retry-After")}
}
