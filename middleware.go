package payhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/internal/clientlimit"
)

// Middleware returns middleware that receives p's webhooks. For each request
// it, in order:
//
//  1. answers 405 unless the method is POST;
//  2. applies the rate limit, if one is set ([WithRateLimit]): 429; but
//     for a provider that verifies locally ([LocalVerifier]), the limit is
//     charged only by the requests that fail steps 3 and 4, after them;
//  3. reads the body once, up to the cap ([WithMaxBodyBytes]): 413;
//  4. authenticates and decodes it with p.Verify, and checks its
//     idempotency key ([MaxKeyBytes]): 401, 400 or 503;
//  5. claims the event's idempotency key in the store ([WithStore]): 503 if
//     the store cannot answer; 200 without calling next if the event was
//     already processed; 409 with Retry-After if another request is
//     processing it now;
//  6. if p is a [Confirmer], confirms the event with the provider's API:
//     401 or 503, releasing the claim;
//  7. calls next with the event in the request's context ([EventFrom]) and
//     the body restored in r.Body, for reading until next returns;
//  8. marks the event done when next answers 2xx (or writes nothing, which
//     net/http answers 200, while the request's context is live), and
//     releases it otherwise, or when next panics, so that a provider's retry
//     is processed again. A panic is re-raised.
//
// Every rejection answers with the status's standard text only; the reason
// goes to the logger ([WithLogger]). The returned function is a plain
// func(http.Handler) http.Handler, so chi's Use, alice and net/http take it
// as it is.
//
// Middleware panics if p is nil, and with an error wrapping [ErrConfig] if
// an option is given a value it cannot use. It is safe for concurrent use.
func Middleware[E any](p Provider[E], opts ...Option) func(http.Handler) http.Handler {
	e := newEngine(p, opts)
	if e.inbox != nil {
		panic(fmt.Errorf("%w: WithInbox is an option of Handle, not Middleware: the next handler cannot be run again from the inbox", ErrConfig))
	}
	if e.reconciler != nil {
		panic(fmt.Errorf("%w: WithReconciler is an option of Handle, not Middleware: the next handler cannot be called from a poll", ErrConfig))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serve(w, r, next) })
	}
}

// releaseTimeout bounds the release of a claim whose answer was an error:
// the request may be over, and the store may be the reason.
const releaseTimeout = 3 * time.Second

// engine is the middleware of one provider.
type engine[E any] struct {
	config
	p       Provider[E]
	fn      func(context.Context, E) error // Handle's func; nil for Middleware
	confirm Confirmer[E]                   // p, if it confirms events
	poller  Poller[E]                      // p, if it polls and a Reconciler drives it
	// memSince: with a memory idempotency store and a Reconciler, when
	// the engine was made; the store knows nothing settled before.
	memSince time.Time
	name     string
	prefix   string // name + ":", prefixed to keys in a shared store
	limiter  *clientlimit.Limiter
	// verifyFirst: p verifies locally (LocalVerifier), so the limiter is
	// charged by the requests that fail to verify, not before Verify.
	verifyFirst bool
}

func newEngine[E any](p Provider[E], opts []Option) *engine[E] {
	if p == nil {
		panic("payhook: nil Provider")
	}
	e := &engine[E]{config: newConfig(opts), p: p, name: p.Name()}
	if err := errors.Join(e.refused.Err("", ErrConfig), e.expectations()); err != nil {
		panic(err)
	}
	e.confirm, _ = p.(Confirmer[E])
	if lv, ok := p.(LocalVerifier); ok {
		e.verifyFirst = lv.VerifiesLocally()
	}
	if !e.ownStore { // a store of the middleware's own holds one provider's keys
		e.prefix = e.name + ":"
	}
	if l := e.rateLimit; l != nil {
		e.limiter = clientlimit.New(l.Rate, l.Burst, l.MaxClients)
	}
	return e
}

// result is how serve answered a delivery, for the observer.
type result struct {
	outcome Outcome
	status  int
	reason  Reason
	key     string
}

