package kasperopay_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
)

func TestPoll(t *testing.T) {
	api := kasperopaytest.NewAPI(t)
	p, err := kasperopay.New(kasperopay.WithConfirmation(api.Client()))
	require.NoError(t, err)
	ctx := context.Background()
	long := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // a poll takes old payments: it is no replay

	api.Set("pay_done", kasperopaytest.Payment(kasperopay.Payment{PaymentID: "pay_done", Status: kasperopay.StatusCompleted,
		AmountKAS: payhook.MustAmount("25.5"), TxID: "abc", ConfirmedAt: long}))
	api.Set("pay_expired", kasperopaytest.Payment(kasperopay.Payment{PaymentID: "pay_expired", Status: kasperopay.StatusExpired}))
	api.Set("pay_pending", kasperopaytest.Payment(kasperopay.Payment{PaymentID: "pay_pending", Status: kasperopay.StatusPending}))
	api.Set("pay_confirming", kasperopaytest.Payment(kasperopay.Payment{PaymentID: "pay_confirming", Status: kasperopay.StatusConfirming}))
	api.Set("pay_other", kasperopaytest.Payment(kasperopay.Payment{PaymentID: "pay_else", Status: kasperopay.StatusCompleted, AmountKAS: payhook.MustAmount("1")}))
	api.Set("pay_down", payhooktest.Down())

	e, err := p.Poll(ctx, "pay_done")
	require.NoError(t, err)
	assert.True(t, e.Paid())
	assert.Equal(t, "pay_done", p.Key(e))
	assert.Equal(t, "abc", e.TransactionID)
	require.NotNil(t, e.Confirmation)
	assert.Equal(t, payhook.Payment{Provider: "kasperopay", ID: "pay_done", Amount: payhook.MustAmount("25.5"),
		Currency: "KAS", Outcome: payhook.PaymentPaid}, e.Payment())

	e, err = p.Poll(ctx, "pay_expired")
	require.NoError(t, err)
	assert.False(t, e.Paid())
	assert.Equal(t, kasperopay.PaymentExpired, e.Type)
	assert.Equal(t, payhook.PaymentExpired, e.Payment().Outcome)

	for id, want := range map[string]error{
		"pay_pending": payhook.ErrPending, "pay_confirming": payhook.ErrPending, "pay_unknown": payhook.ErrInvalidSignature,
		"pay_other": payhook.ErrInvalidSignature, "pay_down": payhook.ErrUnavailable,
	} {
		_, err := p.Poll(ctx, id)
		assert.ErrorIs(t, err, want, id)
	}

	signedOnly, err := kasperopay.New(kasperopay.WithSecrets("s"), kasperopay.WithoutConfirmation())
	require.NoError(t, err)
	_, err = signedOnly.Poll(ctx, "pay_done")
	assert.ErrorIs(t, err, payhook.ErrConfig)
}

func TestPaymentView(t *testing.T) {
	e := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: "pay_1", OrderID: "order_1", AmountKAS: payhook.MustAmount("3")}
	assert.Equal(t, payhook.Payment{Provider: "kasperopay", ID: "pay_1", Ref: "order_1", Amount: payhook.MustAmount("3"),
		Currency: "KAS", Outcome: payhook.PaymentPaid}, e.Payment(), "without a signature, order_id is the sender's word")
	e.Signed = true
	assert.True(t, e.Payment().RefVouched)
}
