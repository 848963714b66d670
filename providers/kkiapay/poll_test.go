package kkiapay_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

func TestPoll(t *testing.T) {
	api := kkiapaytest.NewAPI(t)
	p, err := kkiapay.New("hash", kkiapay.WithConfirmation(api.Client()))
	require.NoError(t, err)
	ctx := context.Background()

	paid := kkiapay.Transaction{TransactionID: "tx_paid", Status: kkiapay.StatusSuccess, Amount: payhook.MustAmount("1000"),
		PartnerID: "order_7", Source: kkiapay.MobileMoney}
	api.Set("tx_paid", kkiapaytest.Transaction(paid))
	api.Set("tx_failed", kkiapaytest.Transaction(kkiapay.Transaction{TransactionID: "tx_failed", Status: kkiapay.StatusFailed, FailureCode: "insufficient_fund"}))
	api.Set("tx_reverted", kkiapaytest.Transaction(kkiapay.Transaction{TransactionID: "tx_reverted", Status: kkiapay.StatusReverted, Amount: payhook.MustAmount("1000")}))
	api.Set("tx_pending", kkiapaytest.Transaction(kkiapay.Transaction{TransactionID: "tx_pending", Status: kkiapay.StatusPending}))
	api.Set("tx_other", kkiapaytest.Transaction(kkiapay.Transaction{TransactionID: "tx_someone_else", Status: kkiapay.StatusSuccess}))
	api.Set("tx_down", payhooktest.Down())

	e, err := p.Poll(ctx, "tx_paid")
	require.NoError(t, err)
	assert.True(t, e.Paid())
	assert.Equal(t, "tx_paid", p.Key(e))
	require.NotNil(t, e.Confirmation)
	assert.Equal(t, payhook.Payment{Provider: "kkiapay", ID: "tx_paid", Ref: "order_7", RefVouched: true,
		Amount: payhook.MustAmount("1000"), Currency: "XOF", Outcome: payhook.PaymentPaid}, e.Payment())

	e, err = p.Poll(ctx, "tx_failed")
	require.NoError(t, err)
	assert.False(t, e.Paid())
	assert.Equal(t, payhook.PaymentFailed, e.Payment().Outcome)
	assert.Equal(t, "insufficient_fund", e.FailureCode)

	e, err = p.Poll(ctx, "tx_reverted")
	require.NoError(t, err)
	assert.Equal(t, payhook.PaymentFailed, e.Payment().Outcome, "a reverted payment is not paid")
	assert.Equal(t, "reverted", e.FailureCode)

	for id, want := range map[string]error{
		"tx_pending": payhook.ErrPending, "tx_unknown": payhook.ErrInvalidSignature,
		"tx_other": payhook.ErrInvalidSignature, "tx_down": payhook.ErrUnavailable,
	} {
		_, err := p.Poll(ctx, id)
		assert.ErrorIs(t, err, want, id)
	}

	// Without the API's keys, a poll is a configuration error.
	bare, err := kkiapay.New("hash")
	require.NoError(t, err)
	_, err = bare.Poll(ctx, "tx_paid")
	assert.ErrorIs(t, err, payhook.ErrConfig)
}

// TestPaymentView: the webhook's Payment, before and after confirmation.
func TestPaymentView(t *testing.T) {
	ok := true
	e := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &ok,
		Amount: payhook.MustAmount("500"), PartnerID: "claimed"}
	assert.Equal(t, payhook.Payment{Provider: "kkiapay", ID: "tx_1", Ref: "claimed", Amount: payhook.MustAmount("500"),
		Currency: "XOF", Outcome: payhook.PaymentPaid}, e.Payment(), "the webhook's partnerId is not vouched for")
	e.Confirmation = &kkiapay.Transaction{PartnerID: "order_1"}
	assert.Equal(t, "order_1", e.Payment().Ref)
	assert.True(t, e.Payment().RefVouched)

	notOK := false
	e = kkiapay.Event{TransactionID: "tx_2", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &notOK}
	assert.Equal(t, payhook.PaymentFailed, e.Payment().Outcome, "a success that says isPaymentSucces false")
	assert.False(t, e.Payment().Paid())
}