// step is a part of a delivery's time that the observer is told.
type step uint8

const (
	stepVerify  step = iota // authenticating and decoding
	stepStore               // the idempotency store and the inbox
	stepConfirm             // the provider's API
	stepHandler             // the application
	steps
)

// timings are the durations an observer is told. Its methods do nothing on
// a nil *timings, which is what the middleware has without an observer, so
// that no clock is read for it.
type timings struct {
	start, last time.Time
	spent       [steps]time.Duration
}

// mark starts the clock of the next step.
func (t *timings) mark() {
	if t != nil {
		t.last = time.Now()
	}
}

// lap adds the time since the last mark or lap to s's.
func (t *timings) lap(s step) {
	if t == nil {
		return
	}
	now := time.Now()
	t.spent[s] += now.Sub(t.last)
	t.last = now
}

func (e *engine[E]) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if e.observer == nil || e.observer.Delivery == nil {
		e.process(w, r, next, nil)
		return
	}
	t := timings{start: time.Now()}
	res := e.process(w, r, next, &t)
	e.observer.Delivery(r.Context(), Delivery{
		Provider: e.name, Outcome: res.outcome, Status: res.status, Reason: res.reason, Key: res.key,
		Verify: t.spent[stepVerify], Store: t.spent[stepStore], Confirm: t.spent[stepConfirm],
		Handler: t.spent[stepHandler], Total: time.Since(t.start),
	})
}

// process answers one delivery: admit, read, verify, claim, confirm, call,
// and finish on the way out. t, nil without an observer, receives the time
// each step took.
func (e *engine[E]) process(w http.ResponseWriter, r *http.Request, next http.Handler, t *timings) result {
	if err := e.admit(r); err != nil {
		return e.reject(w, r, err)
	}
	s := scratchPool.Get().(*scratch)
	defer s.put()
	body, err := s.read(r, e.maxBody)
	if err != nil {
		return e.reject(w, r, e.charge(r, err))
	}
	t.mark()
	event, key, err := e.verify(r.Context(), r.Header, body)
	t.lap(stepVerify)
	if err != nil {
		return e.unverified(w, r, t, event, body, e.charge(r, err))
	}
	c, d, res := e.claim(w, r, t, event, key)
	if d == nil {
		return res
	}
	defer e.finish(d, &c, t) // completes or releases the claim, panics included
	later, err := e.confirmEvent(d, t)
	if err != nil {
		res := e.rejectKey(w, r, key, err, ReasonNone)
		c.why = "not confirmed: answered " + strconv.Itoa(res.status) // the log says what the provider was told
		return res
	}
	return e.deliver(w, r, next, t, d, &c, body, later)
}

// deliver hands a claimed, confirmed event to the application: to the
// inbox, or, once its expectation is checked and settled
// ([WithExpectations]), to the handler. Webhooks and polls
// ([Reconciler]) both come this way.
func (e *engine[E]) deliver(w http.ResponseWriter, r *http.Request, next http.Handler, t *timings, d *delivery[E], c *claim, body []byte, later error) result {
	if e.inbox != nil {
		return e.keep(w, r, t, d, c, later)
	}
	if err := e.expected(d); err != nil {
		c.why = "payment not credited"
		return e.rejectKey(w, r, d.key, err, ReasonNone)
	}
	var res result
	c.why = "handler did not acknowledge"
	c.acked, res = e.call(w, r, next, d, body)
	t.lap(stepHandler)
	return res
}

// admit refuses a request that is not a POST, or over its client's rate
// limit, before its body is read; for a provider that verifies locally,
// the limit waits for the request to fail (charge).
func (e *engine[E]) admit(r *http.Request) error {
	if r.Method != http.MethodPost {
		return ErrMethodNotAllowed
	}
	if e.limiter == nil || e.verifyFirst {
		return nil
	}
	return e.allow(r, ErrRateLimited)
}

