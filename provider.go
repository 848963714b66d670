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
	// of one event, different for different events. A key that is empty,
	// longer than [MaxKeyBytes] or holds a character that is not printable
	// (CR, LF, any control character) is answered 400, as a malformed
	// delivery.
	Key(event E) string
}

// LocalVerifier is implemented by a Provider that can say whether its
// Verify authenticates every delivery locally, by a signature or a shared
// secret checked without a network call. When VerifiesLocally reports
// true, the middleware verifies each delivery before it consults the rate
// limit ([WithRateLimit]), and charges only the deliveries that fail: a
// wrong signature, a body that is too large or does not decode, an
// unusable key. Once a client is over its limit, its failures are answered
// 429 (with Retry-After) rather than 401 or 400, and its genuine
// deliveries are still processed: a flood of junk from an address that the
// provider shares (a NAT, a proxy, a cloud's egress) cannot get the
// provider's genuine webhooks refused. What verifying first costs the junk
// is a bounded body read ([WithMaxBodyBytes]) and a check such as an HMAC.
//
// A Provider whose Verify calls an API to authenticate (KasperoPay without
// a webhook secret) reports false, or does not implement LocalVerifier:
// its deliveries are charged before Verify, as every request is then, so
// that the limit bounds the calls to that API.
type LocalVerifier interface {
	VerifiesLocally() bool
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
