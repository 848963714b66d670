// Package payhook receives payment providers' webhooks safely in any
// net/http application: it proves each delivery genuine, decodes it into a
// typed Go value, and hands it to your code exactly once.
//
// A provider package (providers/kazawallet, ...) knows how one provider
// signs and shapes its webhooks. This package does the rest, the same way
// for every provider:
//
//	kw, err := kazawallet.New(apiKey, apiSecret) // empty secrets are refused
//	if err != nil { ... }
//	expected := expect.NewMemory() // the payments the shop expects: package expect
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
// Every handler that credits a payment follows one rule to find the order
// it pays, for every provider (docs/reconcile.md): it checks that the event
// is a successful payment (Paid), and credits the order of the payment's
// expectation ([ExpectationFrom]). The application adds the expectation when
// the payment starts (its id and/or its reference, amount, currency); before
// the handler runs, payhook finds it by the payment's id or reference, checks
// the signed or confirmed amount and currency against it, and settles it:
// each expectation once, and each payment id at most one expectation. A paid
// payment with no expectation is [ErrUnexpected]. Each provider's package
// says which of its fields are signed.
//
// [Handle] is the common case. [Middleware] is the same machinery as a plain
// func(http.Handler) http.Handler, with the event in the request's context
// ([EventFrom]), for routers' middleware chains and handlers that write
// their own answers.
//
// Behind [Middleware], act on the event, never re-parse the body: the event
// is what was verified. Providers refuse (400) a body that another parser
// could read differently, with a duplicate key or a key that matches a field
// only by case, but r.Body is there for logging and archiving, not for a
// second decoding.
//
// # Exactly once
//
// Each event's idempotency key (an order or transaction id, chosen by the
// provider package) is claimed in an [idempotency.Store] before your code
// runs, marked done when it succeeds and released when it fails or panics.
// A duplicate of a done event is answered 200 without calling your code; a
// duplicate that arrives while the first is still running is answered 409,
// so a provider that retries comes back for the final answer. The default
// store lives in memory; share a Redis or PostgreSQL store between replicas.
//
// # Answers
//
// Every rejection answers a status and its standard text, never an internal
// error, a secret or an expected signature; the reason goes to the
// [slog.Logger] given with [WithLogger]:
//
//	405 not a POST                       ErrMethodNotAllowed
//	429 over the rate limit, Retry-After ErrRateLimited
//	413 body over the cap                ErrTooLarge
//	401 bad or missing signature         ErrInvalidSignature
//	400 malformed body                   ErrMalformed
//	409 same event in flight, Retry-After ErrInFlight
//	503 store or provider API down       ErrUnavailable
//	500 your handler's error             (any other error)
//
// Providers wrap these sentinel errors, so errors.Is works across them.
package payhook