// charge charges a request that failed with err to its client's rate
// limit, when the limit waits for failures (verifyFirst): over it, the
// request is answered 429 rather than err's status.
func (e *engine[E]) charge(r *http.Request, err error) error {
	if e.limiter == nil || !e.verifyFirst {
		return err
	}
	if lerr := e.allow(r, fmt.Errorf("%w: %v", ErrRateLimited, err)); lerr != nil {
		return lerr
	}
	return err
}

// allow takes a token from r's client's bucket, or returns refusal with
// the wait for the next token.
func (e *engine[E]) allow(r *http.Request, refusal error) error {
	if wait, ok := e.limiter.Allow(e.rateLimit.Key(r), e.now()); !ok {
		return &retryError{refusal, wait}
	}
	return nil
}

// verify authenticates and decodes a delivery, and returns its event's
// idempotency key. With ErrPending or ErrUnavailable, the event is
// returned too when the body decoded (see [Provider]).
func (e *engine[E]) verify(ctx context.Context, header http.Header, body []byte) (E, string, error) {
	event, err := e.p.Verify(ctx, header, body)
	if err != nil {
		return event, "", err
	}
	key, err := e.keyOf(event)
	return event, key, err
}

// keyOf returns event's idempotency key, checked: the one place where
// every provider's keys are, before any store, inbox or log line sees
// them.
func (e *engine[E]) keyOf(event E) (string, error) {
	key := e.p.Key(event)
	if err := checkKey(key); err != nil {
		return "", fmt.Errorf("%w: %s event: %w", ErrMalformed, e.name, err)
	}
	return key, nil
}

// MaxKeyBytes bounds an event's idempotency key ([Provider.Key]). The
// providers' order, transaction and payment ids are a few dozen bytes; a
// longer key is answered 400, since it would be stored, logged and
// forwarded with every delivery of the event.
const MaxKeyBytes = 200

// checkKey refuses a key that is empty, longer than MaxKeyBytes, not UTF-8
// or holding a character that is not printable (a control character, CR
// or LF, which would break a log line or a header it is put in).
func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("no idempotency key")
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("idempotency key of %d bytes, over %d", len(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return fmt.Errorf("idempotency key %q is not UTF-8", key)
	}
	for _, r := range key {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("idempotency key %q holds %U, not printable", key, r)
		}
	}
	return nil
}

// unverified answers a delivery that verify refused. With an inbox, one
// that nothing authenticated and that the provider's API could not settle
// yet is kept, unclaimed, for a worker to confirm.
func (e *engine[E]) unverified(w http.ResponseWriter, r *http.Request, t *timings, event E, body []byte, err error) result {
	if e.inbox == nil || e.confirm == nil || !settlesLater(err) || e.p.Key(event) == "" {
		return e.reject(w, r, err)
	}
	key, kerr := e.keyOf(event)
	if kerr != nil {
		return e.reject(w, r, kerr)
	}
	return e.keepUnclaimed(w, r, t, event, key, body, err)
}

// claim is a delivery's hold on its event's key in the store.
type claim struct {
	storeKey, token string
	acked           bool   // complete the claim, rather than release it
	settled         bool   // the inbox completed it with its entry: nothing left to do
	why             string // why it is released, for the log
}

