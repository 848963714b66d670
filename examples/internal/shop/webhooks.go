package shop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// Webhooks holds the shop's typed webhook handlers, one per provider, for
// payhook.Handle with payhook.WithExpectations (Config.PayhookOptions):
//
//	payhook.Handle(kw, hooks.Kazawallet, payhook.WithExpectations(expected))
//
// Each follows the one rule for finding the order a payment pays
// (docs/reconcile.md): the shop added an expectation when the payment
// started (Expect), and credits the order of the expectation that payhook
// hands it (payhook.ExpectationFrom). Before the handler runs, payhook has
// found that expectation by the payment's id or its reference, checked
// that the paid amount and currency are the expected ones, and settled
// it: each expectation once, and each payment id at most one expectation.
// A paid payment with no expectation is payhook.ErrUnexpected (503,
// retried: the expectation may be on its way). A nil error acknowledges
// the delivery (200).
type Webhooks struct {
	Orders OrderStore
	// Log receives the notices the shop acknowledges but cannot apply.
	// Default: slog.Default().
	Log *slog.Logger
}

// Kazawallet applies a Kazawallet notice. Its signature covers the order_id
// (the payment link's id) and the amount, not the ref: the unsigned ref
// only finds the expectation, and only the signed amount for it, once,
// settles it (docs/kazawallet.md).
func (h Webhooks) Kazawallet(ctx context.Context, e kazawallet.Event) error {
	return h.apply(ctx, e.Payment(), string(e.Type)) // "timed_out", or a status kept as sent
}

// errUnconfirmed is returned for a KKiaPay event that was not confirmed
// through the status API, which the shop's configuration rules out.
var errUnconfirmed = errors.New("shop: KKiaPay webhook not confirmed through the status API: configure kkiapay.WithConfirmation")

// KKiaPay applies a KKiaPay notice. KKiaPay's header proves who sent the
// webhook, not what it says, so the shop acts only on confirmed events
// (kkiapay.WithConfirmation), whose status and amount the status API
// vouches for; the order is the expectation's, added by the transaction id
// the widget handed the page.
func (h Webhooks) KKiaPay(ctx context.Context, e kkiapay.Event) error {
	if e.Confirmation == nil {
		return errUnconfirmed // 500: not acknowledged, so that the setting is fixed rather than the payment lost
	}
	return h.apply(ctx, e.Payment(), e.FailureCode)
}

// KasperoPay applies a KasperoPay notice, confirmed by the status API,
// which vouches for the payment id, the status and the amount, not for the
// order_id: the order is the expectation's, added by the payment id the
// widget's onPayment callback gave.
func (h Webhooks) KasperoPay(ctx context.Context, e kasperopay.Event) error {
	return h.apply(ctx, e.Payment(), string(e.Type))
}

// apply credits, or marks failed, the order of p's expectation. A payment
// that is neither paid nor failed (no final outcome) changes nothing.
func (h Webhooks) apply(ctx context.Context, p payhook.Payment, reason string) error {
	x, ok := payhook.ExpectationFrom(ctx)
	switch {
	case p.Outcome == "":
		return nil // not a final word: nothing to record
	case !ok && p.Paid():
		// Not expected (yet: the page may still be adding it). Answered
		// 503 and retried; with an inbox, kept dead for an operator after
		// the last attempt.
		return fmt.Errorf("shop: %s payment %s: %w", p.Provider, p.ID, payhook.ErrUnexpected)
	case !ok:
		return nil // a failure of a payment the shop never expected: nothing to mark
	}
	n := Payment{Provider: p.Provider, ID: p.ID, Amount: p.Amount, Currency: p.Currency}
	if p.Paid() {
		return h.done(ctx, h.Orders.MarkPaid(ctx, x.Ref, n), n)
	}
	n.Reason = reason
	return h.done(ctx, h.Orders.MarkFailed(ctx, x.Ref, n), n)
}

// done decides the answer to a notice the store was given. A notice the
// store refuses for good (no such order, another payment's order) is
// acknowledged and logged for a person to look at: a retry would not
// change it. Any other error (the store is down) is returned, so that a
// retry can succeed.
func (h Webhooks) done(ctx context.Context, err error, p Payment) error {
	for _, notForUs := range []error{ErrUnknownOrder, ErrOtherPayment, ErrAlreadyApplied} {
		if errors.Is(err, notForUs) {
			log := h.Log
			if log == nil {
				log = slog.Default()
			}
			log.WarnContext(ctx, "shop: payment notice not applied", "provider", p.Provider, "payment", p.ID, "error", err)
			return nil
		}
	}
	return err
}
