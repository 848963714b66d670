package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/providers/kkiapay"
)

func kkiapayWebhook(id string, amount string) string {
	return `{"transactionId":"` + id + `","isPaymentSucces":true,"account":"22996000000","label":"Order",` +
		`"method":"MOBILE_MONEY","amount":` + amount + `,"fees":19,"partnerId":"",` +
		`"performedAt":"2024-03-20T08:55:22.883Z","stateData":"{\"orderId\":\"ord_1\"}","event":"transaction.success"}`
}

func postKKiaPay(t *testing.T, url, secret, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(kkiapay.SignatureHeader, kkiapay.Sign(secret))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func TestServeKKiaPay(t *testing.T) {
	base, stdout, stderr := startServe(t, map[string]string{"KKIAPAY_WEBHOOK_SECRET": "old_hash_secret, new_hash_secret"})
	url := base + "/webhooks/kkiapay"

	code, _ := postKKiaPay(t, url, "old_hash_secret", kkiapayWebhook("tx_1", "1000"))
	assert.Equal(t, http.StatusOK, code)
	code, body := postKKiaPay(t, url, "new_hash_secret", kkiapayWebhook("tx_1", "1000"))
	assert.Equal(t, http.StatusOK, code, "the retry is acknowledged, whichever secret it carries")
	assert.Equal(t, "already processed\n", body)
	code, _ = postKKiaPay(t, url, "new_hash_secret", kkiapayWebhook("tx_2", "2500"))
	assert.Equal(t, http.StatusOK, code)
	code, body = postKKiaPay(t, url, "a guess", kkiapayWebhook("tx_3", "1000"))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "Unauthorized\n", body)
	code, _ = postKKiaPay(t, url, "new_hash_secret", `{"event":"transaction.success"}`)
	assert.Equal(t, http.StatusBadRequest, code)

	lines := readLines(t, stdout.String())
	require.Len(t, lines, 2, "one line per processed event:\n%s", stdout)
	assert.Equal(t, "kkiapay", lines[0].Provider)
	assert.Equal(t, "tx_1", lines[0].Key)
	assert.Equal(t, "tx_1", lines[0].Event["transactionId"])
	assert.Equal(t, "1000", lines[0].Event["amount"])
	assert.Equal(t, "transaction.success", lines[0].Event["event"])
	assert.Equal(t, map[string]any{"orderId": "ord_1"}, lines[0].Event["stateData"], "the JSON-encoded string is decoded")
	assert.NotContains(t, lines[0].Event, "confirmation")
	assert.Equal(t, "tx_2", lines[1].Key)

	all := stdout.String() + stderr.String()
	assert.NotContains(t, all, "old_hash_secret")
	assert.NotContains(t, all, "new_hash_secret")
	assert.Contains(t, stderr.String(), "/webhooks/kkiapay", "the route is listed at start")
	assert.Contains(t, stderr.String(), "does not match the hash secret", "the reason is logged")
}

// fakeKKiaPayAPI answers the status API for the transactions in amounts,
// 404 for others, and 503 while down is set.
type fakeKKiaPayAPI struct {
	mu      sync.Mutex
	amounts map[string]string
	down    bool
	keys    []string
}

