package kasperopay_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
)

func TestClientStatus(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_abc123", "completed", "25.5", `"abc123"`)
	api.answer("pay_pending", http.StatusOK, `{"payment_id":"pay_pending","status":"pending","amount_kas":"10","amount_usd":null,"txid":null,`+
		`"store_name":"Your Store","confirmed_at":null,"expires_at":"2026-01-30 15:44:00"}`)
	api.answer("pay_ms", http.StatusOK, `{"payment_id":"pay_ms","status":"expired","amount_kas":1e2,"expires_at":1769787840000}`)
	c, err := kasperopay.NewClient(kasperopay.WithBaseURL(api.URL()))
	require.NoError(t, err)

	p, err := c.Status(context.Background(), "pay_abc123")
	require.NoError(t, err)
	assert.Equal(t, kasperopay.Payment{
		PaymentID:   "pay_abc123",
		Status:      kasperopay.StatusCompleted,
		AmountKAS:   payhook.MustAmount("25.5"),
		AmountUSD:   payhook.MustAmount("15.05"),
		TxID:        "abc123",
		StoreName:   "Your Store",
		ConfirmedAt: time.Date(2026, 1, 30, 15, 29, 58, 0, time.UTC),
		ExpiresAt:   time.Date(2026, 1, 30, 15, 44, 0, 0, time.UTC),
	}, p)
	assert.True(t, p.Completed())
	assert.Equal(t, http.MethodGet, api.last().Method)
	assert.Equal(t, "/pay/status/pay_abc123", api.last().Path)

	p, err = c.Status(context.Background(), "pay_pending")
	require.NoError(t, err)
	assert.Equal(t, kasperopay.StatusPending, p.Status)
	assert.False(t, p.Completed())
	assert.Equal(t, "10", p.AmountKAS.String())
	assert.True(t, p.AmountUSD.IsZero())
	assert.Empty(t, p.TxID)
	assert.True(t, p.ConfirmedAt.IsZero())
	assert.Equal(t, time.Date(2026, 1, 30, 15, 44, 0, 0, time.UTC), p.ExpiresAt)

	p, err = c.Status(context.Background(), "pay_ms")
	require.NoError(t, err)
	assert.Equal(t, kasperopay.StatusExpired, p.Status)
	assert.Equal(t, "1e2", p.AmountKAS.String())
	assert.Equal(t, 0, p.AmountKAS.Cmp(payhook.MustAmount("100")))
	assert.Equal(t, time.UnixMilli(1769787840000).UTC(), p.ExpiresAt)
}

func TestClientStatusErrors(t *testing.T) {
	api := newFakeAPI(t)
	api.answer("pay_500", http.StatusInternalServerError, `oops`)
	api.answer("pay_html", http.StatusOK, `<!doctype html><title>Just a moment...</title>`)
	api.answer("pay_text404", http.StatusNotFound, `Payment not found`)
	api.answer("pay_empty404", http.StatusNotFound, ``)
	api.answer("pay_notfound200", http.StatusOK, `{"success":false,"error":"Payment not found"}`)
	api.answer("pay_nostatus", http.StatusOK, `{"error":"database busy"}`)
	api.answer("pay_badamount", http.StatusOK, `{"status":"completed","amount_kas":"lots"}`)
	api.answer("pay_huge", http.StatusOK, `{"status":"completed","pad":"`+strings.Repeat("x", 1<<20)+`"}`)
	c, err := kasperopay.NewClient(kasperopay.WithBaseURL(api.URL()))
	require.NoError(t, err)

	tests := []struct {
		id   string
		want error
	}{
		{"pay_unknown", kasperopay.ErrNotFound},
		{"pay_text404", kasperopay.ErrNotFound},
		{"pay_empty404", kasperopay.ErrNotFound},
		{"pay_notfound200", kasperopay.ErrNotFound},
		{"pay_500", payhook.ErrUnavailable},
		{"pay_html", payhook.ErrUnavailable},
		{"pay_nostatus", payhook.ErrUnavailable},
		{"pay_badamount", payhook.ErrUnavailable},
		{"pay_huge", payhook.ErrUnavailable},
		{"", payhook.ErrMalformed},
		{".", payhook.ErrMalformed},
		{"..", payhook.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			before := api.calls()
			p, err := c.Status(context.Background(), tt.id)
			assert.ErrorIs(t, err, tt.want)
			assert.Zero(t, p)
			if tt.want == payhook.ErrMalformed {
				assert.Equal(t, before, api.calls(), "no request for an impossible id")
			}
		})
	}
}

func TestClientStatusTimeouts(t *testing.T) {
	api := newFakeAPI(t)
	api.Set("pay_slow", payhooktest.Slow(time.Hour, payhooktest.Answer{}))

	tests := []struct {
		name string
		opts []kasperopay.ClientOption
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"WithTimeout", []kasperopay.ClientOption{kasperopay.WithTimeout(20 * time.Millisecond)}, nil},
		{"http.Client timeout", []kasperopay.ClientOption{kasperopay.WithHTTPClient(&http.Client{Timeout: 20 * time.Millisecond})}, nil},
		{"caller's deadline", nil, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}},
		{"caller cancels", nil, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := api.Client(tt.opts...)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			_, err := c.Status(ctx, "pay_slow")
			assert.ErrorIs(t, err, payhook.ErrUnavailable)
		})
	}
}

func TestNewClientConfig(t *testing.T) {
	_, err := kasperopay.NewClient(kasperopay.WithBaseURL("kaspa-store.com"))
	assert.ErrorIs(t, err, payhook.ErrConfig)
	_, err = kasperopay.NewClient(kasperopay.WithStatusPath("/pay/status?id="))
	assert.ErrorIs(t, err, payhook.ErrConfig)
	_, err = kasperopay.NewClient(kasperopay.WithTimeout(0))
	assert.ErrorIs(t, err, payhook.ErrConfig)
	_, err = kasperopay.NewClient(kasperopay.WithHTTPClient(nil))
	assert.ErrorIs(t, err, payhook.ErrConfig)
	c, err := kasperopay.NewClient(kasperopay.WithStatusPath("api/pay/status"), kasperopay.WithBaseURL("https://proxy:hunter2@kaspa-store.example/"))
	require.NoError(t, err)
	assert.Equal(t, "kasperopay.Client{api: https://proxy:xxxxx@kaspa-store.example, status_path: /api/pay/status/}", c.String())
}
