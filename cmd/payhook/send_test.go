package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// runSend runs "payhook send args..." with vars as the environment.
func runSend(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"send"}, args...), env(vars), &out, &errOut)
	return code, out.String(), errOut.String()
}

// answers returns the status codes printed for each attempt.
func answers(stdout string) []string {
	var codes []string
	for _, m := range regexp.MustCompile(`(?m)^#\d+(?: retry \d+ after \S+)?: (\d{3}|no answer)`).FindAllStringSubmatch(stdout, -1) {
		codes = append(codes, m[1])
	}
	return codes
}

func with(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestSendKazawalletToServe(t *testing.T) {
	vars := with(kazawalletEnv)
	base, serveOut, _ := startServe(t, maps.Clone(vars))
	url := base + "/webhooks/kazawallet"

	code, out, errOut := runSend(t, vars, "--url", url, "--order-id", "ord_1", "--amount", "25.50", "--ref", "order-42", "kazawallet")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, []string{"200"}, answers(out), out)
	assert.Contains(t, out, "#1: 200 OK: ok\n")
	assert.Contains(t, out, "1 sent: 1 acknowledged (2xx), 0 not\n")
	recs := readLines(t, serveOut.String())
	require.Len(t, recs, 1)
	ev := recs[0].Event
	assert.Equal(t, "ord_1", recs[0].Key)
	assert.Equal(t, "25.50", ev["amount"])
	assert.Equal(t, "order-42", ev["ref"])
	assert.Equal(t, "fulfilled", ev["status"])
	assert.Equal(t, "USD", ev["currency"])

	t.Run("repeat: one event, three 2xx", func(t *testing.T) {
		code, out, _ := runSend(t, vars, "--url", url, "--order-id", "ord_2", "--repeat", "3", "kazawallet")
		assert.Equal(t, 0, code)
		assert.Equal(t, []string{"200", "200", "200"}, answers(out), out)
		assert.Equal(t, 2, strings.Count(out, ": 200 OK: already processed"))
		assert.Contains(t, out, "3 sent: 3 acknowledged (2xx), 0 not")
		assert.Len(t, readLines(t, serveOut.String()), 2)
	})
	t.Run("forged: 401 and exit 1", func(t *testing.T) {
		code, out, errOut := runSend(t, vars, "--url", url, "--forge", "kazawallet")
		assert.Equal(t, 1, code)
		assert.Equal(t, []string{"401"}, answers(out), out)
		assert.Contains(t, errOut, "not acknowledged")
		assert.Len(t, readLines(t, serveOut.String()), 2)
	})
	t.Run("form-encoded, timed out, flags after the provider", func(t *testing.T) {
		code, out, _ := runSend(t, vars, "kazawallet", "--url", url, "--form", "--status", "timed_out", "--order-id", "ord_3")
		assert.Equal(t, 0, code, out)
		recs := readLines(t, serveOut.String())
		require.Len(t, recs, 3)
		assert.Equal(t, "timed_out", recs[2].Event["status"])
	})
}

func TestSendDefaultURLFollowsPayhookAddr(t *testing.T) {
	base, serveOut, _ := startServe(t, with(kazawalletEnv))
	addr := strings.TrimPrefix(base, "http://")
	_, port, _ := strings.Cut(addr, ":")
	code, out, errOut := runSend(t, with(kazawalletEnv, "PAYHOOK_ADDR", ":"+port), "kazawallet")
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "POST http://localhost:"+port+"/webhooks/kazawallet\n")
	assert.Len(t, readLines(t, serveOut.String()), 1)
}

func TestDefaultURL(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"", "http://localhost:8080/webhooks/kkiapay"},
		{":9090", "http://localhost:9090/webhooks/kkiapay"},
		{"0.0.0.0:9090", "http://localhost:9090/webhooks/kkiapay"},
		{"[::]:9090", "http://localhost:9090/webhooks/kkiapay"},
		{"127.0.0.1:9090", "http://127.0.0.1:9090/webhooks/kkiapay"},
		{"[::1]:9090", "http://[::1]:9090/webhooks/kkiapay"},
		{"shop.internal:80", "http://shop.internal:80/webhooks/kkiapay"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) { assert.Equal(t, tt.want, defaultURL(tt.addr, "kkiapay")) })
	}
}

