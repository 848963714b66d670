package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kkiapay"
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
		{"kazawallet on SQLite", map[string]string{"KAZAWALLET_API_KEY": "k", "KAZAWALLET_API_SECRET": "s",
			"PAYHOOK_STORE": "sqlite:" + filepath.Join(t.TempDir(), "payhook.db")}, ""},
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

// countedStatusAPI is kasperopayStatusAPI counting the calls it gets.
func countedStatusAPI(t *testing.T) (*httptest.Server, *atomic.Int32) {
	api := kasperopayStatusAPI(t)
	calls := new(atomic.Int32)
	counted := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		api.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(counted.Close)
	return counted, calls
}

// stopClock stops serve's clock at a fixed time for the test, so that the
// rate limit's buckets do not refill while it runs.
func stopClock(t *testing.T) {
	t.Helper()
	at := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	clock = func() time.Time { return at }
	t.Cleanup(func() { clock = time.Now }) // after serve stops: cleanups run last first
}

// TestServeRateLimitsByDefault (issue 8, finding 4): unsigned KasperoPay
// turns each request into a call of its status API. serve applies a
// per-client rate limit by default (20 a second, 20 at once), so 300 forged
// requests from one client cost at most 20 calls, and the rest get 429 with
// Retry-After before their body is read.
func TestServeRateLimitsByDefault(t *testing.T) {
	counted, calls := countedStatusAPI(t)
	stopClock(t)
	base, _, _ := startServe(t, map[string]string{"KASPEROPAY_ENABLED": "1", "KASPEROPAY_API_URL": counted.URL})
	codes := map[int]int{}
	for i := range 300 {
		res, err := http.Post(base+"/webhooks/kasperopay", "application/json",
			strings.NewReader(kasperopayWebhook(fmt.Sprintf("pay_forged_%d", i), "150.5", time.Now())))
		require.NoError(t, err)
		res.Body.Close()
		codes[res.StatusCode]++
		if res.StatusCode == http.StatusTooManyRequests {
			assert.NotEmpty(t, res.Header.Get("Retry-After"))
		}
	}
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 20, http.StatusTooManyRequests: 280}, codes)
	assert.EqualValues(t, 20, calls.Load(), "one status call per request let through, none for a 429")
}

// TestServeForgeriesOfOnePaymentCostOneCall (issue 8, finding 4): forgeries
// naming one real payment are confirmed by the answer remembered: with the
// rate limit off, 300 of them cost one call of the status API.
func TestServeForgeriesOfOnePaymentCostOneCall(t *testing.T) {
	counted, calls := countedStatusAPI(t)
	base, stdout, _ := startServe(t, map[string]string{"KASPEROPAY_ENABLED": "1", "KASPEROPAY_API_URL": counted.URL, "PAYHOOK_RATE_LIMIT": "off"})
	for range 300 {
		code, _ := postJSON(t, base+"/webhooks/kasperopay", kasperopayWebhook("pay_ok", "1500.5", time.Now()))
		require.Equal(t, http.StatusUnauthorized, code)
	}
	code, _ := postJSON(t, base+"/webhooks/kasperopay", kasperopayWebhook("pay_ok", "150.5", time.Now()))
	assert.Equal(t, http.StatusOK, code, "the genuine delivery is processed")
	assert.Contains(t, stdout.String(), `"key":"pay_ok"`)
	assert.EqualValues(t, 1, calls.Load())
}

func TestRateLimitSpec(t *testing.T) {
	for _, tt := range []struct {
		spec  string
		rate  float64
		burst int
		off   bool
		bad   bool
	}{
		{spec: "", rate: 20, burst: 20}, // the default
		{spec: "20/s", rate: 20, burst: 20},
		{spec: "120/m", rate: 2, burst: 120},
		{spec: "3600/h", rate: 1, burst: 3600},
		{spec: "0.5/s", rate: 0.5, burst: 1},
		{spec: "off", off: true},
		{spec: "20", bad: true},
		{spec: "-1/s", bad: true},
		{spec: "0/s", bad: true},
		{spec: "20/d", bad: true},
		{spec: "lots/s", bad: true},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			cfg, err := loadConfig(env(map[string]string{"PAYHOOK_RATE_LIMIT": tt.spec}))
			l := cfg.rateLimit
			switch {
			case tt.bad:
				assert.ErrorContains(t, err, "PAYHOOK_RATE_LIMIT")
			case tt.off:
				require.NoError(t, err)
				assert.Nil(t, l)
			default:
				require.NoError(t, err)
				require.NotNil(t, l)
				assert.InDelta(t, tt.rate, float64(l.Rate), 1e-9)
				assert.Equal(t, tt.burst, l.Burst)
			}
		})
	}
	err := serveEnv(context.Background(), nil, env(map[string]string{"KASPEROPAY_ENABLED": "1", "PAYHOOK_RATE_LIMIT": "fast"}), io.Discard, io.Discard, nil)
	assert.ErrorContains(t, err, "PAYHOOK_RATE_LIMIT", "serve refuses to start")
}

// TestSendPrintShowsNoCredential (issue 8, finding 7): send redacts the
// password of --url, and --print printed it, and KKiaPay's hash secret, as
// literals. The printed command reads them from shell variables, and works
// once they are set.
func TestSendPrintShowsNoCredential(t *testing.T) {
	const hashSecret, password = "kk-hash-9f8e7d", "url-pass-6c5b4a"
	p, err := kkiapay.New(hashSecret)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pw, _ := r.BasicAuth(); user != "hook" || pw != password {
			http.Error(w, "who are you?", http.StatusForbidden)
			return
		}
		payhook.Handle(p, func(ctx context.Context, e kkiapay.Event) error { return nil }).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	target := strings.Replace(srv.URL, "://", "://hook:"+password+"@", 1) + "/webhooks/kkiapay"
	vars := map[string]string{"KKIAPAY_WEBHOOK_SECRET": hashSecret + ", kk-old-secret"}

	code, out, errOut := runSend(t, vars, "--print", "--url", target, "kkiapay")
	require.Equal(t, 0, code, errOut)
	for _, s := range []string{hashSecret, password} {
		assert.NotContains(t, out+errOut, s)
	}
	assert.Contains(t, out, ` -u 'hook'":$PAYHOOK_URL_PASSWORD"`)
	assert.Contains(t, out, ` -H "X-Kkiapay-Secret: ${KKIAPAY_WEBHOOK_SECRET%%,*}"`)
	assert.Contains(t, errOut, "PAYHOOK_URL_PASSWORD")

	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is not installed")
		}
		t.Skip("curl is not installed: the printed command is not run")
	}
	cmd := exec.Command("sh", "-c", out)
	cmd.Env = append(os.Environ(), "KKIAPAY_WEBHOOK_SECRET="+vars["KKIAPAY_WEBHOOK_SECRET"], "PAYHOOK_URL_PASSWORD="+password)
	res, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", res)
	assert.True(t, strings.HasPrefix(string(res), "HTTP/1.1 200 OK"), "%s", res)

	code, out, _ = runSend(t, vars, "--print", "--forge", "--url", srv.URL, "kkiapay")
	require.Equal(t, 0, code)
	assert.NotContains(t, out, "KKIAPAY_WEBHOOK_SECRET", "a forged request carries no credential to hide")
}