func (f *fakeKKiaPayAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct{ TransactionID string }
	_ = json.NewDecoder(r.Body).Decode(&in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append(f.keys, r.Header.Get("x-api-key")+"|"+r.Header.Get("x-private-key")+"|"+r.Header.Get("x-secret-key"))
	amount, ok := f.amounts[in.TransactionID]
	switch {
	case r.URL.Path != "/api/v1/transactions/status":
		http.NotFound(w, r)
	case f.down:
		http.Error(w, "upstream down", http.StatusServiceUnavailable)
	case !ok:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Transaction not found"}`)
	default:
		io.WriteString(w, `{"transactionId":"`+in.TransactionID+`","status":"SUCCESS","amount":`+amount+
			`,"performed_at":"2024-03-20T08:55:22.883Z","performedAt":"20/03/2024","client":{"fullname":"Awa"}}`)
	}
}

func TestServeKKiaPayConfirmation(t *testing.T) {
	fake := &fakeKKiaPayAPI{amounts: map[string]string{"tx_ok": "1000", "tx_later": "1000", "tx_rewritten": "1000"}}
	api := httptest.NewServer(fake)
	defer api.Close()
	base, stdout, stderr := startServe(t, map[string]string{
		"KKIAPAY_WEBHOOK_SECRET": "hash_secret",
		"KKIAPAY_PUBLIC_KEY":     "pk_1", "KKIAPAY_PRIVATE_KEY": "tpk_2", "KKIAPAY_SECRET_KEY": "tsk_3",
		"KKIAPAY_SANDBOX": "1", // KKIAPAY_API_URL wins
		"KKIAPAY_API_URL": api.URL,
	})
	url := base + "/webhooks/kkiapay"

	code, _ := postKKiaPay(t, url, "hash_secret", kkiapayWebhook("tx_ok", "1000"))
	assert.Equal(t, http.StatusOK, code)
	code, _ = postKKiaPay(t, url, "hash_secret", kkiapayWebhook("tx_ok2", "1000"))
	assert.Equal(t, http.StatusUnauthorized, code, "unknown to the API")
	code, _ = postKKiaPay(t, url, "hash_secret", kkiapayWebhook("tx_rewritten", "999999"))
	assert.Equal(t, http.StatusUnauthorized, code, "the amount was rewritten")

	fake.mu.Lock()
	fake.down = true
	fake.mu.Unlock()
	code, _ = postKKiaPay(t, url, "hash_secret", kkiapayWebhook("tx_later", "1000"))
	assert.Equal(t, http.StatusServiceUnavailable, code, "KKiaPay will retry")
	fake.mu.Lock()
	fake.down = false
	fake.mu.Unlock()
	code, _ = postKKiaPay(t, url, "hash_secret", kkiapayWebhook("tx_later", "1000"))
	assert.Equal(t, http.StatusOK, code, "the retry is processed")

	lines := readLines(t, stdout.String())
	require.Len(t, lines, 2, stdout.String())
	assert.Equal(t, []string{"tx_ok", "tx_later"}, []string{lines[0].Key, lines[1].Key})
	confirmation, ok := lines[0].Event["confirmation"].(map[string]any)
	require.True(t, ok, "the status API's answer is printed with the event")
	assert.Equal(t, "SUCCESS", confirmation["status"])

	fake.mu.Lock()
	assert.Equal(t, "pk_1|tpk_2|tsk_3", fake.keys[0])
	fake.mu.Unlock()
	all := stdout.String() + stderr.String()
	for _, s := range []string{"hash_secret", "tpk_2", "tsk_3"} {
		assert.NotContains(t, all, s)
	}
}

func TestServeKKiaPayRefusesBadConfig(t *testing.T) {
	keys := func(kv ...string) map[string]string {
		m := map[string]string{"KKIAPAY_WEBHOOK_SECRET": "s", "KKIAPAY_PUBLIC_KEY": "p", "KKIAPAY_PRIVATE_KEY": "q", "KKIAPAY_SECRET_KEY": "r"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"one key missing", keys("KKIAPAY_SECRET_KEY", ""), "needs all of KKIAPAY_PUBLIC_KEY, KKIAPAY_PRIVATE_KEY, KKIAPAY_SECRET_KEY: KKIAPAY_SECRET_KEY not set"},
		{"two keys missing", keys("KKIAPAY_PUBLIC_KEY", "", "KKIAPAY_PRIVATE_KEY", ""), "KKIAPAY_PUBLIC_KEY, KKIAPAY_PRIVATE_KEY not set"},
		{"keys without the webhook secret", keys("KKIAPAY_WEBHOOK_SECRET", ""), "the API keys set without KKIAPAY_WEBHOOK_SECRET"},
		{"sandbox without the webhook secret", map[string]string{"KKIAPAY_SANDBOX": "1"}, "KKIAPAY_SANDBOX set without KKIAPAY_WEBHOOK_SECRET"},
		{"sandbox without the keys", map[string]string{"KKIAPAY_WEBHOOK_SECRET": "s", "KKIAPAY_SANDBOX": "true"}, "KKIAPAY_SANDBOX set without the API keys"},
		{"API URL without the keys", map[string]string{"KKIAPAY_WEBHOOK_SECRET": "s", "KKIAPAY_API_URL": "http://x"}, "KKIAPAY_API_URL set without the API keys"},
		{"sandbox not a boolean", keys("KKIAPAY_SANDBOX", "yes please"), `KKIAPAY_SANDBOX="yes please"`},
		{"API URL not a URL", keys("KKIAPAY_API_URL", "api.kkiapay.me"), "absolute http(s) URL"},
		{"commas only", map[string]string{"KKIAPAY_WEBHOOK_SECRET": " , "}, "KKIAPAY_WEBHOOK_SECRET: holds an empty value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.vars["PAYHOOK_ADDR"] = "127.0.0.1:0"
			err := serveEnv(context.Background(), nil, env(tt.vars), io.Discard, io.Discard, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			// The mount's errors say kkiapay; a value that cannot be read
			// at all is refused as the environment is loaded, by name.
			assert.True(t, strings.HasPrefix(err.Error(), "kkiapay: ") || strings.HasPrefix(err.Error(), "KKIAPAY_"), err.Error())
		})
	}
}

func TestServeKKiaPaySandboxOff(t *testing.T) {
	// KKIAPAY_SANDBOX=0 asks for nothing: no keys needed.
	base, _, _ := startServe(t, map[string]string{"KKIAPAY_WEBHOOK_SECRET": "s", "KKIAPAY_SANDBOX": "0"})
	code, _ := postKKiaPay(t, base+"/webhooks/kkiapay", "s", kkiapayWebhook("tx_1", "1"))
	assert.Equal(t, http.StatusOK, code)
}
