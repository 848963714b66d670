package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/cmd/payhook/internal/redact"
	"github.com/payhook/payhook/cmd/payhook/internal/sandbox"
)

// gatewayVars is serve's environment forwarding to target, Kazawallet
// mounted, on store.
func gatewayVars(target, secret, store string) map[string]string {
	vars := map[string]string{"PAYHOOK_FORWARD_URL": target, "PAYHOOK_FORWARD_SECRET": secret,
		"PAYHOOK_INBOX_BACKOFF": "1ms", "PAYHOOK_FORWARD_TIMEOUT": "5s", "PAYHOOK_STORE": store}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	return vars
}

// runInbox runs payhook inbox with vars, and returns its exit code and
// output.
func runInbox(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"inbox"}, args...), env(vars), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestServeForwardGoneIsDead (issue 17, §5): an application answering 410
// Gone refuses the event for good: one attempt, and the entry is dead,
// not retried 25 times.
func TestServeForwardGoneIsDead(t *testing.T) {
	app := newForwardApp(t)
	app.script(func(r *http.Request, id string, n int) int { return http.StatusGone })
	vars := gatewayVars(app.srv.URL, app.secret, "memory")
	srv := startServeAll(t, vars)
	code, _ := postJSON(t, srv.base+"/webhooks/kazawallet", kazawalletWebhook("ord_gone", "10.00"))
	require.Equal(t, http.StatusOK, code)
	srv.stderr.waitFor(t, 10*time.Second, func(s string) bool { return strings.Contains(s, "result=dead") })
	requests, _ := app.counts("kazawallet:ord_gone")
	assert.Equal(t, 1, requests)
	assert.Contains(t, srv.stderr.String(), "attempt=1 result=dead")
	assert.Equal(t, "1", sample(scrape(t, srv.admin), `payhook_inbox_attempts_total{provider="kazawallet",result="dead"}`))
	assert.Empty(t, srv.stdout.String(), "not printed: the application did not take it")
}

// TestForwardURLTokenHidden (issue 17, §5): a token in
// PAYHOOK_FORWARD_URL's query is in no log line, no error kept in the
// inbox, and no line of payhook inbox list, which also hides it in the
// errors an older payhook kept. The SQLite file and its -wal and -shm are
// its owner's only (0600).
func TestForwardURLTokenHidden(t *testing.T) {
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "payhook.db")
	target := "http://" + closedAddr(t) + "/hooks?token=hunter2"
	vars := gatewayVars(target, newForwardApp(t).secret, store)
	vars["PAYHOOK_INBOX_BACKOFF"] = "1h" // one failed attempt, then a long wait
	srv := startServeAll(t, vars)
	code, _ := postJSON(t, srv.base+"/webhooks/kazawallet", kazawalletWebhook("ord_tok", "10.00"))
	require.Equal(t, http.StatusOK, code)
	srv.stderr.waitFor(t, 10*time.Second, func(s string) bool { return strings.Contains(s, "inbox attempt failed") })

	// The attempt is logged as it fails, and its error kept just after.
	var out, errOut string
	var line map[string]any
	for deadline := time.Now().Add(10 * time.Second); line["last_error"] == nil || line["last_error"] == ""; {
		require.True(t, time.Now().Before(deadline), "no error kept: %s", out)
		var code int
		code, out, errOut = runInbox(t, vars, "list")
		require.Equal(t, 0, code, errOut)
		require.NoError(t, json.Unmarshal([]byte(out), &line), out)
	}
	assert.Contains(t, line["last_error"], "/hooks?token=xxxxx")
	assert.Equal(t, "10.00", line["amount"])
	assert.Equal(t, "USD", line["currency"])
	assert.Equal(t, "r1", line["ref"])
	for _, s := range []string{out, errOut, srv.stderr.String(), srv.stdout.String()} {
		assert.NotContains(t, s, "hunter2")
	}
	assert.Equal(t, `forward: POST http://app.example/hooks?token=xxxxx&xxxxx: dial tcp: connection refused`,
		redact.URLs(`forward: POST http://app.example/hooks?token=hunter2&hunter3: dial tcp: connection refused`),
		"an error kept by an older payhook")

	for _, name := range []string{"payhook.db", "payhook.db-wal", "payhook.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), name)
	}
}

