package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// replayWarning is what serve logs when a store that forgets meets a
// provider that cannot tell a replay.
const replayWarning = "memory store forgets every processed event"

// TestServeWarnsOfReplaysOnMemoryStore (issue 8, finding 2): Kazawallet
// and KKiaPay sign no time, so on the memory store a captured delivery is
// processed again after a restart; serve says so at start. KasperoPay
// refuses old payments on its own, and needs no warning.
func TestServeWarnsOfReplaysOnMemoryStore(t *testing.T) {
	for _, tt := range []struct {
		name string
		vars map[string]string
		warn string // the providers named, "" for no warning
	}{
		{"kazawallet", map[string]string{"KAZAWALLET_API_KEY": "k", "KAZAWALLET_API_SECRET": "s"}, "kazawallet"},
		{"kkiapay, store named", map[string]string{"KKIAPAY_WEBHOOK_SECRET": "s", "PAYHOOK_STORE": "memory"}, "kkiapay"},
		{"all three", map[string]string{"KAZAWALLET_API_KEY": "k", "KAZAWALLET_API_SECRET": "s", "KKIAPAY_WEBHOOK_SECRET": "s",
			"KASPEROPAY_ENABLED": "1"}, "kazawallet kkiapay"},
		{"kasperopay alone", map[string]string{"KASPEROPAY_ENABLED": "1"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, stderr := startServe(t, tt.vars)
			logs := stderr.String()
			if tt.warn == "" {
				assert.NotContains(t, logs, replayWarning)
				return
			}
			assert.Contains(t, logs, "level=WARN msg=\"payhook: the "+replayWarning)
			want := "providers=" + tt.warn
			if strings.Contains(tt.warn, " ") {
				want = `providers="` + tt.warn + `"`
			}
			assert.Contains(t, logs, want)
			assert.Contains(t, logs, "docs/security.md")
		})
	}
}

// TestServeRefusesOldKasperoPayPayment (issue 8, finding 2): through payhook
// serve, a KasperoPay webhook for a payment the status API confirmed two
// hours ago is a replay, refused whatever the store remembers.
func TestServeRefusesOldKasperoPayPayment(t *testing.T) {
	api := kasperopayStatusAPI(t)
	base, stdout, stderr := startServe(t, map[string]string{"KASPEROPAY_ENABLED": "1", "KASPEROPAY_API_URL": api.URL})
	code, body := postJSON(t, base+"/webhooks/kasperopay", kasperopayWebhook("pay_old", "150.5", time.Now()))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "Unauthorized\n", body)
	assert.Empty(t, strings.TrimSpace(stdout.String()), "nothing processed")
	assert.Contains(t, stderr.String(), "longer than the maximum age", "the log says why")
}

// TestServeRefusesDuplicateKeys (issue 8, finding 3): through payhook serve,
// a Kazawallet body that verifies as one amount but carries a second one is
// 400, and nothing is processed.
func TestServeRefusesDuplicateKeys(t *testing.T) {
	base, stdout, _ := startServe(t, map[string]string{"KAZAWALLET_API_KEY": "test_api_key", "KAZAWALLET_API_SECRET": "test_api_secret"})
	body := strings.TrimSuffix(kazawalletWebhook("ord_dup", "10.00"), "}") + `,"amount":"1000.00"}`
	code, _ := postJSON(t, base+"/webhooks/kazawallet", body)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Empty(t, strings.TrimSpace(stdout.String()), "nothing processed")
}
