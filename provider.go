package payhook

import (
	"context"
	"net/http"
)

// Provider authenticates and decodes the webhooks of one payment provider,
// whose event type is E. Packages under providers/ implement it; adding a
// provider means writing one such package, nothing in this one.
//
// Implementations must be safe for concurrent use.
type Provider[E any] interface {
	// Name returns the provider's short, stable name ("kazawallet"). It
	// prefixes idempotency keys and labels log lines.
	Name() string
	// Verify authenticates a delivery from its headers and raw body and
	// decodes its event. It returns an error wrapping ErrInvalidSignature
	// when the delivery cannot be authenticated, ErrMalformed when the body
	// cannot be decoded, and ErrUnavailable when something it must consult
	// (a provider API) cannot be reached, and ErrPending when that API has
	// not settled the payment yet. With those two errors, and only those,
	// Verify also returns the decoded event when the body decoded, so that
	// an inbox ([WithInbox]) can keep the delivery and confirm it later
	// through [Confirmer]. Its error text must not contain a secret or an
	// expected signature. Verify must not keep body.
	Verify(ctx context.Context, header http.Header, body []byte) (E, error)
	// Key returns the event's idempotency key: the same for every delivery
	// of one event, different for different events. An empty key is
	// answered as a malformed delivery.
	Key(event E) string
}

// Confirmer is implemented by providers whose webhooks cannot be trusted on
// their own and are checked with the provider's API (KKiaPay's optional
// confirmation, KasperoPay's status API). [Middleware] calls Confirm after it
// has claimed the event's key and before it calls the handler, so that:
//
//   - a duplicate of an event already processed is acknowledged without a
//     call to the provider's API, even while that API is down;
//   - a duplicate arriving while the first delivery is being confirmed is
//     answered 409 rather than confirmed twice;
//   - when Confirm fails, the claim is released, so a later delivery (a
//     provider's retry) is confirmed afresh.
//
// Claiming first is only safe once Verify has authenticated the sender: a
// provider whose Verify cannot (KasperoPay without a webhook secret)
// confirms in Verify instead, so that a forgery never holds a genuine
// event's key. Confirm may complete the event (say, with the API's answer)
// through the pointer. Its errors map to statuses as Verify's do: ErrInvalidSignature
// (the API disagrees or does not know the payment), ErrUnavailable (the API
// could not be reached). Called outside the middleware, Verify and then
// Confirm is the whole check.
type Confirmer[E any] interface {
	Confirm(ctx context.Context, event *E) error
}
