package payhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/internal/clientlimit"
)

// Middleware returns middleware that receives p's webhooks. For each request
// it, in order:
//
//  1. answers 405 unless the method is POST;
//  2. applies the rate limit, if one is set ([WithRateLimit]): 429;
//  3. reads the body once, up to the cap ([WithMaxBodyBytes]): 413;
//  4. authenticates and decodes it with p.Verify: 401, 400 or 503;
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
// Middleware panics if p is nil. It is safe for concurrent use.
func Middleware[E any](p Provider[E], opts ...Option) func(http.Handler) http.Handler {
	e := newEngine(p, opts)
	if e.inbox != nil {
		panic("payhook: WithInbox is an option of Handle, not Middleware: the next handler cannot be run again from the inbox")
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
	name    string
	prefix  string // name + ":", prefixed to keys in a shared store
	limiter *clientlimit.Limiter
}

func newEngine[E any](p Provider[E], opts []Option) *engine[E] {
	if p == nil {
		panic("payhook: nil Provider")
	}
	e := &engine[E]{config: newConfig(opts), p: p, name: p.Name()}
	e.confirm, _ = p.(Confirmer[E])
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

// timings are the durations an observer is told; nil without an observer,
// so that no clock is read for it.
type timings struct {
	start                           time.Time
	verify, store, confirm, handler time.Duration
}

// since returns the time since *t0 and moves *t0 to now.
func since(t0 *time.Time) time.Duration {
	now := time.Now()
	d := now.Sub(*t0)
	*t0 = now
	return d
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
		Verify: t.verify, Store: t.store, Confirm: t.confirm, Handler: t.handler, Total: time.Since(t.start),
	})
}

// process answers one delivery; t, when not nil, receives the time each
// step took.
func (e *engine[E]) process(w http.ResponseWriter, r *http.Request, next http.Handler, t *timings) (res result) {
	if r.Method != http.MethodPost {
		return e.reject(w, r, ErrMethodNotAllowed)
	}
	if e.limiter != nil {
		if wait, ok := e.limiter.Allow(e.rateLimit.Key(r), e.now()); !ok {
			return e.reject(w, r, &retryError{ErrRateLimited, wait})
		}
	}
	s := scratchPool.Get().(*scratch)
	defer s.put()
	body, err := s.read(r, e.maxBody)
	if err != nil {
		return e.reject(w, r, err)
	}
	var t0 time.Time
	if t != nil {
		t0 = time.Now()
	}
	ctx := r.Context()
	event, err := e.p.Verify(ctx, r.Header, body)
	if t != nil {
		t.verify = since(&t0)
	}
	if err != nil {
		if e.inbox != nil && e.confirm != nil && settlesLater(err) {
			// Nothing authenticated the sender, and the provider's API
			// could not say yet whether the payment is real: keep the
			// delivery, unclaimed, for a worker to confirm.
			if key := e.p.Key(event); key != "" {
				res, _ := e.enqueue(w, r, t, event, key, deferredID(e.name, key, body), true, true, err, "", "")
				return res
			}
		}
		return e.reject(w, r, err)
	}
	key := e.p.Key(event)
	if key == "" {
		return e.reject(w, r, fmt.Errorf("%w: %s event has no idempotency key", ErrMalformed, e.name))
	}
	storeKey := e.prefix + key
	token := idempotency.NewToken()
	state, err := e.store.Claim(ctx, storeKey, token, e.lease)
	if t != nil {
		t.store = since(&t0)
	}
	if err != nil {
		// The store may have applied the claim and lost its answer: give the
		// key back, or every retry would be refused until the lease ends.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		rerr := e.store.Release(rctx, storeKey, token)
		cancel()
		if errors.Is(rerr, idempotency.ErrNotOwner) {
			rerr = nil // the claim was not applied: nothing to give back
		}
		return e.rejectKey(w, r, key, fmt.Errorf("%w: idempotency store: %w", ErrUnavailable, errors.Join(err, rerr)), ReasonStoreUnavailable)
	}
	switch state {
	case idempotency.Acquired:
	case idempotency.Done:
		e.log(ctx, slog.LevelInfo, "payhook: duplicate delivery acknowledged", slog.String("key", key))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "already processed\n")
		return result{outcome: Duplicate, status: http.StatusOK, key: key}
	case idempotency.InFlight:
		return e.rejectKey(w, r, key, &retryError{fmt.Errorf("%w: key %q", ErrInFlight, key), time.Second}, ReasonInFlight)
	default:
		return e.rejectKey(w, r, key, fmt.Errorf("%w: idempotency store answered %v", ErrUnavailable, state), ReasonStoreUnavailable)
	}

	d := &delivery[E]{Context: ctx, event: event, key: key, detached: detached{ctx}}
	// Whatever happens next, panics included, the claim is completed or
	// released on the way out.
	acked, why, completed := false, "panic", false
	defer func() {
		if !completed {
			e.finish(&d.detached, key, storeKey, token, acked, why)
		}
		if t != nil {
			t.store += since(&t0)
		}
	}()
	var confirmLater error // the error that deferred confirmation to the inbox
	if e.confirm != nil {
		err := e.confirm.Confirm(ctx, &d.event)
		if t != nil {
			t.confirm = since(&t0)
		}
		switch {
		case err == nil:
		case e.inbox != nil && settlesLater(err):
			confirmLater = err // the sender is authenticated: hold the key, confirm later
		default:
			why = "not confirmed"
			return e.rejectKey(w, r, key, err, ReasonNone)
		}
	}
	if e.inbox != nil {
		res, completed = e.enqueue(w, r, t, d.event, key, e.name+":"+key, confirmLater != nil, false, confirmLater, storeKey, token)
		acked, why = res.status == http.StatusOK, "inbox unavailable"
		return res
	}
	why = "handler did not acknowledge"
	acked, res = e.call(w, r, next, d, body)
	if t != nil {
		t.handler = since(&t0)
	}
	return res
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
			code := writeError(w, err)
			e.log(d, slog.LevelError, "payhook: handler failed", slog.String("key", d.key),
				slog.Int("status", code), slog.Any("error", err))
			return false, result{outcome: Failed, status: code, reason: ReasonHandler, key: d.key}
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

