package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestForgedHoldsNoSecret: --forge signs with a key that holds nothing of
// the merchant's secrets, printed (--print) or sent, even for KKiaPay,
// whose header is the key itself.
func TestForgedHoldsNoSecret(t *testing.T) {
	vars := map[string]string{
		"KAZAWALLET_API_KEY": "kw_key", "KAZAWALLET_API_SECRET": "kw-secret-7f3a",
		"KKIAPAY_WEBHOOK_SECRET":    "kk-secret-91bd",
		"KASPEROPAY_WEBHOOK_SECRET": "kp-secret-c04e",
	}
	for provider, secret := range map[string]string{"kazawallet": "kw-secret-7f3a", "kkiapay": "kk-secret-91bd", "kasperopay": "kp-secret-c04e"} {
		t.Run(provider, func(t *testing.T) {
			code, out, errOut := runSend(t, vars, "--print", "--forge", provider)
			assert.Equal(t, 0, code, errOut)
			assert.Contains(t, out, "curl ")
			assert.NotContains(t, out+errOut, secret)
		})
	}
	assert.NotEqual(t, forgedKey, forgedSecret(forgedKey))
	assert.False(t, strings.Contains(forgedSecret("s3cret"), "s3cret"))
}
