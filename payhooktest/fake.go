package payhooktest

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kkiapay"
)

// Answer is how a fake provider API answers a call about one transaction,
// payment or payment link. Make one with [Transaction], [Payment],
// [NotFound], [Down], [Hangup], [Respond] or [Slow].
//
// The zero Answer is the fake's own answer: Set(id, Answer{}) undoes an
// earlier Set. Answers are values, safe for concurrent use.
type Answer struct {
	delay    time.Duration
	hangup   bool
	notFound bool
	status   int
	body     string
	tx       *kkiapay.Transaction
	pay      *kasperopay.Payment
}

// Transaction is KKiaPay's status API answering 200 with tx, in the API's
// wire format (see [KKiaPayAPI]). Its TransactionID should be the id it
// answers for. For the KKiaPay fake only.
func Transaction(tx kkiapay.Transaction) Answer { return Answer{tx: &tx} }

// Payment is KasperoPay's status API answering 200 with p, in the API's
// wire format (see [KasperoPayAPI]). For the KasperoPay fake only.
func Payment(p kasperopay.Payment) Answer { return Answer{pay: &p} }

// NotFound is the provider API's answer for an id it does not know: 404
// with {"message":"Transaction not found"} (KKiaPay), {"error":"Payment not
// found"} (KasperoPay), or Kazawallet's USER_NOT_FOUND error.
func NotFound() Answer { return Answer{notFound: true} }

// Down is a provider API that is down: 500 Internal Server Error.
func Down() Answer { return Respond(http.StatusInternalServerError, "Internal Server Error\n") }

// Hangup is a provider API that closes the connection without answering.
func Hangup() Answer { return Answer{hangup: true} }

// Respond is any answer: status and body as given, with Content-Type
// application/json when body starts with { or [, text/html with <, and
// text/plain otherwise.
func Respond(status int, body string) Answer { return Answer{status: status, body: body} }

// Slow gives a after waiting d, or gives none if the caller
// gives up first (its context ends: a client timeout) or the fake is
// closed. Slow(d, Answer{}) delays the fake's own answer.
func Slow(d time.Duration, a Answer) Answer { return withDelay(a, d) }

// content is a without its delay.
func (a Answer) content() Answer {
	a.delay = 0
	return a
}

func withDelay(a Answer, d time.Duration) Answer {
	a.delay += d
	return a
}

// Call is a request that a fake API received.
type Call struct {
	// Method and Path are the request's.
	Method, Path string
	// Header is the request's header.
	Header http.Header
	// Body is the request's body.
	Body []byte
	// ID is what the call was about: the transactionId (KKiaPay), the
	// payment id (KasperoPay) or the ref (Kazawallet's createPaymentLink);
	// "" when it could not be read.
	ID string
}

// route is a fake's reading of a request: the id it is about, and whether
// the request is answered with the id's Answer (ok) or refused at once
// with status and body (an unknown path, wrong keys).
type route struct {
	id     string
	ok     bool
	status int
	body   string
}

// fake is what the three fake APIs share: the server, the answers per id,
// the recorded calls, and the delays that end when the fake closes.
type fake struct {
	srv     *httptest.Server
	tb      testing.TB
	closing chan struct{}
	once    sync.Once

	mu      sync.Mutex
	answers map[string]Answer
	def     Answer
	calls   []Call
}

// start starts the server, which reads each request with read and writes
// each answer with write, and closes it with tb's Cleanup when tb is not
// nil.
func (f *fake) start(tb testing.TB, read func(r *http.Request, body []byte) route, write func(w http.ResponseWriter, r *http.Request, id string, body []byte, a Answer)) {
	f.tb, f.closing, f.answers = tb, make(chan struct{}), map[string]Answer{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxAnswer))
		rt := read(r, body)
		f.mu.Lock()
		f.calls = append(f.calls, Call{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, ID: rt.id})
		a := f.answers[rt.id]
		if a.content() == (Answer{}) { // the default, delayed by a's delay
			a = withDelay(f.def, a.delay)
		}
		f.mu.Unlock()
		if !rt.ok { // a refusal (unknown path, wrong keys) comes at once
			writeBody(w, rt.status, rt.body)
			return
		}
		if a.delay > 0 {
			t := time.NewTimer(a.delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			case <-f.closing:
				return
			}
		}
		if a.hangup {
			hangup(w)
			return
		}
		write(w, r, rt.id, body, a)
	}))
	if tb != nil {
		tb.Cleanup(f.close)
	}
}

// hangup closes the connection without answering.
func hangup(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
		return
	}
	panic(http.ErrAbortHandler) // HTTP/2: reset the stream
}

// writeBody answers status and body, with the Content-Type its first
// byte suggests: JSON, HTML or text.
func writeBody(w http.ResponseWriter, status int, body string) {
	switch {
	case body == "":
	case body[0] == '{' || body[0] == '[':
		w.Header().Set("Content-Type", "application/json")
	case body[0] == '<':
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// set sets id's answer.
func (f *fake) set(id string, a Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[id] = a
}

// setDefault sets the answer for ids without one.
func (f *fake) setDefault(a Answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.def = a
}

// recorded returns a copy of the calls received so far.
func (f *fake) recorded() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// close stops the server. Slow answers in progress end at once, unanswered.
func (f *fake) close() {
	f.once.Do(func() {
		close(f.closing)
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
}

// fail reports a setup error through tb, or panics without one.
func (f *fake) fail(err error) {
	if f.tb != nil {
		f.tb.Helper()
		f.tb.Fatalf("payhooktest: %v", err)
	}
	panic("payhooktest: " + err.Error())
}

// writeOther writes the answers every fake writes alike: [Respond]'s, and
// an answer made for another provider's fake, which is a mistake in the
// test (500 saying so). It reports whether a was one of those.
func writeOther(w http.ResponseWriter, a Answer, provider string) bool {
	switch {
	case a.status != 0:
		writeBody(w, a.status, a.body)
	case a.tx != nil && provider != "kkiapay", a.pay != nil && provider != "kasperopay":
		writeBody(w, http.StatusInternalServerError, "payhooktest: the "+provider+" fake was given another provider's Answer\n")
	default:
		return false
	}
	return true
}

// notFoundPage is what an Express server answers for a route it does not
// have, as the providers' APIs do: a wrong base URL or path.
func notFoundPage(r *http.Request) route {
	return route{status: http.StatusNotFound, body: "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error</title></head>" +
		"<body><pre>Cannot " + r.Method + " " + html.EscapeString(r.URL.Path) + "</pre></body></html>\n"}
}