// finish completes or releases a claim. The request may be over, so ctx
// must not be canceled with it.
func (e *engine[E]) finish(ctx context.Context, key, storeKey, token string, ok bool, why string) {
	if ok {
		if err := e.store.Complete(ctx, storeKey, token, e.retention); err != nil {
			// The handler did its work and the provider has its 2xx; a later
			// duplicate may be processed again.
			e.log(ctx, slog.LevelError, "payhook: event processed but not recorded as done",
				slog.String("key", key), slog.Any("error", err))
		}
		return
	}
	err := e.store.Release(ctx, storeKey, token)
	e.log(ctx, slog.LevelWarn, "payhook: event released for retry",
		slog.String("key", key), slog.String("reason", why), slog.Any("release_error", err))
}

// reject answers err's status and logs why.
func (e *engine[E]) reject(w http.ResponseWriter, r *http.Request, err error) result {
	return e.rejectKey(w, r, "", err, ReasonNone)
}

// rejectKey is reject once the event's key is known; a reason other than
// ReasonNone overrides the one err's sentinel gives.
func (e *engine[E]) rejectKey(w http.ResponseWriter, r *http.Request, key string, err error, reason Reason) result {
	code := writeError(w, err)
	level := slog.LevelInfo
	switch {
	case code >= 500:
		level = slog.LevelError
	case code == http.StatusUnauthorized || code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.Int("status", code), slog.String("remote", r.RemoteAddr), slog.Any("error", err)}
	if key != "" {
		attrs = append(attrs, slog.String("key", key))
	}
	e.log(r.Context(), level, "payhook: delivery rejected", attrs...)
	if reason == ReasonNone {
		reason = reasonOf(err)
	}
	outcome := Rejected
	if reason == ReasonInFlight {
		outcome = InFlight
	}
	return result{outcome: outcome, status: code, reason: reason, key: key}
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
