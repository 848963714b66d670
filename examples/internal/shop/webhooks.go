package shop

import (
	"context"
	"errors"
	"log/slog"

	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// Webhooks holds the shop's typed webhook handlers, one per provider, for
// payhook.Handle:
//
//	payhook.Handle(providers.Kazawallet, hooks.Kazawallet)
//
// payhook calls each with a verified event, once per event. A nil error
// acknowledges the delivery (200); an error answers 500 and lets the
// provider's retry, if it makes one, process the event again.
type Webhooks struct {
	Orders OrderStore
	// Log receives the notices the shop acknowledges but cannot apply.
	// Default: slog.Default().
	Log *slog.Logger
}

// Kazawallet applies a Kazawallet notice. The payment link's ref is the
// shop's order id; the amount is compared with the order's, since the
// signature covers the amount but not the status or the ref.
func (h Webhooks) Kazawallet(ctx context.Context, e kazawallet.Event) error {
	p := Payment{Provider: kazawallet.Name, ID: e.OrderID, Amount: e.Amount, Currency: e.Currency}
	if e.Paid() {
		return h.apply(ctx, h.Orders.MarkPaid(ctx, e.Ref, p), p)
	}
	p.Reason = string(e.Type) // "timed_out", or a status kept as sent
	return h.apply(ctx, h.Orders.MarkFailed(ctx, e.Ref, p), p)
}

// KKiaPay applies a KKiaPay notice. The shop gives the widget its order id
// as data ({"order_id": ...}), which KKiaPay echoes as stateData; the
// partnerId is the fallback. Confirmation vouches for the status and the
// amount only, so when there is one the order is read from the status
// API's copy of the data (state, partnerId), not from the webhook's.
func (h Webhooks) KKiaPay(ctx context.Context, e kkiapay.Event) error {
	var data struct {
		OrderID string `json:"order_id"`
	}
	decode, partnerID := e.DecodeStateData, e.PartnerID
	if c := e.Confirmation; c != nil {
		decode, partnerID = c.DecodeState, c.PartnerID
	}
	if err := decode(&data); err != nil || data.OrderID == "" {
		data.OrderID = partnerID
	}
	p := Payment{Provider: kkiapay.Name, ID: e.TransactionID, Amount: e.Amount, Currency: "XOF"}
	if e.Paid() {
		return h.apply(ctx, h.Orders.MarkPaid(ctx, data.OrderID, p), p)
	}
	p.Reason = e.FailureCode
	return h.apply(ctx, h.Orders.MarkFailed(ctx, data.OrderID, p), p)
}

// KasperoPay applies a KasperoPay notice, confirmed by the status API. The
// webhook is not signed, so its order_id is not trusted: the order is the
// one the shop recorded the payment id for when the payment began.
func (h Webhooks) KasperoPay(ctx context.Context, e kasperopay.Event) error {
	p := Payment{Provider: kasperopay.Name, ID: e.PaymentID, Amount: e.AmountKAS, Currency: "KAS"}
	if !e.Paid() {
		return nil // an event the shop does not act on
	}
	o, err := h.Orders.ByPaymentID(ctx, e.PaymentID)
	if err != nil {
		return h.apply(ctx, err, p)
	}
	return h.apply(ctx, h.Orders.MarkPaid(ctx, o.ID, p), p)
}

// apply decides the answer to a notice the store was given. A notice that
// names no known order or pays the wrong amount is acknowledged and logged
// for a person to look at: a retry would not change it. Any other error
// (the store is down) is returned, so that a retry can succeed.
func (h Webhooks) apply(ctx context.Context, err error, p Payment) error {
	if errors.Is(err, ErrUnknownOrder) || errors.Is(err, ErrAmountMismatch) {
		log := h.Log
		if log == nil {
			log = slog.Default()
		}
		log.WarnContext(ctx, "shop: payment notice not applied", "provider", p.Provider, "payment", p.ID, "error", err)
		return nil
	}
	return err
}