func TestSendKKiaPayToServe(t *testing.T) {
	api := kkiapaytest.NewAPI(t)
	vars := map[string]string{"KKIAPAY_WEBHOOK_SECRET": "new_secret,old_secret"}
	serveVars := with(vars, "KKIAPAY_PUBLIC_KEY", kkiapaytest.PublicKey, "KKIAPAY_PRIVATE_KEY", kkiapaytest.PrivateKey,
		"KKIAPAY_SECRET_KEY", kkiapaytest.SecretKey, "KKIAPAY_API_URL", api.URL())
	base, serveOut, _ := startServe(t, serveVars)
	url := base + "/webhooks/kkiapay"
	for _, id := range []string{"tx_ok", "tx_failed", "tx_dup"} { // each for 1000
		e := kkiapay.Event{TransactionID: id, Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount("1000")}
		if id == "tx_failed" {
			e.Type = kkiapay.TransactionFailed
		}
		api.Confirm(e)
	}

	code, out, errOut := runSend(t, vars, "--url", url, "--transaction-id", "tx_ok", "kkiapay")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, []string{"200"}, answers(out), out)

	code, out, _ = runSend(t, vars, "--url", url, "--transaction-id", "tx_failed", "--event", "failed", "kkiapay")
	assert.Equal(t, 0, code, out)
	recs := readLines(t, serveOut.String())
	require.Len(t, recs, 2)
	assert.Equal(t, "tx_failed", recs[1].Key)
	assert.Equal(t, "transaction.failed", recs[1].Event["event"])
	assert.Equal(t, "processing_error", recs[1].Event["failureCode"])

	code, out, _ = runSend(t, vars, "--url", url, "--transaction-id", "tx_ok", "--amount", "999", "kkiapay")
	assert.Equal(t, 0, code, "tx_ok was processed already: a duplicate is acknowledged, whatever its body")
	assert.Contains(t, out, "#1: 200 OK: already processed\n")

	code, out, _ = runSend(t, vars, "--url", url, "--transaction-id", "tx_dup", "--amount", "999", "kkiapay")
	assert.Equal(t, 1, code, "the status API disagrees with the amount")
	assert.Equal(t, []string{"401"}, answers(out), out)

	code, out, _ = runSend(t, vars, "--url", url, "--transaction-id", "tx_unknown", "kkiapay")
	assert.Equal(t, 1, code)
	assert.Equal(t, []string{"401"}, answers(out), "a transaction the API does not know\n%s", out)

	code, out, _ = runSend(t, vars, "--url", url, "--forge", "kkiapay")
	assert.Equal(t, 1, code)
	assert.Equal(t, []string{"401"}, answers(out), out)

	t.Run("concurrent copies, retried as KKiaPay does", func(t *testing.T) {
		code, out, _ := runSend(t, vars, "--url", url, "--transaction-id", "tx_dup", "--concurrency", "4", "--retry", "kkiapay")
		assert.Equal(t, 0, code, out)
		assert.Contains(t, out, "4 sent: 4 acknowledged (2xx), 0 not")
		assert.Equal(t, 1, strings.Count(out, ": 200 OK: ok"), "one copy is processed\n%s", out)
		assert.Len(t, readLines(t, serveOut.String()), 3)
	})
}

func TestSendKasperoPayToServe(t *testing.T) {
	api := kasperopaytest.NewAPI(t)
	pay := func(id, amount string) {
		api.Confirm(kasperopay.Event{PaymentID: id, AmountKAS: payhook.MustAmount(amount), TransactionID: "tx_" + id})
	}
	pay("pay_1", "150.5")
	pay("pay_2", "12")
	for _, secret := range []string{"", "whsec_test"} {
		t.Run("secret "+secret, func(t *testing.T) {
			serveVars := map[string]string{"KASPEROPAY_ENABLED": "1", "KASPEROPAY_API_URL": api.URL(), "KASPEROPAY_WEBHOOK_SECRET": secret}
			base, serveOut, _ := startServe(t, serveVars)
			url := base + "/webhooks/kasperopay"
			vars := map[string]string{"KASPEROPAY_WEBHOOK_SECRET": secret}

			code, out, errOut := runSend(t, vars, "--url", url, "--payment-id", "pay_1", "--transaction-id", "tx_pay_1", "kasperopay")
			assert.Equal(t, 0, code, errOut)
			assert.Equal(t, []string{"200"}, answers(out), out)
			code, out, _ = runSend(t, vars, "--url", url, "--payment-id", "pay_2", "--transaction-id", "tx_pay_2", "--amount", "12",
				"--amount-usd", "1.20", "--order-id", "ord_9", "--repeat", "3", "kasperopay")
			assert.Equal(t, 0, code, out)
			assert.Equal(t, []string{"200", "200", "200"}, answers(out), out)
			recs := readLines(t, serveOut.String())
			require.Len(t, recs, 2)
			ev := recs[1].Event
			assert.Equal(t, "pay_2", recs[1].Key)
			assert.Equal(t, "ord_9", ev["order_id"])
			assert.Equal(t, "1.20", ev["amount_usd"])
			assert.Equal(t, secret != "", ev["signed"])

			code, out, _ = runSend(t, vars, "--url", url, "--payment-id", "pay_unknown", "kasperopay")
			assert.Equal(t, 1, code)
			assert.Equal(t, []string{"401"}, answers(out), out)
			if secret != "" {
				pay("pay_3", "150.5")
				code, out, _ = runSend(t, vars, "--url", url, "--payment-id", "pay_3", "--transaction-id", "tx_pay_3", "--forge", "kasperopay")
				assert.Equal(t, 1, code)
				assert.Equal(t, []string{"401"}, answers(out), out)
			}
		})
	}
}

