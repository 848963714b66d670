package payhook

import "context"

// Poller is implemented by providers whose status API can be asked about a
// payment by its id alone: the second door, through which a payment whose
// webhook never arrived (the receiver was down, deploying, unreachable) is
// found all the same. KKiaPay (POST /api/v1/transactions/status, with the
// API keys of kkiapay.WithConfirmation) and KasperoPay (GET
// /pay/status/{id}) implement it; Kazawallet has no status API, so for it
// the most payhook can do is to report an expected payment overdue.
//
// Poll returns the event built from the status API's answer alone, never
// from anything a sender claimed, with the payment's final outcome (paid,
// failed, expired). It returns an error wrapping [ErrPending] when the API
// has not settled the payment, [ErrInvalidSignature] when the API does not
// know it or answers for another payment, [ErrUnavailable] when the API
// could not be consulted, and [ErrConfig] when the provider was made
// without what its API needs. A [Reconciler] calls it, for the
// expectations due ([WithReconciler]), and hands the event to the same
// pipeline as a webhook's: same key, store, inbox, observer and handler.
//
// Implementations must be safe for concurrent use.
type Poller[E any] interface {
	Poll(ctx context.Context, paymentID string) (E, error)
}
