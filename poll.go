package payhook

import (
	"context"
	"fmt"
	"net/http"

	"github.com/payhook/payhook/expect"
)

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

// poll is the second door of one expectation: it asks the provider's
// status API about x's payment, and hands the event built from the answer
// to the same pipeline as a webhook's (claim, inbox or expectation check
// and handler, finish). It returns nil when the pipeline took the payment
// or had already processed it.
func (e *engine[E]) poll(ctx context.Context, x expect.Expectation) error {
	event, err := e.poller.Poll(ctx, x.ID)
	if err != nil {
		return err
	}
	if k := e.p.Key(event); k != x.ID {
		return fmt.Errorf("%w: %s poll of %q answered payment %q", ErrInvalidSignature, e.name, x.ID, k)
	}
	key, err := e.keyOf(event) // checked as a webhook's: x.ID is the application's word
	if err != nil {
		return err
	}
	r := (&http.Request{Method: http.MethodPost, RemoteAddr: pollRemote, Header: http.Header{}}).WithContext(ctx)
	w := &pollWriter{header: http.Header{}}
	c, d, res := e.claim(w, r, nil, event, key)
	if d != nil {
		func() {
			defer e.finish(d, &c, nil) // completes or releases the claim, panics included
			res = e.deliver(w, r, nil, nil, d, &c, nil, nil)
		}()
	}
	if res.status >= 200 && res.status < 300 {
		return nil
	}
	if res.reason == ReasonInFlight {
		return fmt.Errorf("%w: %s payment %q, found by a poll", ErrInFlight, e.name, key)
	}
	return fmt.Errorf("payhook: %s payment %q, found by a poll, was answered %d (%s)", e.name, key, res.status, res.reason)
}

// pollRemote is the RemoteAddr of a poll's request, in the log lines of
// the pipeline.
const pollRemote = "reconciler"

// pollWriter is the ResponseWriter of a poll: the pipeline's answer goes
// nowhere, and its status is in the result.
type pollWriter struct{ header http.Header }

func (w *pollWriter) Header() http.Header         { return w.header }
func (w *pollWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *pollWriter) WriteHeader(int)             {}
