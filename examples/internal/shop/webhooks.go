package shop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// Webhooks holds the shop's typed webhook handlers, one per provider, for
// payhook.Handle:
//
//	payhook.Handle(kw, hooks.Kazawallet)
//
// payhook calls each with a verified event, once per event. Each handler
// makes the three checks that keep a payment notice from costing money:
// the event is a successful payment (Paid); the order is found by an id
// that the provider signs or confirms, never by a field that anyone could
// have rewritten; and the amount and currency are the order's (Order.Costs).
// A nil error acknowledges the delivery (200); an error answers 500 and
// lets the provider's retry, if it makes one, process the event again.
type Webhooks struct {
	Orders OrderStore
	// Log receives the notices the shop acknowledges but cannot apply.
	// Default: slog.Default().
	Log *slog.Logger
}

// Kazawallet applies a Kazawallet notice. Its signature covers the order_id
// (the payment link's id) and the amount, not the status, the ref or the
// currency. So the order is the one whose link id is the order_id, recorded
// when the link was created (kazawallet.PaymentLink.OrderID). When
// Kazawallet's answer carried no id, the ref names the order instead: it is
// not signed, so it is taken only for an order that no other payment pays,
// and a notice of a link already applied to an order is never applied to
// another (see docs/kazawallet.md).
func (h Webhooks) Kazawallet(ctx context.Context, e kazawallet.Event) error {
	p := Payment{Provider: kazawallet.Name, ID: e.OrderID, Amount: e.Amount, Currency: e.Currency}
	o, err := h.Orders.ByPayment(ctx, p.Provider, p.ID)
	if errors.Is(err, ErrUnknownOrder) && e.Ref != "" {
		o, err = h.Orders.Get(ctx, e.Ref)
	}
	if err != nil {
		return h.apply(ctx, err, p)
	}
	if !e.Paid() {
		p.Reason = string(e.Type) // "timed_out", or a status kept as sent
		return h.apply(ctx, h.Orders.MarkFailed(ctx, o.ID, p), p)
	}
	return h.credit(ctx, o, p)
}

// errUnconfirmed is returned for a KKiaPay event that was not confirmed
// through the status API, which the shop's configuration rules out.
var errUnconfirmed = errors.New("shop: KKiaPay webhook not confirmed through the status API: configure kkiapay.WithConfirmation")

// KKiaPay applies a KKiaPay notice. KKiaPay's header proves who sent the
// webhook, not what it says, so the shop acts only on confirmed events
// (kkiapay.WithConfirmation), whose status and amount the status API vouches
// for, and reads the order from the API's copy of the widget's data
// ({"order_id": ...}, or the partnerId), never from the webhook's stateData.
func (h Webhooks) KKiaPay(ctx context.Context, e kkiapay.Event) error {
	p := Payment{Provider: kkiapay.Name, ID: e.TransactionID, Amount: e.Amount, Currency: "XOF"}
	c := e.Confirmation
	if c == nil {
		return errUnconfirmed // 500: not acknowledged, so that the setting is fixed rather than the payment lost
	}
	var data struct {
		OrderID string `json:"order_id"`
	}
	if err := c.DecodeState(&data); err != nil || data.OrderID == "" {
		data.OrderID = c.PartnerID
	}
	o, err := h.Orders.Get(ctx, data.OrderID)
	if err != nil {
		return h.apply(ctx, err, p)
	}
	if !e.Paid() {
		p.Reason = e.FailureCode
		return h.apply(ctx, h.Orders.MarkFailed(ctx, o.ID, p), p)
	}
	return h.credit(ctx, o, p)
}

// KasperoPay applies a KasperoPay notice, confirmed by the status API. The
// API vouches for the payment id, the status and the amount, not for the
// order_id, which anyone could have written: the order is the one the shop
// recorded the payment id for when the payment began (the widget's
// onPayment callback).
func (h Webhooks) KasperoPay(ctx context.Context, e kasperopay.Event) error {
	p := Payment{Provider: kasperopay.Name, ID: e.PaymentID, Amount: e.AmountKAS, Currency: "KAS"}
	if !e.Paid() {
		return nil // an event the shop does not act on
	}
	o, err := h.Orders.ByPayment(ctx, p.Provider, p.ID)
	if err != nil {
		return h.apply(ctx, err, p)
	}
	return h.credit(ctx, o, p)
}

// credit marks o paid by p, if p pays o's price in o's currency.
func (h Webhooks) credit(ctx context.Context, o Order, p Payment) error {
	if !o.Costs(p.Amount, p.Currency) {
		return h.apply(ctx, fmt.Errorf("%w: order %q costs %s %s, %s paid %s %s",
			ErrAmountMismatch, o.ID, o.Amount, o.Currency, p.Provider, p.Amount, p.Currency), p)
	}
	return h.apply(ctx, h.Orders.MarkPaid(ctx, o.ID, p), p)
}

// apply decides the answer to a notice the store was given. A notice that
// names no known order, pays the wrong amount, or names a payment that is
// not the order's is acknowledged and logged for a person to look at: a
// retry would not change it. Any other error (the store is down) is
// returned, so that a retry can succeed.
func (h Webhooks) apply(ctx context.Context, err error, p Payment) error {
	for _, notForUs := range []error{ErrUnknownOrder, ErrAmountMismatch, ErrOtherPayment, ErrAlreadyApplied} {
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