// claim claims the event's key. It returns the claim and the delivery that
// carries the event to the application, or a nil delivery and the answer
// it gave when the event is not to be processed now: already processed
// (200), in flight (409), the store down (503).
func (e *engine[E]) claim(w http.ResponseWriter, r *http.Request, t *timings, event E, key string) (claim, *delivery[E], result) {
	ctx := r.Context()
	c := claim{storeKey: e.prefix + key, token: idempotency.NewToken(), why: "panic"}
	state, err := e.store.Claim(ctx, c.storeKey, c.token, e.lease)
	t.lap(stepStore)
	switch {
	case err != nil:
		err = e.unclaim(ctx, c, err)
		return c, nil, e.rejectKey(w, r, key, err, ReasonStoreUnavailable)
	case state == idempotency.Acquired:
		return c, &delivery[E]{Context: ctx, event: event, key: key, detached: detached{ctx}}, result{}
	case state == idempotency.Done:
		e.log(ctx, slog.LevelInfo, "payhook: duplicate delivery acknowledged", slog.String("key", key))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "already processed\n")
		return c, nil, result{outcome: Duplicate, status: http.StatusOK, key: key}
	case state == idempotency.InFlight:
		err = &retryError{fmt.Errorf("%w: key %q", ErrInFlight, key), time.Second}
		return c, nil, e.rejectKey(w, r, key, err, ReasonInFlight)
	}
	err = fmt.Errorf("%w: idempotency store answered %v", ErrUnavailable, state)
	return c, nil, e.rejectKey(w, r, key, err, ReasonStoreUnavailable)
}

// unclaim gives back a claim whose answer was the error err: the store may
// have applied it and lost its answer, and every retry would be refused
// until the lease ends. It returns the error to answer with.
func (e *engine[E]) unclaim(ctx context.Context, c claim, err error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	rerr := e.store.Release(rctx, c.storeKey, c.token)
	cancel()
	if errors.Is(rerr, idempotency.ErrNotOwner) {
		rerr = nil // the claim was not applied: nothing to give back
	}
	return fmt.Errorf("%w: idempotency store: %w", ErrUnavailable, errors.Join(err, rerr))
}

// confirmEvent confirms d's event with the provider's API, when p is a
// [Confirmer]. With an inbox, an API that cannot settle the payment yet
// defers the confirmation to a worker: the sender is authenticated, so the
// delivery keeps its claim, and later is the error that deferred it.
func (e *engine[E]) confirmEvent(d *delivery[E], t *timings) (later, err error) {
	if e.confirm == nil {
		return nil, nil
	}
	err = e.confirm.Confirm(d.Context, &d.event)
	t.lap(stepConfirm)
	if err != nil && e.inbox != nil && settlesLater(err) {
		return err, nil
	}
	return nil, err
}

// settlesLater reports whether a Verify or Confirm error means "ask the
// provider's API again later", rather than a refusal.
func settlesLater(err error) bool {
	return errors.Is(err, ErrPending) || errors.Is(err, ErrUnavailable)
}

// call hands the verified event to the application and reports whether it
// acknowledged it with a 2xx. Handle's func is called directly: it takes no
// request, so none is copied. The next handler of Middleware gets nothing
// pooled: some frameworks write to the ResponseWriter after the handler has
// returned (echo answers a handler's error that way), and a body read late
// must not see another request's bytes.
func (e *engine[E]) call(w http.ResponseWriter, r *http.Request, next http.Handler, d *delivery[E], body []byte) (bool, result) {
	if e.fn != nil {
		if err := e.fn(d, d.event); err != nil {
			c := writeError(w, err)
			e.log(d, slog.LevelError, "payhook: handler failed", slog.String("key", d.key),
				slog.Int("status", c.status), slog.Any("error", err))
			return false, result{outcome: Failed, status: c.status, reason: ReasonHandler, key: d.key}
		}
		io.WriteString(w, "ok\n")
		return true, result{outcome: Processed, status: http.StatusOK, key: d.key}
	}
	p := &passOn{w: statusWriter{ResponseWriter: w}}
	p.body.Reset(bytes.Clone(body))
	r = r.WithContext(d)
	r.Body = &p.body
	next.ServeHTTP(&p.w, r)
	code := p.w.code()
	if p.w.status == 0 && d.Err() != nil {
		// Nothing written and the request is over (the client has gone, a
		// timeout in front of payhook fired): no 200 reaches the provider,
		// and a handler that gave up silently has not processed the event.
		return false, result{outcome: Failed, status: code, reason: ReasonNotAcknowledged, key: d.key}
	}
	if code >= 200 && code < 300 {
		return true, result{outcome: Processed, status: code, key: d.key}
	}
	return false, result{outcome: Failed, status: code, reason: ReasonNotAcknowledged, key: d.key}
}

