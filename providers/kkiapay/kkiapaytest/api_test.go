package kkiapaytest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

var kkEvent = kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, Method: kkiapay.MobileMoney,
	Account: "22996000000", Amount: payhook.MustAmount("1000"), Fees: payhook.MustAmount("19"),
	PerformedAt: time.Date(2026, 7, 13, 6, 34, 50, 276e6, time.UTC)}

func TestAPIStatus(t *testing.T) {
	pending := kkiapaytest.ConfirmedTransaction(kkEvent)
	pending.Status = kkiapay.StatusPending
	other := kkiapaytest.ConfirmedTransaction(kkEvent)
	other.Amount = payhook.MustAmount("999")

	tests := []struct {
		name       string
		answer     payhooktest.Answer
		wantStatus kkiapay.Status
		wantAmount string
		wantErr    error
	}{
		{"confirmed", kkiapaytest.Transaction(kkiapaytest.ConfirmedTransaction(kkEvent)), kkiapay.StatusSuccess, "1000", nil},
		{"pending", kkiapaytest.Transaction(pending), kkiapay.StatusPending, "1000", nil},
		{"another amount", kkiapaytest.Transaction(other), kkiapay.StatusSuccess, "999", nil},
		{"not found", payhooktest.NotFound(), "", "", kkiapay.ErrNotFound},
		{"not found, the 200 way", payhooktest.Respond(http.StatusOK, `{"status":"TRANSACTION_NOT_FOUND"}`), "", "", kkiapay.ErrNotFound},
		{"no answer set", payhooktest.Answer{}, "", "", kkiapay.ErrNotFound},
		{"down", payhooktest.Down(), "", "", payhook.ErrUnavailable},
		{"hangup", payhooktest.Hangup(), "", "", payhook.ErrUnavailable},
		{"slow, answering in time", payhooktest.Slow(10*time.Millisecond, kkiapaytest.Transaction(pending)), kkiapay.StatusPending, "1000", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := kkiapaytest.NewAPI(t)
			api.Set(kkEvent.TransactionID, tt.answer)
			tx, err := api.Client().Status(context.Background(), kkEvent.TransactionID)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.wantStatus, tx.Status)
				assert.Equal(t, tt.wantAmount, tx.Amount.String())
			}
			calls := api.Calls()
			require.NotEmpty(t, calls)
			assert.Equal(t, http.MethodPost, calls[0].Method)
			assert.Equal(t, "/api/v1/transactions/status", calls[0].Path)
			assert.Equal(t, kkEvent.TransactionID, calls[0].ID)
			assert.Equal(t, kkiapaytest.PublicKey, calls[0].Header.Get("X-Api-Key"))
			assert.JSONEq(t, `{"transactionId":"tx_1"}`, string(calls[0].Body))
		})
	}
}

func TestAPIWireFormat(t *testing.T) {
	api := kkiapaytest.NewAPI(t)
	api.Confirm(kkEvent)
	tx, err := api.Client().Status(context.Background(), kkEvent.TransactionID)
	require.NoError(t, err)
	assert.JSONEq(t, `{"performed_at":"2026-07-13T06:34:50.276Z","type":"DEBIT","status":"SUCCESS","source":"MOBILE_MONEY",
		"source_common_name":"","amount":1000,"fees":19,"reason":"","failureCode":"","failureMessage":"","state":null,
		"partnerId":"","feeSupportedBy":"merchant","transactionId":"tx_1","performedAt":"13/07/2026",
		"client":{"fullname":"Anonymous customer","phone":"22996000000","email":""}}`, string(tx.Raw))
	assert.Equal(t, kkEvent.PerformedAt, tx.PerformedAt)
	assert.Equal(t, time.Date(2026, 7, 13, 0, 0, 0, 0, time.UTC), tx.PerformedOn)
	tx.Raw = nil
	assert.Equal(t, kkiapaytest.ConfirmedTransaction(kkEvent), tx, "the client reads back the transaction given")
}

func TestAPISlowHonoursCancellation(t *testing.T) {
	api := kkiapaytest.NewAPI(t)
	api.Set("tx_slow", payhooktest.Slow(time.Hour, kkiapaytest.Transaction(kkiapaytest.ConfirmedTransaction(kkEvent))))
	cl := api.Client(kkiapay.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
	start := time.Now()
	_, err := cl.Status(context.Background(), "tx_slow")
	assert.ErrorIs(t, err, payhook.ErrUnavailable)
	assert.Less(t, time.Since(start), 30*time.Second, "the client's timeout ends the call, not the hour")

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err = api.Client().Status(ctx, "tx_slow")
	assert.ErrorIs(t, err, payhook.ErrUnavailable)
}

func TestAPIRefusals(t *testing.T) {
	api := kkiapaytest.NewAPI(t)
	api.Confirm(kkEvent)

	wrong, err := kkiapay.NewClient("pk", "tpk", "tsk", kkiapay.WithBaseURL(api.URL()))
	require.NoError(t, err)
	_, err = wrong.Status(context.Background(), kkEvent.TransactionID)
	var apiErr *kkiapay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)

	misrouted, err := kkiapay.NewClient(kkiapaytest.PublicKey, kkiapaytest.PrivateKey, kkiapaytest.SecretKey,
		kkiapay.WithBaseURL(api.URL()+"/v2"))
	require.NoError(t, err)
	_, err = misrouted.Status(context.Background(), kkEvent.TransactionID)
	require.ErrorAs(t, err, &apiErr, "a wrong route is not mistaken for an unknown transaction")
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.NotErrorIs(t, err, kkiapay.ErrNotFound)
}

func TestAPIRevert(t *testing.T) {
	api := kkiapaytest.NewAPI(t)
	api.Confirm(kkEvent)
	cl := api.Client()
	tx, err := cl.Revert(context.Background(), kkEvent.TransactionID)
	require.NoError(t, err)
	assert.Equal(t, kkiapay.StatusReverted, tx.Status)
	tx, err = cl.Status(context.Background(), kkEvent.TransactionID)
	require.NoError(t, err)
	assert.Equal(t, kkiapay.StatusReverted, tx.Status, "a reverted transaction stays reverted")
	_, err = cl.Revert(context.Background(), "tx_unknown")
	assert.ErrorIs(t, err, kkiapay.ErrNotFound)
	assert.Equal(t, "/api/v1/transactions/revert", api.Calls()[0].Path)
}
