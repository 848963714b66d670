package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/providers/kasperopay"
)

// kasperopayStatusAPI answers as KasperoPay's status API: pay_ok completed
// for 150.5 KAS (just now; pay_old two hours ago), pay_pending pending, pay_down a 500, anything else 404.
func kasperopayStatusAPI(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutPrefix(r.URL.Path, "/pay/status/")
		switch {
		case !ok:
			http.NotFound(w, r)
		case id == "pay_down":
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		case id == "pay_ok" || id == "pay_pending" || id == "pay_old":
			status := map[string]string{"pay_ok": "completed", "pay_pending": "pending", "pay_old": "completed"}[id]
			confirmed := time.Now().UTC().Add(-5 * time.Second)
			if id == "pay_old" {
				confirmed = confirmed.Add(-2 * time.Hour)
			}
			fmt.Fprintf(w, `{"payment_id":%q,"status":%q,"amount_kas":150.5,"amount_usd":15.05,"txid":"tx_%s",`+
				`"store_name":"Your Store","confirmed_at":%q,"expires_at":%q}`, id, status, id,
				confirmed.Format(time.RFC3339), confirmed.Add(15*time.Minute).Format(time.RFC3339))
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"Payment not found"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func kasperopayWebhook(paymentID, amount string, ts time.Time) string {
	return fmt.Sprintf(`{"event":"payment.completed","timestamp":%q,"merchant_id":"kpm_abc123","payment_id":%q,`+
		`"order_id":null,"amount_kas":%s,"amount_usd":null,"transaction_id":"tx_%s","customer_address":null,"item":"T-Shirt"}`,
		ts.UTC().Format(time.RFC3339Nano), paymentID, amount, paymentID)
}

func TestServeKasperoPay(t *testing.T) {
	api := kasperopayStatusAPI(t)
	base, stdout, stderr := startServe(t, map[string]string{"KASPEROPAY_ENABLED": "1", "KASPEROPAY_API_URL": api.URL})
	url := base + "/webhooks/kasperopay"
	now := time.Now()

	code, _ := postJSON(t, url, kasperopayWebhook("pay_ok", "150.5", now))
	assert.Equal(t, http.StatusOK, code)
	code, _ = postJSON(t, url, kasperopayWebhook("pay_ok", `"150.50"`, now))
	assert.Equal(t, http.StatusOK, code, "the duplicate is acknowledged")
	code, body := postJSON(t, url, kasperopayWebhook("pay_forged", "150.5", now))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "Unauthorized\n", body)
	code, _ = postJSON(t, url, kasperopayWebhook("pay_ok2", "1", now))
	assert.Equal(t, http.StatusUnauthorized, code, "unknown to the API")
	code, _ = postJSON(t, url, kasperopayWebhook("pay_pending", "150.5", now))
	assert.Equal(t, http.StatusServiceUnavailable, code, "not settled yet: never 401")
	code, _ = postJSON(t, url, kasperopayWebhook("pay_down", "150.5", now))
	assert.Equal(t, http.StatusServiceUnavailable, code)
	code, _ = postJSON(t, url, `{"event":"payment.completed"}`)
	assert.Equal(t, http.StatusBadRequest, code)

	lines := readLines(t, stdout.String())
	require.Len(t, lines, 1, "one line per processed event:\n%s", stdout)
	rec := lines[0]
	assert.Equal(t, "kasperopay", rec.Provider)
	assert.Equal(t, "pay_ok", rec.Key)
	assert.Equal(t, "150.5", rec.Event["amount_kas"])
	assert.Equal(t, "T-Shirt", rec.Event["item"])
	assert.Equal(t, "completed", rec.Event["confirmation"].(map[string]any)["status"])

	logs := stderr.String()
	assert.Contains(t, logs, "/webhooks/kasperopay", "the route is listed at start")
	assert.Contains(t, logs, "duplicate delivery acknowledged")
	assert.Contains(t, logs, `pay_down`, "the unconfirmed payment is named in serve's log")
	assert.Contains(t, logs, "will not resend")
	assert.Contains(t, logs, "level=ERROR", "at error level")
	assert.Contains(t, logs, "kasperopay: PAYMENT NOT CONFIRMED", "the provider's error, with the payment, reaches serve's log")
	assert.Contains(t, logs, "payment not found")
}

func TestServeKasperoPaySigned(t *testing.T) {
	const secret = "whsec_serve"
	api := kasperopayStatusAPI(t)
	base, stdout, _ := startServe(t, map[string]string{"KASPEROPAY_WEBHOOK_SECRET": secret, "KASPEROPAY_API_URL": api.URL + "/"})
	url := base + "/webhooks/kasperopay"
	body := kasperopayWebhook("pay_ok", "150.5", time.Now())

	code, _ := postJSON(t, url, body)
	assert.Equal(t, http.StatusUnauthorized, code, "the signature is required")
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(kasperopay.SignatureHeader, kasperopay.Sign(secret, []byte(body)))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, stdout.String(), `"signed":true`)
	assert.NotContains(t, stdout.String(), secret)
}

func TestServeKasperoPayConfig(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string // "" when serve must start
	}{
		{"enabled", map[string]string{"KASPEROPAY_ENABLED": "true"}, ""},
		{"enabled with another path", map[string]string{"KASPEROPAY_ENABLED": "1", "KASPEROPAY_STATUS_PATH": "/api/pay/status/"}, ""},
		{"bad flag", map[string]string{"KASPEROPAY_ENABLED": "yes please"}, "KASPEROPAY_ENABLED"},
		{"disabled with a secret", map[string]string{"KASPEROPAY_ENABLED": "0", "KASPEROPAY_WEBHOOK_SECRET": "s"}, "contradicts"},
		{"blank secret", map[string]string{"KASPEROPAY_WEBHOOK_SECRET": "  "}, "KASPEROPAY_WEBHOOK_SECRET: holds an empty value"},
		{"API URL alone", map[string]string{"KASPEROPAY_API_URL": "http://127.0.0.1:1"}, "KASPEROPAY_API_URL set without"},
		{"bad API URL", map[string]string{"KASPEROPAY_ENABLED": "1", "KASPEROPAY_API_URL": "kaspa-store.com"}, "base URL"},
		{"disabled alone", map[string]string{"KASPEROPAY_ENABLED": "0"}, "no provider configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.vars["PAYHOOK_ADDR"] = "127.0.0.1:0"
			ctx, cancel := context.WithCancel(context.Background())
			ready := make(chan string, 1)
			done := make(chan error, 1)
			stderr := &syncBuffer{}
			go func() { done <- serveEnv(ctx, nil, env(tt.vars), io.Discard, stderr, ready) }()
			select {
			case <-ready:
				cancel()
				require.NoError(t, <-done)
				assert.Empty(t, tt.want, "serve started")
				assert.Contains(t, stderr.String(), "/webhooks/kasperopay")
			case err := <-done:
				cancel()
				require.Error(t, err)
				require.NotEmpty(t, tt.want, "serve failed: %v", err)
				assert.Contains(t, err.Error(), tt.want)
			}
		})
	}
}
