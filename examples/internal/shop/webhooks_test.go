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

// TestWebhooks checks which notices the shop applies, which it
// acknowledges without applying (a retry would not change them), and
// which it fails so that a retry can succeed.
func TestWebhooks(t *testing.T) {
	order := shop.Order{ID: "o-1", Amount: payhook.MustAmount("10.00"), Currency: "USD", PaymentID: "pay_1"}
	kasOrder := shop.Order{ID: "o-2", Amount: payhook.MustAmount("25.5"), Currency: "KAS", PaymentID: "pay_2"}
	kz := func(ref, amount string) func(shop.Webhooks) error {
		return func(h shop.Webhooks) error {
			return h.Kazawallet(context.Background(), kazawallet.Event{OrderID: "kzl", Ref: ref,
				Amount: payhook.MustAmount(amount), Currency: "USD", Type: kazawallet.Fulfilled})
		}
	}
	tests := []struct {
		name    string
		store   func(*shop.Memory) shop.OrderStore
		send    func(shop.Webhooks) error
		wantErr error
		order   string // the order to check; default "o-1"
		status  shop.Status
		logged  bool
	}{
		{name: "paid: applied", send: kz("o-1", "10"), status: shop.Paid},
		{name: "unknown order: acknowledged, logged", send: kz("o-404", "10"), status: shop.Pending, logged: true},
		{name: "wrong amount: acknowledged, logged, not paid", send: kz("o-1", "1"), status: shop.Pending, logged: true},
		{name: "store down: error, for a retry", send: kz("o-1", "10"), wantErr: errDown, status: shop.Pending,
			store: func(m *shop.Memory) shop.OrderStore { return brokenStore{m} }},
		{name: "kkiapay order from stateData", status: shop.Failed, send: func(h shop.Webhooks) error {
			return h.KKiaPay(context.Background(), kkiapay.Event{TransactionID: "tx", Type: kkiapay.TransactionFailed,
				FailureCode: "payment_declined", StateData: json.RawMessage(`{"order_id":"o-1"}`)})
		}},
		{name: "kkiapay confirmed: the order is the status API's state, not the webhook's stateData", status: shop.Failed,
			send: func(h shop.Webhooks) error {
				return h.KKiaPay(context.Background(), kkiapay.Event{TransactionID: "tx", Type: kkiapay.TransactionFailed,
					StateData:    json.RawMessage(`{"order_id":"o-2"}`), // the sender's, which confirmation does not compare
					Confirmation: &kkiapay.Transaction{TransactionID: "tx", Status: kkiapay.StatusFailed, State: json.RawMessage(`{"order_id":"o-1"}`)}})
			}},
		{name: "kasperopay order_id is not trusted: the payment id must be the order's", order: "o-2", status: shop.Pending, logged: true,
			send: func(h shop.Webhooks) error {
				return h.KasperoPay(context.Background(), kasperopay.Event{Type: kasperopay.PaymentCompleted,
					PaymentID: "pay_other", OrderID: "o-2", AmountKAS: payhook.MustAmount("25.5")})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := shop.NewMemory(order, kasOrder)
			var log bytes.Buffer
			h := shop.Webhooks{Orders: mem, Log: slog.New(slog.NewTextHandler(&log, nil))}
			if tt.store != nil {
				h.Orders = tt.store(mem)
			}
			err := tt.send(h)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			id := tt.order
			if id == "" {
				id = "o-1"
			}
			got, err := mem.Get(context.Background(), id)
			require.NoError(t, err)
			assert.Equal(t, tt.status, got.Status)
			assert.Equal(t, tt.logged, log.Len() > 0, log.String())
		})
	}
}

// TestMarkFailedAfterPaid: a late failure notice does not undo a payment.
func TestMarkFailedAfterPaid(t *testing.T) {
	ctx := context.Background()
	mem := shop.NewMemory(shop.Order{ID: "o-1", Amount: payhook.MustAmount("10"), Currency: "USD"})
	require.NoError(t, mem.MarkPaid(ctx, "o-1", shop.Payment{Provider: "p", Amount: payhook.MustAmount("10.00"), Currency: "USD"}))
	require.NoError(t, mem.MarkFailed(ctx, "o-1", shop.Payment{Provider: "p", Reason: "timed_out"}))
	o, err := mem.Get(ctx, "o-1")
	require.NoError(t, err)
	assert.Equal(t, shop.Paid, o.Status)
	assert.Len(t, o.History, 2)
	assert.ErrorIs(t, mem.Create(ctx, shop.Order{ID: "o-1", Amount: payhook.MustAmount("1"), Currency: "USD"}), shop.ErrOrderExists)
}
