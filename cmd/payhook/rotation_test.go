package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
)

// TestServeRotation: each provider's secrets are comma-separated lists
// while they are rotated; a delivery signed with any of them is accepted.
func TestServeRotation(t *testing.T) {
	api := kasperopayStatusAPI(t)
	base, stdout, _ := startServe(t, map[string]string{
		"KAZAWALLET_API_KEY": "k_new, k_old", "KAZAWALLET_API_SECRET": "s_new, s_old",
		"KKIAPAY_WEBHOOK_SECRET":    "hash_new,hash_old",
		"KASPEROPAY_WEBHOOK_SECRET": "whsec_new,whsec_old", "KASPEROPAY_API_URL": api.URL,
	})
	kw := func(key, secret string) string {
		return `{"order_id":"ord_` + key + `","amount":"10.00","status":"fulfilled","secret":"` +
			kazawallet.Sign(key, secret, "10.00", "ord_"+key) + `"}`
	}
	for _, tt := range []struct{ key, secret string }{{"k_new", "s_new"}, {"k_old", "s_old"}} {
		code, _ := postJSON(t, base+"/webhooks/kazawallet", kw(tt.key, tt.secret))
		assert.Equal(t, http.StatusOK, code, tt.key)
	}
	code, _ := postJSON(t, base+"/webhooks/kazawallet", kw("k_new", "s_old"))
	assert.Equal(t, http.StatusUnauthorized, code, "keys and secrets pair in order")

	for i, secret := range []string{"hash_new", "hash_old"} {
		code, _ := postKKiaPay(t, base+"/webhooks/kkiapay", secret, kkiapayWebhook("tx_"+secret, "1000"))
		assert.Equal(t, http.StatusOK, code, i)
	}

	body := kasperopayWebhook("pay_ok", "150.5", time.Now())
	req, err := http.NewRequest(http.MethodPost, base+"/webhooks/kasperopay", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set(kasperopay.SignatureHeader, kasperopay.Sign("whsec_old", []byte(body)))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)

	assert.Equal(t, 5, strings.Count(stdout.String(), "\n"), stdout.String())
}
