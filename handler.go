package payhook

import (
	"context"
	"net/http"
)

// Handle returns a handler for the common case: it receives p's webhooks
// through [Middleware] and calls fn once per event with the verified, typed
// event. When fn returns nil the delivery is answered 200 and the event is
// marked done; when fn returns an error (or panics) it is answered with an
// error status and the event is released, so a provider that retries will
// deliver it again. The error's status is 500 unless it wraps one of this
// package's sentinel errors (ErrUnavailable gives 503); its text goes to the
// logger, never to the client.
//
// fn is where money moves. It checks that the event is a payment, and
// finds the order it pays by the one rule (docs/reconcile.md): it credits
// the order of the payment's expectation ([ExpectationFrom], with
// [WithExpectations]), which payhook found by the payment's id or
// reference, whose amount and currency it checked, and which it settled
// once; each payment id settles at most one expectation:
//
//	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw,
//		func(ctx context.Context, e kazawallet.Event) error {
//			if !e.Paid() {
//				return nil // the link timed out: nothing to credit
//			}
//			// The order of the payment's expectation, added when the
//			// link was created (expect.Expectation{Ref: order.ID, ...}):
//			// payhook found it by the ref, checked the signed amount and
//			// currency against it, and settled it once.
//			x, ok := payhook.ExpectationFrom(ctx)
//			if !ok {
//				return payhook.ErrUnexpected // 503, retried: it may be on its way
//			}
//			return orders.MarkPaid(ctx, x.Ref) // an error answers 500; nil acknowledges
//		}, payhook.WithExpectations(expected)))
//
// Handle panics if p or fn is nil, and with an error wrapping [ErrConfig]
// if an option is given a value it cannot use. It is safe for concurrent
// use.
func Handle[E any](p Provider[E], fn func(ctx context.Context, event E) error, opts ...Option) http.Handler {
	if fn == nil {
		panic("payhook: nil handler func")
	}
	e := newEngine(p, opts)
	e.fn = fn
	if e.inbox != nil {
		e.inbox.Handle(e.name, e.work)
	}
	e.register()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serve(w, r, nil) })
}
