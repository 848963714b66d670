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
// fn is where money moves, so it checks what no signature proves: that
// the event is a payment, which order it pays (by an id the provider signs),
// and that the amount is the order's:
//
//	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw,
//		func(ctx context.Context, e kazawallet.Event) error {
//			if !e.Paid() {
//				return nil // the link timed out: nothing to credit
//			}
//			// The order by the id Kazawallet signs, stored when the link
//			// was created; never by e.Ref, which no signature covers.
//			order, err := orders.ByLinkID(ctx, e.OrderID)
//			if err != nil {
//				return err // answered 500; nil acknowledges
//			}
//			if !e.Amount.Equal(order.Amount) || e.Currency != order.Currency {
//				return nil // not this order's price: log it, credit nothing
//			}
//			return orders.MarkPaid(ctx, order.ID)
//		}))
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
