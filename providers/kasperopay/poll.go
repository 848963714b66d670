package kasperopay

import (
	"context"
	"errors"
	"fmt"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/apicache"
)

// PaymentExpired is the type of an event that [Provider.Poll] builds for a
// payment the status API says expired unpaid. KasperoPay sends no webhook
// for it, and Verify refuses it.
const PaymentExpired EventType = "payment.expired"

var _ payhook.Poller[Event] = (*Provider)(nil)

// Poll implements payhook.Poller: it asks the status API about payment id
// and returns the event that the answer describes, built from the answer
// alone (Confirmation is the answer): a PaymentCompleted for completed,
// a PaymentExpired for expired. pending and confirming are
// payhook.ErrPending; an unknown payment, or an answer for another one,
// is payhook.ErrInvalidSignature; an API that cannot be consulted is
// payhook.ErrUnavailable. Unlike a webhook's confirmation, a poll takes a
// payment confirmed long ago ([WithMaxAge] bounds replays of webhooks; a
// poll is payhook's own question). Without confirmation
// ([WithoutConfirmation]) its error wraps payhook.ErrConfig. It shares the
// answers remembered with [Provider.Confirm].
func (p *Provider) Poll(ctx context.Context, id string) (Event, error) {
	if p.client == nil {
		return Event{}, fmt.Errorf("kasperopay: %w: polling needs the status API (confirmation is off)", payhook.ErrConfig)
	}
	pay, err := p.answers.Get(ctx, id, func(ctx context.Context) (Payment, error) {
		return p.client.Status(ctx, id)
	}, settled)
	switch {
	case err != nil && (errors.Is(err, apicache.ErrBusy) || ctx.Err() != nil):
		return Event{}, fmt.Errorf("kasperopay: %w: polling payment %q: %w", payhook.ErrUnavailable, id, err)
	case errors.Is(err, ErrNotFound):
		return Event{}, fmt.Errorf("%w: %w", payhook.ErrInvalidSignature, err)
	case err != nil:
		return Event{}, err
	case pay.PaymentID != "" && pay.PaymentID != id:
		return Event{}, fmt.Errorf("kasperopay: %w: status API answered for payment %q, not %q", payhook.ErrInvalidSignature, pay.PaymentID, id)
	}
	e := Event{PaymentID: id, AmountKAS: pay.AmountKAS, AmountUSD: pay.AmountUSD, TransactionID: pay.TxID, Timestamp: pay.ConfirmedAt}
	switch pay.Status {
	case StatusCompleted:
		e.Type = PaymentCompleted
		if pay.AmountKAS.IsZero() {
			return Event{}, fmt.Errorf("kasperopay: %w: status API says payment %q completed with no amount_kas", payhook.ErrUnavailable, id)
		}
	case StatusExpired:
		e.Type = PaymentExpired
	default:
		return Event{}, fmt.Errorf("kasperopay: %w: payment %q is %q", payhook.ErrPending, id, pay.Status)
	}
	e.Confirmation = &pay
	return e, nil
}
