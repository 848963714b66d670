package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// startSandbox runs payhook sandbox in-process on a free port until the
// test ends, and returns its base URL and stdout.
func startSandbox(t *testing.T, vars map[string]string, args ...string) (base string, stdout *syncBuffer) {
	t.Helper()
	base, stdout, _ = startInProcess(t, func(ctx context.Context, stdout, stderr io.Writer, ready chan<- string) error {
		return sandboxWith(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), env(vars), stdout, stderr, ready)
	})
	return base, stdout
}

var sandboxEnv = map[string]string{
	"KAZAWALLET_API_KEY": "test_api_key", "KAZAWALLET_API_SECRET": "test_api_secret",
	"KKIAPAY_WEBHOOK_SECRET": "hash_secret, old_secret", "KKIAPAY_PUBLIC_KEY": "pk_test",
	"KKIAPAY_PRIVATE_KEY": "tpk_test", "KKIAPAY_SECRET_KEY": "tsk_test",
	"KASPEROPAY_ENABLED": "1",
}

// pressButton posts a checkout button, as the page's form does, and
// returns the status of the page it lands on.
func pressButton(t *testing.T, checkout, action string) int {
	t.Helper()
	res, err := http.PostForm(checkout, url.Values{"action": {action}})
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

// TestSandboxToServe runs payhook serve and payhook sandbox together, as
// docs/sandbox.md tells: a Kazawallet link made with kazawallet.Client and
// paid, a KKiaPay transaction confirmed with the sandbox's status API, a
// KasperoPay payment likewise; serve prints the three events.
func TestSandboxToServe(t *testing.T) {
	// The sandbox's address is known once it listens; serve's routes
	// once serve does. Start serve first, pointing at a sandbox address
	// reserved by a first listen.
	vars := maps.Clone(sandboxEnv)
	sandboxAddr := closedAddr(t)
	vars["KKIAPAY_API_URL"] = "http://" + sandboxAddr
	vars["KASPEROPAY_API_URL"] = "http://" + sandboxAddr
	serveBase, serveOut, serveErr := startServe(t, maps.Clone(vars))
	vars["PAYHOOK_ADDR"] = strings.TrimPrefix(serveBase, "http://")
	base, out := startSandbox(t, vars, "--addr", sandboxAddr)
	assert.Contains(t, out.String(), "Kazawallet: webhooks to "+serveBase+"/webhooks/kazawallet")
	assert.Contains(t, out.String(), "KasperoPay: webhooks to "+serveBase+"/webhooks/kasperopay")

	cl, err := kazawallet.NewClient("test_api_key", kazawallet.WithBaseURL(base+"/wallet"))
	require.NoError(t, err)
	link, err := cl.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{
		Amount: payhook.MustAmount("10.00"), Currency: "USD", Ref: "order-1"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, pressButton(t, link.URL, "pay"))

	res, err := http.PostForm(base+"/checkout/kkiapay", url.Values{"amount": {"1000"}, "method": {"MOBILE_MONEY"}})
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, pressButton(t, res.Request.URL.String(), "succeed"))

	res, err = http.PostForm(base+"/checkout/kasperopay", url.Values{"amount": {"25.5"}})
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, pressButton(t, res.Request.URL.String(), "pay"))

	// The webhooks are delivered in the background: wait for serve to
	// print the three events.
	serveOut.waitFor(t, 10*time.Second, func(out string) bool { return strings.Count(out, "\n") >= 3 })
	lines := readLines(t, serveOut.String())
	require.Len(t, lines, 3, serveErr.String())
	// The warning is logged once the webhook is acknowledged, after the
	// event is printed: wait for it too.
	serveErr.waitFor(t, 10*time.Second, func(out string) bool { return strings.Count(out, "a webhook from payhook sandbox") >= 3 })
	assert.Equal(t, 3, strings.Count(serveErr.String(), "a webhook from payhook sandbox"),
		"serve warns of each webhook the sandbox marked (issue 17, §5)")
	byProvider := map[string]map[string]any{}
	for _, l := range lines {
		byProvider[l.Provider] = l.Event
	}
	assert.Equal(t, "order-1", byProvider[kazawallet.Name]["ref"])
	assert.Equal(t, "fulfilled", byProvider[kazawallet.Name]["status"])
	require.Contains(t, byProvider[kkiapay.Name], "confirmation", "serve confirmed with the sandbox's status API")
	assert.Equal(t, "SUCCESS", byProvider[kkiapay.Name]["confirmation"].(map[string]any)["status"])
	require.Contains(t, byProvider[kasperopay.Name], "confirmation")
	assert.Equal(t, "completed", byProvider[kasperopay.Name]["confirmation"].(map[string]any)["status"])
}

func TestSandboxRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"no provider", map[string]string{}, nil, "no provider configured"},
		{"kasperopay off", map[string]string{"KASPEROPAY_ENABLED": "0"}, nil, "no provider configured"},
		{"kasperopay enabled how", map[string]string{"KASPEROPAY_ENABLED": "yes please"}, nil, `KASPEROPAY_ENABLED="yes please"`},
		{"kazawallet half", map[string]string{"KAZAWALLET_API_KEY": "k"}, nil, "both the API key and the API secret"},
		{"kkiapay empty list", map[string]string{"KKIAPAY_WEBHOOK_SECRET": " ,x"}, nil, "KKIAPAY_WEBHOOK_SECRET: holds an empty value"},
		{"webhook not a URL", map[string]string{"KASPEROPAY_ENABLED": "1"}, []string{"--kasperopay-webhook", "localhost:8080"}, "not an http(s) URL"},
		{"arguments", map[string]string{"KASPEROPAY_ENABLED": "1"}, []string{"kazawallet"}, "flags only"},
		{"unknown flag", map[string]string{"KASPEROPAY_ENABLED": "1"}, []string{"--port", "1"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"sandbox"}, tc.args...), env(tc.vars), &out, &errOut)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut.String(), tc.want)
		})
	}
}

func TestSandboxAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"sandbox", "--addr", ln.Addr().String()}, env(map[string]string{"KASPEROPAY_ENABLED": "1"}), &out, &errOut)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "address already in use")
}

func TestSandboxHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"sandbox", "-h"}, env(nil), &out, &errOut))
	for _, s := range []string{"usage: payhook sandbox", "-addr", "127.0.0.1:8090", "-kazawallet-webhook", "-kkiapay-webhook",
		"-kasperopay-webhook", "KAZAWALLET_API_KEY", "KKIAPAY_WEBHOOK_SECRET", "KASPEROPAY_ENABLED"} {
		assert.Contains(t, errOut.String(), s)
	}
	out.Reset()
	assert.Equal(t, 0, run(context.Background(), []string{"help"}, env(nil), &out, &errOut))
	assert.Contains(t, out.String(), "sandbox")
}

func TestSandboxDefaultWebhooksFollowPayhookAddr(t *testing.T) {
	_, out := startSandbox(t, map[string]string{"KASPEROPAY_ENABLED": "1", "PAYHOOK_ADDR": ":9999"})
	assert.Contains(t, out.String(), "KasperoPay: webhooks to http://localhost:9999/webhooks/kasperopay")
	assert.Contains(t, out.String(), "Kazawallet: off (set KAZAWALLET_API_KEY")
	_, out = startSandbox(t, map[string]string{"KASPEROPAY_WEBHOOK_SECRET": "s"}, "--kasperopay-webhook", "http://app.test/hooks/kp")
	assert.Contains(t, out.String(), "KasperoPay: webhooks to http://app.test/hooks/kp")
}
