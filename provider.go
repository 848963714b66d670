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
	// (a provider API) cannot be reached. Its error text must not contain a
	// secret or an expected signature. Verify must not keep body.
	Verify(ctx context.Context, header http.Header, body []byte) (E, error)
	// Key returns the event's idempotency key: the same for every delivery
	// of one event, different for different events. An empty key is
	// answered as a malformed delivery.
	Key(event E) string
}