// TestInboxDiscardAndReplayNeedForce (issue 17, §5): discarding an entry
// loses its payment for good, and replaying a done one delivers it a
// second time: payhook inbox shows the payment and does neither without
// --force. A dead entry is replayed as before.
func TestInboxDiscardAndReplayNeedForce(t *testing.T) {
	app := newForwardApp(t)
	app.script(func(r *http.Request, id string, n int) int {
		if id == "kazawallet:ord_dead" {
			return http.StatusGone
		}
		return http.StatusOK
	})
	vars := gatewayVars(app.srv.URL, app.secret, "sqlite:"+filepath.Join(t.TempDir(), "payhook.db"))
	srv := startServeAll(t, vars)
	for _, order := range []string{"ord_a", "ord_b", "ord_dead"} {
		code, _ := postJSON(t, srv.base+"/webhooks/kazawallet", kazawalletWebhook(order, "10.00"))
		require.Equal(t, http.StatusOK, code)
	}
	srv.stdout.waitFor(t, 10*time.Second, func(s string) bool { return strings.Count(s, "\n") == 2 })
	srv.stderr.waitFor(t, 10*time.Second, func(s string) bool { return strings.Contains(s, "result=dead") })

	for _, args := range [][]string{{"discard", "kazawallet:ord_a"}, {"replay", "kazawallet:ord_a"}, {"discard", "kazawallet:ord_dead"}} {
		code, out, errOut := runInbox(t, vars, args...)
		assert.Equal(t, 1, code, args)
		assert.Empty(t, out, args)
		assert.Contains(t, errOut, "without --force", args)
		assert.Contains(t, errOut, `kazawallet, key "ord_`, args)
		assert.Contains(t, errOut, `amount 10.00 USD, reference "r1"`, args)
	}
	requests, _ := app.counts("kazawallet:ord_a")
	assert.Equal(t, 1, requests, "not replayed")
	_, out, _ := runInbox(t, vars, "list")
	assert.Equal(t, 3, strings.Count(out, "\n"), "nothing discarded")

	code, out, errOut := runInbox(t, vars, "replay", "kazawallet:ord_dead")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "replayed kazawallet:ord_dead\n", out, "a dead entry needs no --force")

	code, out, errOut = runInbox(t, vars, "replay", "--force", "kazawallet:ord_a")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "replayed kazawallet:ord_a\n", out)
	app.waitFor(t, 10*time.Second, "replayed", func() bool { return app.requests["kazawallet:ord_a"] == 2 })

	code, out, errOut = runInbox(t, vars, "discard", "--force", "kazawallet:ord_b")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "discarded kazawallet:ord_b\n", out)
	_, out, _ = runInbox(t, vars, "list")
	assert.NotContains(t, out, "ord_b")

	code, _, errOut = runInbox(t, vars, "list", "--force")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "--force applies to replay and discard")
}

// TestSandboxServesLocalHostsOnly (issue 17, §5): a page of another site
// whose name resolves to 127.0.0.1 (DNS rebinding) sends its own Host:
// refused.
func TestSandboxServesLocalHostsOnly(t *testing.T) {
	base, _ := startSandbox(t, map[string]string{"KASPEROPAY_ENABLED": "1"})
	_, port, _ := strings.Cut(strings.TrimPrefix(base, "http://"), ":")
	for host, want := range map[string]int{
		"evil.example:" + port:     http.StatusForbidden,
		"evil.example":             http.StatusForbidden,
		"127.0.0.1.nip.io:" + port: http.StatusForbidden,
		"localhost:" + port:        http.StatusOK,
		"LOCALHOST.:" + port:       http.StatusOK,
		"127.0.0.1:" + port:        http.StatusOK,
		"[::1]:" + port:            http.StatusOK,
	} {
		r, err := http.NewRequest(http.MethodGet, base+"/", nil)
		require.NoError(t, err)
		r.Host = host
		res, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, want, res.StatusCode, host)
	}
	assert.True(t, localHost("192.168.1.5:8090", "192.168.1.5"), "the host of --addr")
	assert.True(t, localHost("devbox:8090", "devbox"))
	assert.False(t, localHost("devbox:8090", "0.0.0.0"), "all interfaces name no host")
	assert.False(t, localHost("devbox:8090", ""))
}

// TestServeWarnsOfSandboxWebhooks (issue 17, §5): the sandbox signs with
// the merchant's own credentials; its mark is what tells its webhooks from
// real ones, and serve warns of each.
func TestServeWarnsOfSandboxWebhooks(t *testing.T) {
	vars := map[string]string{}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	base, _, stderr := startServe(t, vars)
	code, _ := postJSON(t, base+"/webhooks/kazawallet", kazawalletWebhook("ord_real", "10.00"))
	require.Equal(t, http.StatusOK, code)
	assert.NotContains(t, stderr.String(), "payhook sandbox")

	r, err := http.NewRequest(http.MethodPost, base+"/webhooks/kazawallet", strings.NewReader(kazawalletWebhook("ord_sb", "10.00")))
	require.NoError(t, err)
	r.Header.Set(sandbox.Header, "1")
	res, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, stderr.String(), `level=WARN msg="payhook: a webhook from payhook sandbox`)
	assert.Contains(t, stderr.String(), "path=/webhooks/kazawallet")
}

// TestServeSandboxWarningNeedsAVerifiedWebhook: the mark is a header that
// anyone can send; a forged delivery carrying it, refused, must not
// tell the operator that the sandbox holds the credentials (nor fill the
// log with that warning, one line per junk request).
func TestServeSandboxWarningNeedsAVerifiedWebhook(t *testing.T) {
	vars := map[string]string{}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	base, _, stderr := startServe(t, vars)
	r, err := http.NewRequest(http.MethodPost, base+"/webhooks/kazawallet", strings.NewReader(`{"order_id":"forged"}`))
	require.NoError(t, err)
	r.Header.Set(sandbox.Header, "1")
	res, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	res.Body.Close()
	require.GreaterOrEqual(t, res.StatusCode, 400, "refused")
	assert.NotContains(t, stderr.String(), "payhook sandbox")
}
