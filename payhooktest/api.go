package payhooktest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/payhook/payhook/internal/providertest"
)

// Answer is how a fake provider API ([API]) answers a call about one
// transaction, payment or payment link. Make one with [NotFound], [Down],
// [Hangup], [Respond], [Slow], or [Payload] for what the provider's own
// fake encodes (the providers' test kits offer constructors such as
// kkiapaytest.Transaction).
//
// The zero Answer is the fake's own answer: Set(id, Answer{}) undoes an
// earlier Set. Answers are values, safe for concurrent use.
type Answer struct {
	delay    time.Duration
	hangup   bool
	notFound bool
	status   int
	body     string
	payload  any
}

// NotFound is the provider API's answer for an id it does not know, in the
// provider's own words (a 404 with its error body).
func NotFound() Answer { return Answer{notFound: true} }

// Down is a provider API that is down: 500 Internal Server Error.
func Down() Answer { return Respond(http.StatusInternalServerError, "Internal Server Error\n") }

// Hangup is a provider API that closes the connection without answering.
func Hangup() Answer { return Answer{hangup: true} }

// Respond is any answer: status and body as given, with Content-Type
// application/json when body starts with { or [, text/html with <, and
// text/plain otherwise.
func Respond(status int, body string) Answer { return Answer{status: status, body: body} }

// Slow gives a after waiting d, or gives none if the caller gives up first
// (its context ends: a client timeout) or the fake is closed. Slow(d,
// Answer{}) delays the fake's own answer.
func Slow(d time.Duration, a Answer) Answer {
	a.delay += d
	return a
}

// Payload is an answer carrying v, a value of the provider's API (a
// transaction, a payment) that the provider's fake encodes in the API's
// wire format.
func Payload(v any) Answer { return Answer{payload: v} }

// IsNotFound reports whether a is [NotFound]'s.
func (a Answer) IsNotFound() bool { return a.notFound }

// Payload returns the value given to [Payload], or nil.
func (a Answer) Payload() any { return a.payload }

// content is a without its delay.
func (a Answer) content() Answer {
	a.delay = 0
	return a
}

// Call is a request that a fake API received.
type Call struct {
	// Method and Path are the request's.
	Method, Path string
	// URL is the request's URL, escaped path and query included.
	URL *url.URL
	// Header is the request's header.
	Header http.Header
	// Body is the request's body.
	Body []byte
	// ID is what the call was about (a transaction, payment or reference),
	// as the fake's Route said; "" when it could not be read.
	ID string
}

// Route is a fake's reading of a request: the id it is about, and either
// OK (answer with the id's Answer) or the Status and Body that refuse it at
// once (an unknown path, wrong keys).
type Route struct {
	ID     string
	OK     bool
	Status int
	Body   string
}

// API is a fake provider API, an httptest server, for the providers' test
// kits to build theirs on (as kkiapaytest.NewAPI does): it reads each
// request with the kit's route func, records it ([API.Calls]), and answers
// with the Answer set for its id ([API.Set]) or the default
// ([API.SetDefault]). It plays [Slow], [Hangup] and [Respond] itself, and
// hands every other Answer to the kit's write func. It is safe for
// concurrent use.
type API struct {
	srv     *httptest.Server
	tb      testing.TB
	closing chan struct{}
	once    sync.Once

	mu      sync.Mutex
	answers map[string]Answer
	def     Answer
	calls   []Call
}

// NewAPI starts a fake API that reads each request with route and writes
// each answer with write. When tb is not nil, the fake is closed when the
// test ends and [API.Fail] fails the test; otherwise call Close.
func NewAPI(tb testing.TB, route func(r *http.Request, body []byte) Route, write func(w http.ResponseWriter, r *http.Request, id string, body []byte, a Answer)) *API {
	a := &API{tb: tb, closing: make(chan struct{}), answers: map[string]Answer{}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rt := route(r, body)
		a.mu.Lock()
		u := *r.URL
		a.calls = append(a.calls, Call{Method: r.Method, Path: r.URL.Path, URL: &u, Header: r.Header.Clone(), Body: body, ID: rt.ID})
		ans := a.answers[rt.ID]
		if ans.content() == (Answer{}) { // the default, delayed by ans's delay
			ans = Slow(ans.delay, a.def)
		}
		a.mu.Unlock()
		if !rt.OK { // a refusal (unknown path, wrong keys) comes at once
			providertest.WriteBody(w, rt.Status, rt.Body)
			return
		}
		if ans.delay > 0 {
			t := time.NewTimer(ans.delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			case <-a.closing: // no answer at all, not an empty 200
				hangup(w)
				return
			}
		}
		switch {
		case ans.hangup:
			hangup(w)
		case ans.status != 0:
			providertest.WriteBody(w, ans.status, ans.body)
		default:
			write(w, r, rt.ID, body, ans.content())
		}
	}))
	if tb != nil {
		tb.Cleanup(a.Close)
	}
	return a
}

// URL returns the server's URL.
func (a *API) URL() string { return a.srv.URL }

// Set sets the answer for id.
func (a *API) Set(id string, ans Answer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers[id] = ans
}

// SetDefault sets the answer for ids without one.
func (a *API) SetDefault(ans Answer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.def = ans
}

// Calls returns the calls received so far, in order.
func (a *API) Calls() []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Call(nil), a.calls...)
}

// Close stops the server. Slow answers in progress end at once, unanswered.
func (a *API) Close() {
	a.once.Do(func() {
		close(a.closing)
		a.srv.CloseClientConnections()
		a.srv.Close()
	})
}

// Fail reports a setup error of the fake through its test, or panics
// without one.
func (a *API) Fail(err error) {
	if a.tb != nil {
		a.tb.Helper()
		a.tb.Fatalf("payhooktest: %v", err)
	}
	panic("payhooktest: " + err.Error())
}

// hangup closes the connection without answering.
func hangup(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler) // HTTP/2: reset the stream
}
