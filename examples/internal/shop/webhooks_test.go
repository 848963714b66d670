package shop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// brokenStore fails every write, as a database that is down.
type brokenStore struct{ shop.OrderStore }

var errDown = errors.New("database down")

func (brokenStore) MarkPaid(context.Context, string, shop.Payment) error   { return errDown }
func (brokenStore) MarkFailed(context.Context, string, shop.Payment) error { return errDown }

// kz is a Kazawallet notice of link, naming ref, for amount in currency.
func kz(link, ref string, t kazawallet.EventType, amount, currency string) func(shop.Webhooks) error {
	return func(h shop.Webhooks) error {
		return h.Kazawallet(context.Background(), kazawallet.Event{OrderID: link, Ref: ref,
			Amount: payhook.MustAmount(amount), Currency: currency, Type: t})
	}
}

// kk is a KKiaPay notice of a transaction whose widget data the status API
// holds as state (nil: not confirmed), the webhook's own stateData naming
// another order.
func kk(t kkiapay.EventType, amount string, state json.RawMessage) func(shop.Webhooks) error {
	return func(h shop.Webhooks) error {
		e := kkiapay.Event{TransactionID: "tx_1", Type: t, Amount: payhook.MustAmount(amount),
			FailureCode: "payment_declined", StateData: json.RawMessage(`{"order_id":"o-2"}`)}
		if state != nil {
			e.Confirmation = &kkiapay.Transaction{TransactionID: "tx_1", Amount: e.Amount, State: state}
		}
		return h.KKiaPay(context.Background(), e)
	}
}

// kp is a KasperoPay notice, confirmed, of payment naming order.
func kp(payment, order, amount string) func(shop.Webhooks) error {
	return func(h shop.Webhooks) error {
		return h.KasperoPay(context.Background(), kasperopay.Event{Type: kasperopay.PaymentCompleted,
			PaymentID: payment, OrderID: order, AmountKAS: payhook.MustAmount(amount)})
	}
}

// TestWebhooks checks which notices the shop applies, which it
// acknowledges without applying (a retry would not change them), and
// which it fails so that a retry can succeed: the status, the order found
// by a signed or confirmed id, and the amount.
func TestWebhooks(t *testing.T) {
	orders := []shop.Order{
		// a Kazawallet link whose id CreatePaymentLink returned
		{ID: "o-1", Amount: payhook.MustAmount("10.00"), Currency: "USD", Provider: kazawallet.Name, PaymentID: "lnk_1"},
		// a Kazawallet link created without an id in the answer
		{ID: "o-2", Amount: payhook.MustAmount("10.00"), Currency: "USD"},
		{ID: "o-3", Amount: payhook.MustAmount("10.00"), Currency: "USD"},
		{ID: "o-kk", Amount: payhook.MustAmount("1000"), Currency: "XOF"},
		{ID: "o-kp", Amount: payhook.MustAmount("25.5"), Currency: "KAS", Provider: kasperopay.Name, PaymentID: "pay_1"},
	}
	const kkState = `{"order_id":"o-kk"}`
	tests := []struct {
		name    string
		store   func(*shop.Memory) shop.OrderStore
		send    []func(shop.Webhooks) error
		wantErr error
		want    map[string]shop.Status // orders not named stay pending
		logged  bool
	}{
		{name: "kazawallet: found by the signed link id, whatever the ref",
			send: []func(shop.Webhooks) error{kz("lnk_1", "o-3", kazawallet.Fulfilled, "10", "USD")},
			want: map[string]shop.Status{"o-1": shop.Paid}},
		{name: "kazawallet: timed out is not a payment",
			send: []func(shop.Webhooks) error{kz("lnk_1", "o-1", kazawallet.TimedOut, "10.00", "USD")},
			want: map[string]shop.Status{"o-1": shop.Failed}},
		{name: "kazawallet: a wrong amount is not a payment", logged: true,
			send: []func(shop.Webhooks) error{kz("lnk_1", "o-1", kazawallet.Fulfilled, "1.00", "USD")}},
		{name: "kazawallet: another currency is not a payment", logged: true,
			send: []func(shop.Webhooks) error{kz("lnk_1", "o-1", kazawallet.Fulfilled, "10.00", "SYP")}},
		{name: "kazawallet: no link id recorded, the ref names an order no payment pays",
			send: []func(shop.Webhooks) error{kz("lnk_2", "o-2", kazawallet.Fulfilled, "10.00", "USD")},
			want: map[string]shop.Status{"o-2": shop.Paid}},
		{name: "kazawallet: a ref naming an order of another link is not applied", logged: true,
			send: []func(shop.Webhooks) error{kz("lnk_9", "o-1", kazawallet.Fulfilled, "10.00", "USD")}},
		{name: "kazawallet: a timed_out notice rewritten to fulfilled, with another ref, is not applied", logged: true,
			send: []func(shop.Webhooks) error{
				kz("lnk_2", "o-2", kazawallet.TimedOut, "10.00", "USD"),
				kz("lnk_2", "o-3", kazawallet.Fulfilled, "10.00", "USD"), // the same link: found in o-2's history
			},
			want: map[string]shop.Status{"o-2": shop.Failed}},
		{name: "kazawallet: a paid link replayed with another ref is not applied twice", logged: true,
			send: []func(shop.Webhooks) error{
				kz("lnk_2", "o-2", kazawallet.Fulfilled, "10.00", "USD"),
				kz("lnk_2", "o-3", kazawallet.Fulfilled, "10.00", "USD"),
			},
			want: map[string]shop.Status{"o-2": shop.Paid}},
		{name: "kazawallet: unknown link and order", logged: true,
			send: []func(shop.Webhooks) error{kz("lnk_9", "o-404", kazawallet.Fulfilled, "10.00", "USD")}},
		{name: "store down: an error, for a retry", wantErr: errDown,
			store: func(m *shop.Memory) shop.OrderStore { return brokenStore{m} },
			send:  []func(shop.Webhooks) error{kz("lnk_1", "o-1", kazawallet.Fulfilled, "10.00", "USD")}},
		{name: "kkiapay: the order is the status API's widget data, not the webhook's stateData",
			send: []func(shop.Webhooks) error{kk(kkiapay.TransactionSuccess, "1000", json.RawMessage(kkState))},
			want: map[string]shop.Status{"o-kk": shop.Paid}},
		{name: "kkiapay: a failed transaction", send: []func(shop.Webhooks) error{kk(kkiapay.TransactionFailed, "1000", json.RawMessage(kkState))},
			want: map[string]shop.Status{"o-kk": shop.Failed}},
		{name: "kkiapay: a wrong amount is not a payment", logged: true,
			send: []func(shop.Webhooks) error{kk(kkiapay.TransactionSuccess, "100", json.RawMessage(kkState))}},
		{name: "kkiapay: an unconfirmed event is not acknowledged", wantErr: errors.New("any"),
			send: []func(shop.Webhooks) error{kk(kkiapay.TransactionSuccess, "1000", nil)}},
		{name: "kasperopay: found by the recorded payment id",
			send: []func(shop.Webhooks) error{kp("pay_1", "", "25.50")},
			want: map[string]shop.Status{"o-kp": shop.Paid}},
		{name: "kasperopay: order_id is not trusted", logged: true,
			send: []func(shop.Webhooks) error{kp("pay_other", "o-kp", "25.5")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := shop.NewMemory(orders...)
			var log bytes.Buffer
			h := shop.Webhooks{Orders: mem, Log: slog.New(slog.NewTextHandler(&log, nil))}
			if tt.store != nil {
				h.Orders = tt.store(mem)
			}
			var err error
			for _, send := range tt.send {
				err = errors.Join(err, send(h))
			}
			switch {
			case errors.Is(tt.wantErr, errDown):
				require.ErrorIs(t, err, errDown)
			case tt.wantErr != nil:
				require.Error(t, err)
			default:
				require.NoError(t, err)
			}
			for _, o := range orders {
				want, ok := tt.want[o.ID]
				if !ok {
					want = shop.Pending
				}
				got, err := mem.Get(context.Background(), o.ID)
				require.NoError(t, err)
				assert.Equal(t, want, got.Status, "order %s", o.ID)
			}
			assert.Equal(t, tt.logged, log.Len() > 0, log.String())
		})
	}
}

