package payhook

import (
	"context"
	"time"
)

// Observer is told what the middleware and the inbox did, for metrics and
// traces: the adapters in github.com/payhook/payhook/observe/prometheus and
// github.com/payhook/payhook/observe/otel fill one, and so can your own
// code. Set it with [WithObserver]. Its funcs are called synchronously, on
// the request's goroutine, so they must be quick; they must be safe for
// concurrent use. A nil func is not called; without an Observer the
// middleware reads no clock for it and allocates nothing.
//
// What is passed never holds a secret, a signature or a body.
type Observer struct {
	// Delivery is called once for each request the middleware answers,
	// after it has answered. ctx is the request's.
	Delivery func(ctx context.Context, d Delivery)
	// Attempt is called once for each attempt of an inbox entry
	// ([WithInbox]), after it has ended. ctx is the attempt's.
	Attempt func(ctx context.Context, a Attempt)
	// Reconcile is called once for each poll of an expected payment and
	// once for each expectation that becomes overdue ([Reconciler]). ctx
	// is the reconciler's.
	Reconcile func(ctx context.Context, r Reconcile)
}

// Outcome is what became of a delivery. Its values are stable, so that
// dashboards can rely on them.
type Outcome string

// The outcomes of a delivery.
const (
	// Processed: acknowledged as a new event — the handler returned nil
	// (or answered 2xx), or, with an inbox, the event was committed to it.
	Processed Outcome = "processed"
	// Duplicate: an event already processed, acknowledged without calling
	// the handler.
	Duplicate Outcome = "duplicate"
	// Rejected: refused before the handler (method, rate limit, body,
	// signature, confirmation, store): see the Reason.
	Rejected Outcome = "rejected"
	// InFlight: another delivery of the event is being processed; answered
	// 409 so that the provider retries.
	InFlight Outcome = "in_flight"
	// Failed: the handler returned an error, panicked or did not answer
	// 2xx; the event was released for a retry.
	Failed Outcome = "failed"
)

// Reason says why a delivery was rejected or failed, in a few stable words
// fit for a metric label.
type Reason string

// The reasons: one for each sentinel error (see classes in errors.go),
// and the middleware's own.
const (
	ReasonNone              Reason = ""
	ReasonMethodNotAllowed  Reason = "method_not_allowed"
	ReasonRateLimited       Reason = "rate_limited"
	ReasonTooLarge          Reason = "too_large"
	ReasonMalformed         Reason = "malformed"
	ReasonInvalidSignature  Reason = "invalid_signature"
	ReasonPending           Reason = "pending"
	ReasonUnavailable       Reason = "unavailable"
	ReasonInFlight          Reason = "in_flight"
	ReasonHandler           Reason = "handler_error"
	ReasonNotAcknowledged   Reason = "not_acknowledged"
	ReasonStoreUnavailable  Reason = "store_unavailable"
	ReasonInboxUnavailable  Reason = "inbox_unavailable"
	ReasonInboxFull         Reason = "inbox_full"
	ReasonConfirmationLater Reason = "confirmation_later"
	ReasonUnexpected        Reason = "unexpected"
	ReasonMismatch          Reason = "mismatch"
)

// Delivery describes one request the middleware answered.
type Delivery struct {
	// Provider is the provider's name.
	Provider string
	// Outcome is what became of the delivery.
	Outcome Outcome
	// Status is the HTTP status it was answered.
	Status int
	// Reason says why it was rejected or failed; "" otherwise, but for
	// ReasonConfirmationLater: processed into the inbox, to be confirmed
	// with the provider's API by a worker.
	Reason Reason
	// Key is the event's idempotency key, "" when the delivery was
	// rejected before it was known.
	Key string
	// Verify, Store, Confirm and Handler are the time spent authenticating
	// and decoding, in the idempotency store and the inbox, confirming
	// with the provider's API, and in the handler; Total is the whole
	// request's, from the middleware's first line to its answer.
	Verify, Store, Confirm, Handler, Total time.Duration
}

// AttemptResult is what became of an inbox attempt.
type AttemptResult string

// The results of an attempt.
const (
	// AttemptDone: the handler returned nil; the entry is done.
	AttemptDone AttemptResult = "done"
	// AttemptDuplicate: the entry's event had been processed through
	// another delivery; the entry is done without calling the handler.
	AttemptDuplicate AttemptResult = "duplicate"
	// AttemptRetry: the attempt failed and the entry will be retried.
	AttemptRetry AttemptResult = "retry"
	// AttemptDead: the attempt failed and the entry is dead: it was the
	// last, or the event was refused by the provider's API.
	AttemptDead AttemptResult = "dead"
	// AttemptDropped: the provider's API refused an entry that nothing
	// had authenticated (a forgery): it is deleted, not kept dead.
	AttemptDropped AttemptResult = "dropped"
)

// Attempt describes one attempt of an inbox entry.
type Attempt struct {
	// Provider is the provider's name.
	Provider string
	// Key is the event's idempotency key.
	Key string
	// N is the attempt's number, from 1.
	N int
	// Result is what became of it.
	Result AttemptResult
	// Reason says why it failed; "" otherwise.
	Reason Reason
	// Duration is the attempt's.
	Duration time.Duration
	// ReceivedAt is when the entry's delivery arrived: time.Since of it,
	// once the result is AttemptDone, is how long the event waited.
	ReceivedAt time.Time
}

// WithObserver sets the observer of deliveries and inbox attempts.
// Default: none. Several observers combine with [Observers].
func WithObserver(o Observer) Option {
	return func(c *config) { c.observer = o.orNil() }
}

// Observers returns an Observer that calls each of os in turn.
func Observers(os ...Observer) Observer {
	var all Observer
	for _, o := range os {
		all.Delivery = both(all.Delivery, o.Delivery)
		all.Reconcile = both(all.Reconcile, o.Reconcile)
		all.Attempt = both(all.Attempt, o.Attempt)
	}
	return all
}

// both returns a func that calls first then then, either of which may be
// nil; nil when both are.
func both[V any](first, then func(context.Context, V)) func(context.Context, V) {
	switch {
	case then == nil:
		return first
	case first == nil:
		return then
	}
	return func(ctx context.Context, v V) {
		first(ctx, v)
		then(ctx, v)
	}
}

// orNil returns nil for an Observer with no funcs, so that the middleware
// tests one pointer.
func (o Observer) orNil() *Observer {
	if o.Delivery == nil && o.Attempt == nil && o.Reconcile == nil {
		return nil
	}
	return &o
}