func TestSendRetry(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	}))
	t.Cleanup(srv.Close)
	vars := map[string]string{"KKIAPAY_WEBHOOK_SECRET": "s"}

	code, out, _ := runSend(t, vars, "--url", srv.URL, "kkiapay")
	assert.Equal(t, 1, code, "without --retry, one attempt")
	assert.Equal(t, []string{"503"}, answers(out), out)

	calls.Store(0)
	start := time.Now()
	code, out, errOut := runSend(t, vars, "--url", srv.URL, "--retry", "kkiapay")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, []string{"503", "503", "200"}, answers(out), out)
	assert.Contains(t, out, "#1 retry 1 after 500ms: 503 Service Unavailable: try again\n")
	assert.Contains(t, out, "#1 retry 2 after 1s: 200 OK: ok\n")
	assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond, "--retry waits for real")

	calls.Store(0)
	code, out, _ = runSend(t, with(kazawalletEnv), "--url", srv.URL, "--retry", "kazawallet")
	assert.Equal(t, 1, code)
	assert.Equal(t, []string{"503"}, answers(out), "Kazawallet never retries\n%s", out)
}

func TestSendNoAnswer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	code, out, errOut := runSend(t, with(kazawalletEnv), "--url", url, "kazawallet")
	assert.Equal(t, 1, code)
	assert.Equal(t, []string{"no answer"}, answers(out), out)
	assert.Contains(t, errOut, "not acknowledged")
}

func TestSendPrint(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		provider string
		args     []string
		handler  func(t *testing.T) http.Handler
	}{
		{"kazawallet", with(kazawalletEnv), "kazawallet", []string{"--ref", "it's \"quoted\" $HOME `x`"}, func(t *testing.T) http.Handler {
			p, err := kazawallet.New("test_api_key", "test_api_secret")
			require.NoError(t, err)
			return payhook.Handle(p, func(ctx context.Context, e kazawallet.Event) error {
				assert.Equal(t, "it's \"quoted\" $HOME `x`", e.Ref, "the shell passed the body unchanged")
				return nil
			})
		}},
		{"kazawallet form", with(kazawalletEnv), "kazawallet", []string{"--form", "--ref", "a&b='c'"}, func(t *testing.T) http.Handler {
			p, err := kazawallet.New("test_api_key", "test_api_secret")
			require.NoError(t, err)
			return payhook.Handle(p, func(ctx context.Context, e kazawallet.Event) error {
				assert.Equal(t, "a&b='c'", e.Ref)
				return nil
			})
		}},
		{"kkiapay", map[string]string{"KKIAPAY_WEBHOOK_SECRET": "it's-a-secret"}, "kkiapay", nil, func(t *testing.T) http.Handler {
			p, err := kkiapay.New("it's-a-secret")
			require.NoError(t, err)
			return payhook.Handle(p, func(ctx context.Context, e kkiapay.Event) error { return nil })
		}},
		{"kasperopay signed", map[string]string{"KASPEROPAY_WEBHOOK_SECRET": "whsec"}, "kasperopay", nil, func(t *testing.T) http.Handler {
			p, err := kasperopay.New(kasperopay.WithSecrets("whsec"), kasperopay.WithoutConfirmation())
			require.NoError(t, err)
			return payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error { return nil })
		}},
	}
	_, curlErr := exec.LookPath("curl")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler(t))
			t.Cleanup(srv.Close)
			code, out, errOut := runSend(t, tt.vars, append([]string{"--print", "--url", srv.URL + "/webhooks/x", tt.provider}, tt.args...)...)
			require.Equal(t, 0, code, errOut)
			assert.True(t, strings.HasPrefix(out, "curl -sS -i -X POST '"+srv.URL+"/webhooks/x' -H 'Content-Type: "), out)
			assert.Equal(t, 1, strings.Count(out, "\n"), "one line")
			if curlErr != nil {
				t.Skip("curl is not installed: the printed command is not run")
			}
			cmd := exec.Command("sh", "-c", out)
			cmd.Env = os.Environ()
			for k, v := range tt.vars { // the command reads credentials from serve's variables
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			res, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", res)
			assert.True(t, strings.HasPrefix(string(res), "HTTP/1.1 200 OK"), "%s", res)
			assert.True(t, strings.HasSuffix(string(res), "\r\n\r\nok\n"), "%s", res)
		})
	}
}