// passOn is what the next handler of Middleware gets, in one allocation.
type passOn struct {
	w    statusWriter
	body bodyReader
}

// finish completes d's claim c when the event was acknowledged, and
// releases it otherwise, so that a provider's retry is processed again.
// The request may be over: the claim is finished in a context that is not
// canceled with it.
func (e *engine[E]) finish(d *delivery[E], c *claim, t *timings) {
	defer t.lap(stepStore)
	ctx := &d.detached
	switch {
	case c.settled:
	case c.acked:
		if err := e.store.Complete(ctx, c.storeKey, c.token, e.retention); err != nil {
			// The handler did its work and the provider has its 2xx; a later
			// duplicate may be processed again.
			e.log(ctx, slog.LevelError, "payhook: event processed but not recorded as done",
				slog.String("key", d.key), slog.Any("error", err))
		}
	default:
		e.reopen(d)
		err := e.store.Release(ctx, c.storeKey, c.token)
		e.log(ctx, slog.LevelWarn, "payhook: event not processed; its key is released, so a later delivery is checked again",
			slog.String("key", d.key), slog.String("reason", c.why), slog.Any("release_error", err))
	}
}

// reject answers err's status and logs why.
func (e *engine[E]) reject(w http.ResponseWriter, r *http.Request, err error) result {
	return e.rejectKey(w, r, "", err, ReasonNone)
}

// rejectKey is reject once the event's key is known; a reason other than
// ReasonNone overrides the one err's sentinel gives.
func (e *engine[E]) rejectKey(w http.ResponseWriter, r *http.Request, key string, err error, reason Reason) result {
	c := writeError(w, err)
	attrs := []slog.Attr{slog.Int("status", c.status), slog.String("remote", r.RemoteAddr), slog.Any("error", err)}
	if key != "" {
		attrs = append(attrs, slog.String("key", key))
	}
	e.log(r.Context(), c.level, "payhook: delivery rejected", attrs...)
	if reason == ReasonNone {
		reason = c.reason
	}
	outcome := Rejected
	if reason == ReasonInFlight {
		outcome = InFlight
	}
	return result{outcome: outcome, status: c.status, reason: reason, key: key}
}

func (e *engine[E]) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if !e.logger.Enabled(ctx, level) {
		return
	}
	e.logger.LogAttrs(ctx, level, msg, append([]slog.Attr{slog.String("provider", e.name)}, attrs...)...)
}

// scratch is the body buffer the middleware reuses. The body it holds is
// only read by Verify, which must not keep it.
type scratch struct {
	buf []byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 4096)} }}

// maxPooledBuffer keeps an occasional large body from pinning memory.
const maxPooledBuffer = 64 << 10

func (s *scratch) put() {
	if cap(s.buf) > maxPooledBuffer {
		return
	}
	s.buf = s.buf[:0]
	scratchPool.Put(s)
}

// read reads r's body into s.buf, refusing more than limit bytes.
func (s *scratch) read(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: content length %d exceeds %d", ErrTooLarge, r.ContentLength, limit)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	// The buffer grows with the bytes received, never to the announced
	// Content-Length: a client that announces the cap and sends nothing
	// must not make each of its connections hold that much memory.
	buf := s.buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		s.buf = buf
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("%w: body exceeds %d bytes", ErrTooLarge, limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
			}
			return nil, fmt.Errorf("%w: reading body: %w", ErrMalformed, err)
		}
	}
	if len(buf) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	return buf, nil
}

// bodyReader is r.Body for the next handler: the bytes already read.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// statusWriter records the status the next handler answers with. It
// unwraps for http.ResponseController and passes Flush through.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	// 1xx are informational, but for 101, which net/http sends as the
	// final status.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code returns the status the client got: 200 when nothing was written,
// as net/http answers.
func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
