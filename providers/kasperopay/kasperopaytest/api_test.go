package kasperopaytest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
)

func TestAPIWrongPayload(t *testing.T) {
	api := kasperopaytest.NewAPI(t)
	api.Set("pay_1", payhooktest.Payload(struct{ Status string }{"SUCCESS"})) // another provider's transaction
	_, err := api.Client().Status(context.Background(), "pay_1")
	assert.ErrorIs(t, err, payhook.ErrUnavailable)
	assert.ErrorContains(t, err, "the kasperopay fake cannot answer with a struct")
}

func TestAPI(t *testing.T) {
	pending := kasperopaytest.ConfirmedPayment(kpEvent)
	pending.Status = kasperopay.StatusPending
	tests := []struct {
		name       string
		id         string
		answer     payhooktest.Answer
		wantStatus kasperopay.Status
		wantErr    error
	}{
		{"confirmed", kpEvent.PaymentID, kasperopaytest.Payment(kasperopaytest.ConfirmedPayment(kpEvent)), kasperopay.StatusCompleted, nil},
		{"pending", kpEvent.PaymentID, kasperopaytest.Payment(pending), kasperopay.StatusPending, nil},
		{"not found", kpEvent.PaymentID, payhooktest.NotFound(), "", kasperopay.ErrNotFound},
		{"down", kpEvent.PaymentID, payhooktest.Down(), "", payhook.ErrUnavailable},
		{"hangup", kpEvent.PaymentID, payhooktest.Hangup(), "", payhook.ErrUnavailable},
		{"slow", kpEvent.PaymentID, payhooktest.Slow(time.Hour, payhooktest.NotFound()), "", payhook.ErrUnavailable},
		{"an id to escape", "pay/../x?y", kasperopaytest.Payment(kasperopay.Payment{PaymentID: "pay/../x?y", Status: kasperopay.StatusCompleted}), kasperopay.StatusCompleted, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := kasperopaytest.NewAPI(t)
			api.Set(tt.id, tt.answer)
			cl, err := kasperopay.NewClient(kasperopay.WithBaseURL(api.URL()), kasperopay.WithTimeout(50*time.Millisecond))
			require.NoError(t, err)
			p, err := cl.Status(context.Background(), tt.id)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.wantStatus, p.Status)
			}
			calls := api.Calls()
			require.NotEmpty(t, calls)
			assert.Equal(t, http.MethodGet, calls[0].Method)
			assert.Equal(t, tt.id, calls[0].ID)
		})
	}
}

func TestAPIWireFormat(t *testing.T) {
	api := kasperopaytest.NewAPI(t)
	api.Confirm(kpEvent)
	res, err := http.Get(api.URL() + "/pay/status/pay_xyz789")
	require.NoError(t, err)
	defer res.Body.Close()
	var got map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&got))
	assert.Equal(t, map[string]any{"payment_id": "pay_xyz789", "status": "completed", "amount_kas": 150.5, "amount_usd": 15.05,
		"txid": "abc123def456", "store_name": "payhooktest store", "confirmed_at": "2026-01-30T15:30:00Z",
		"expires_at": "2026-01-30T15:45:00Z"}, got)

	res, err = http.Get(api.URL() + "/api/pay/status/pay_xyz789")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Type"), "text/html", "a route miss is an HTML page, not a JSON not-found")
}