func TestSendRefuses(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"no provider", nil, nil, "which provider?"},
		{"unknown provider", nil, []string{"stripe"}, `unknown provider "stripe"`},
		{"two providers", kazawalletEnv, []string{"kazawallet", "kkiapay"}, "one provider at a time"},
		{"kazawallet without secrets", nil, []string{"kazawallet"}, "KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET"},
		{"kazawallet with a key only", map[string]string{"KAZAWALLET_API_KEY": "k"}, []string{"kazawallet"}, "KAZAWALLET_API_SECRET"},
		{"kkiapay without a secret", map[string]string{"KKIAPAY_WEBHOOK_SECRET": " , "}, []string{"kkiapay"}, "KKIAPAY_WEBHOOK_SECRET"},
		{"kasperopay forged without a secret", nil, []string{"--forge", "kasperopay"}, "needs KASPEROPAY_WEBHOOK_SECRET"},
		{"a flag of another provider", kazawalletEnv, []string{"--payment-id", "p", "kazawallet"}, "--payment-id does not apply to kazawallet"},
		{"print with repeat", kazawalletEnv, []string{"--print", "--repeat", "2", "kazawallet"}, "--repeat does not apply with --print"},
		{"zero copies", kazawalletEnv, []string{"--repeat", "0", "kazawallet"}, "at least 1"},
		{"bad amount", kazawalletEnv, []string{"--amount", "ten", "kazawallet"}, `amount "ten" is not a decimal number`},
		{"bad URL", kazawalletEnv, []string{"--url", "localhost:8080", "kazawallet"}, "not an http(s) URL"},
		{"unknown flag", kazawalletEnv, []string{"--colour", "kazawallet"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runSend(t, maps.Clone(tt.vars), tt.args...)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut, tt.want)
			assert.Empty(t, out, "nothing was sent")
			assert.NotContains(t, errOut, "test_api_secret")
		})
	}
}

func TestSendHelp(t *testing.T) {
	code, _, errOut := runSend(t, nil, "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut, "usage: payhook send")
	assert.Contains(t, errOut, "-concurrency")

	var out bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"help"}, env(nil), &out, io.Discard))
	assert.Contains(t, out.String(), "send ")
}

// TestSendHidesURLPassword: a --url with a password (a receiver behind
// basic auth) is sent with it, and printed without it.
func TestSendHidesURLPassword(t *testing.T) {
	var gotPassword atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pw, _ := r.BasicAuth()
		gotPassword.Store(pw)
	}))
	t.Cleanup(srv.Close)
	withPassword := strings.Replace(srv.URL, "://", "://hook:"+password+"@", 1)

	code, out, errOut := runSend(t, with(kazawalletEnv), "--url", withPassword+"/webhooks/kazawallet", "kazawallet")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, password, gotPassword.Load(), "the request carries the password")
	assert.Contains(t, out, "POST "+strings.Replace(srv.URL, "://", "://hook:xxxxx@", 1)+"/webhooks/kazawallet\n")
	assert.NotContains(t, out+errOut, password)

	code, out, errOut = runSend(t, with(kazawalletEnv), "--url", "htp:/hook:"+password+"@example.com", "kazawallet")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "not an http(s) URL")
	assert.NotContains(t, out+errOut, password)
}
