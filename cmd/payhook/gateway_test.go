package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/forward"
)

func TestGatewayRefusesBadConfig(t *testing.T) {
	secret := forward.NewSecret()
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"secret without URL", map[string]string{"PAYHOOK_FORWARD_SECRET": secret}, "PAYHOOK_FORWARD_SECRET set without PAYHOOK_FORWARD_URL"},
		{"attempts without URL", map[string]string{"PAYHOOK_INBOX_ATTEMPTS": "3"}, "PAYHOOK_INBOX_ATTEMPTS set without PAYHOOK_FORWARD_URL"},
		{"URL without secret", map[string]string{"PAYHOOK_FORWARD_URL": "http://127.0.0.1:1/"}, "needs PAYHOOK_FORWARD_SECRET"},
		{"secret without prefix", map[string]string{"PAYHOOK_FORWARD_URL": "http://127.0.0.1:1/", "PAYHOOK_FORWARD_SECRET": "hunter2hunter2hunter2hunter2"}, "PAYHOOK_FORWARD_SECRET: forward: invalid secret"},
		{"short secret", map[string]string{"PAYHOOK_FORWARD_URL": "http://127.0.0.1:1/", "PAYHOOK_FORWARD_SECRET": "whsec_aHVudGVyMg=="}, "PAYHOOK_FORWARD_SECRET: forward: invalid secret"},
		{"relative URL", map[string]string{"PAYHOOK_FORWARD_URL": "/events", "PAYHOOK_FORWARD_SECRET": secret}, "PAYHOOK_FORWARD_URL: forward: the URL is not an absolute http(s) URL"},
		{"timeout", map[string]string{"PAYHOOK_FORWARD_URL": "http://127.0.0.1:1/", "PAYHOOK_FORWARD_SECRET": secret, "PAYHOOK_FORWARD_TIMEOUT": "30"}, `PAYHOOK_FORWARD_TIMEOUT="30"`},
		{"attempts", map[string]string{"PAYHOOK_FORWARD_URL": "http://127.0.0.1:1/", "PAYHOOK_FORWARD_SECRET": secret, "PAYHOOK_INBOX_ATTEMPTS": "0"}, `PAYHOOK_INBOX_ATTEMPTS="0"`},
		{"backoff", map[string]string{"PAYHOOK_FORWARD_URL": "http://127.0.0.1:1/", "PAYHOOK_FORWARD_SECRET": secret, "PAYHOOK_INBOX_BACKOFF": "-1s"}, `PAYHOOK_INBOX_BACKOFF="-1s"`},
		{"metrics", map[string]string{"PAYHOOK_METRICS": "maybe"}, `PAYHOOK_METRICS="maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"PAYHOOK_ADDR": "127.0.0.1:0", "PAYHOOK_STORE": "memory"}
			for k, v := range kazawalletEnv {
				vars[k] = v
			}
			for k, v := range tt.vars {
				vars[k] = v
			}
			err := serveEnv(context.Background(), nil, env(vars), io.Discard, io.Discard, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "hunter2")
			assert.NotContains(t, err.Error(), strings.TrimPrefix(secret, "whsec_"))
		})
	}
}

// get returns the body of GET url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// TestServeMetrics: the admin listener's GET /metrics counts Kazawallet's
// deliveries by outcome; PAYHOOK_METRICS=off removes it.
func TestServeMetrics(t *testing.T) {
	vars := map[string]string{}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	srv := startServeAll(t, vars)
	url := srv.base + "/webhooks/kazawallet"
	for _, order := range []string{"ord_m1", "ord_m2", "ord_m3"} {
		code, _ := postJSON(t, url, kazawalletWebhook(order, "10.00"))
		require.Equal(t, http.StatusOK, code)
	}
	for _, order := range []string{"ord_f1", "ord_f2"} {
		forged := strings.Replace(kazawalletWebhook(order, "10.00"), `"amount":"10.00"`, `"amount":"99.00"`, 1)
		code, _ := postJSON(t, url, forged)
		require.Equal(t, http.StatusUnauthorized, code)
	}
	code, _ := postJSON(t, url, kazawalletWebhook("ord_m1", "10.00"))
	require.Equal(t, http.StatusOK, code)

	code, metrics := get(t, srv.admin+"/metrics")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "3", sample(metrics, `payhook_webhooks_total{outcome="processed",provider="kazawallet"}`))
	assert.Equal(t, "2", sample(metrics, `payhook_webhooks_total{outcome="rejected",provider="kazawallet"}`))
	assert.Equal(t, "1", sample(metrics, `payhook_webhooks_total{outcome="duplicate",provider="kazawallet"}`))
	assert.Equal(t, "2", sample(metrics, `payhook_webhook_rejections_total{provider="kazawallet",reason="invalid_signature"}`))
	assert.NotEmpty(t, sample(metrics, "go_goroutines"), "Go's collector")
	assert.NotEmpty(t, sample(metrics, "process_start_time_seconds"), "the process's collector")
	assert.Empty(t, sample(metrics, "payhook_inbox_up"), "no inbox without PAYHOOK_FORWARD_URL")

	vars["PAYHOOK_METRICS"] = "off"
	srv = startServeAll(t, vars)
	code, _ = get(t, srv.admin+"/metrics")
	assert.Equal(t, http.StatusNotFound, code)
}

// TestServeForwards runs serve in-process as a gateway on the memory
// inbox: an event the app fails twice is forwarded three times, signed,
// under one webhook-id, and printed once the app has taken it; /metrics
// shows the inbox's entries and attempts.
func TestServeForwards(t *testing.T) {
	app := newForwardApp(t)
	app.script(func(r *http.Request, id string, n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	vars := map[string]string{"PAYHOOK_FORWARD_URL": app.srv.URL, "PAYHOOK_FORWARD_SECRET": app.secret,
		"PAYHOOK_INBOX_BACKOFF": "1ms", "PAYHOOK_FORWARD_TIMEOUT": "5s"}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	srv := startServeAll(t, vars)
	base, stdout, stderr := srv.base, srv.stdout, srv.stderr
	code, body := postJSON(t, base+"/webhooks/kazawallet", kazawalletWebhook("ord_fw", "10.00"))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "accepted\n", body, "acknowledged once in the inbox")
	app.waitFor(t, 30*time.Second, "taken", func() bool { return app.taken["kazawallet:ord_fw"] == 1 })
	stdout.waitFor(t, 10*time.Second, func(out string) bool { return strings.Contains(out, "ord_fw") })
	requests, _ := app.counts("kazawallet:ord_fw")
	assert.Equal(t, 3, requests)
	lines := readLines(t, stdout.String())
	require.Len(t, lines, 1)
	assert.JSONEq(t, app.bodies["kazawallet:ord_fw"], strings.TrimSpace(stdout.String()), "the app gets the printed record")

	// The two failed attempts were counted before the third began; the
	// third, and the entry's state, settle after the app's answer.
	_, metrics := get(t, srv.admin+"/metrics")
	assert.Equal(t, "2", sample(metrics, `payhook_inbox_attempts_total{provider="kazawallet",result="retry"}`))
	assert.Equal(t, "1", sample(metrics, "payhook_inbox_up"), "the inbox's entries are read")
	assert.NotEmpty(t, sample(metrics, `payhook_inbox_entries{provider="kazawallet",state="dead"}`))
	assert.Contains(t, stderr.String(), "forwarding processed events through the inbox")
	assert.NotContains(t, stderr.String(), app.secret)
}

// sample returns the value of the series named (with its labels) in a
// Prometheus text exposition; "" when it is not there.
func sample(exposition, series string) string {
	for _, line := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