// TestOnePaymentPerOrder: a paid order belongs to its payment, a notice is
// applied once, and a failed payment does not stop another from paying.
func TestOnePaymentPerOrder(t *testing.T) {
	ctx := context.Background()
	mem := shop.NewMemory(shop.Order{ID: "o-1", Amount: payhook.MustAmount("10"), Currency: "USD"})
	require.NoError(t, mem.MarkFailed(ctx, "o-1", shop.Payment{Provider: "p", ID: "w", Reason: "declined"}))
	require.NoError(t, mem.MarkPaid(ctx, "o-1", shop.Payment{Provider: "p", ID: "x", Amount: payhook.MustAmount("10.00"), Currency: "USD"}))
	assert.ErrorIs(t, mem.MarkFailed(ctx, "o-1", shop.Payment{Provider: "p", ID: "x", Reason: "timed_out"}), shop.ErrAlreadyApplied)
	assert.ErrorIs(t, mem.MarkFailed(ctx, "o-1", shop.Payment{Provider: "p", ID: "y", Reason: "timed_out"}), shop.ErrOtherPayment)
	assert.ErrorIs(t, mem.MarkPaid(ctx, "o-1", shop.Payment{Provider: "q", ID: "x"}), shop.ErrOtherPayment)
	o, err := mem.Get(ctx, "o-1")
	require.NoError(t, err)
	assert.Equal(t, shop.Paid, o.Status)
	assert.Equal(t, "x", o.PaymentID)
	assert.Len(t, o.History, 2)
	found, err := mem.ByPayment(ctx, "p", "w")
	require.NoError(t, err)
	assert.Equal(t, "o-1", found.ID, "a payment applied to an order finds it, failed or not")
	assert.ErrorIs(t, mem.Create(ctx, shop.Order{ID: "o-1", Amount: payhook.MustAmount("1"), Currency: "USD"}), shop.ErrOrderExists)
}

func TestCosts(t *testing.T) {
	o := shop.Order{Amount: payhook.MustAmount("10.50"), Currency: "USD"}
	assert.True(t, o.Costs(payhook.MustAmount("10.5"), "USD"))
	assert.True(t, o.Costs(payhook.MustAmount("1.05e1"), "USD"))
	assert.False(t, o.Costs(payhook.MustAmount("10.51"), "USD"))
	assert.False(t, o.Costs(payhook.MustAmount("10.50"), "EUR"))
	assert.False(t, o.Costs(payhook.Amount{}, "USD"))
}
