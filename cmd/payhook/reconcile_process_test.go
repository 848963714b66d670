//go:build unix

package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/cmd/payhook/internal/sandbox"
	"github.com/payhook/payhook/providers/kazawallet"
)

// The proofs of issue 19's second door in payhook serve, with real
// processes: the payhook binary, the sandbox (the code of payhook sandbox,
// in the test process so that it counts the calls of its status APIs) and
// an application to forward to. PAYHOOK_RECONCILE_BACKOFF=200ms keeps the
// polls quick; nothing waits but for a condition, with a deadline.

// sandboxRig is payhook sandbox with its three providers on, delivering
// webhooks to serve's routes at webhookAddr (at once: a KKiaPay retry
// does not wait), and counting the calls of its status APIs per payment.
type sandboxRig struct {
	sb  *sandbox.Sandbox
	srv *httptest.Server

	mu     sync.Mutex
	status map[string]int // status API calls by payment id
}

func newSandboxRig(t *testing.T, webhookAddr string) *sandboxRig {
	t.Helper()
	hook := func(name string) string { return "http://" + webhookAddr + "/webhooks/" + name }
	sb, err := sandbox.New(sandbox.Config{
		Kazawallet: sandbox.KazawalletConfig{APIKey: "test_api_key", APISecret: "test_api_secret", Webhook: hook("kazawallet")},
		KKiaPay: sandbox.KKiaPayConfig{HashSecret: "hash_secret", PublicKey: "pk_test", PrivateKey: "tpk_test", SecretKey: "tsk_test",
			Webhook: hook("kkiapay")},
		KasperoPay: sandbox.KasperoPayConfig{On: true, Webhook: hook("kasperopay")},
		Sleep:      func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	})
	require.NoError(t, err)
	rig := &sandboxRig{sb: sb, status: map[string]int{}}
	rig.srv = httptest.NewServer(http.HandlerFunc(rig.serveHTTP))
	t.Cleanup(func() {
		rig.srv.Close()
		sb.Close()
	})
	return rig
}

func (rig *sandboxRig) serveHTTP(w http.ResponseWriter, r *http.Request) {
	id := ""
	switch {
	case r.URL.Path == "/api/v1/transactions/status":
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var in struct{ TransactionID string }
		json.Unmarshal(body, &in)
		id = in.TransactionID
	case strings.HasPrefix(r.URL.Path, "/pay/status/"):
		id = strings.TrimPrefix(r.URL.Path, "/pay/status/")
	}
	if id != "" {
		rig.mu.Lock()
		rig.status[id]++
		rig.mu.Unlock()
	}
	rig.sb.ServeHTTP(w, r)
}

// statusCalls returns how many times the status API was asked about id.
func (rig *sandboxRig) statusCalls(id string) int {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return rig.status[id]
}

// serveEnv is serve's environment for the three providers of the rig,
// confirming and polling with its status APIs.
func (rig *sandboxRig) serveEnv(addr, store string, extra ...string) []string {
	return append([]string{
		"PAYHOOK_ADDR=" + addr, "PAYHOOK_ADMIN_ADDR=127.0.0.1:0", "PAYHOOK_STORE=" + store, "PAYHOOK_RATE_LIMIT=off", "PAYHOOK_RECONCILE_BACKOFF=200ms",
		"KAZAWALLET_API_KEY=test_api_key", "KAZAWALLET_API_SECRET=test_api_secret",
		"KKIAPAY_WEBHOOK_SECRET=hash_secret", "KKIAPAY_PUBLIC_KEY=pk_test", "KKIAPAY_PRIVATE_KEY=tpk_test", "KKIAPAY_SECRET_KEY=tsk_test",
		"KKIAPAY_API_URL=" + rig.srv.URL, "KASPEROPAY_ENABLED=1", "KASPEROPAY_API_URL=" + rig.srv.URL,
	}, extra...)
}

// start opens a payment of provider at the sandbox's checkout with form,
// and returns its id and checkout page.
func (rig *sandboxRig) start(t *testing.T, provider string, form url.Values) (id, checkout string) {
	t.Helper()
	res, err := http.PostForm(rig.srv.URL+"/checkout/"+provider, form)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	checkout = res.Request.URL.String()
	return checkout[strings.LastIndex(checkout, "/")+1:], checkout
}

// page returns the text of a sandbox page.
func page(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

// waitPage polls a sandbox page until it holds every one of want.
func waitPage(t *testing.T, u string, timeout time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p := page(t, u)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(p, w)
		}
		if ok {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not show %q within %s:\n%s", u, want, timeout, p)
		}
		time.Sleep(50 * time.Millisecond) // the sandbox delivers in the background: polled
	}
}

var deliveryID = regexp.MustCompile(`id="delivery-(\d+)"`)

// resend presses the Resend button of the first delivery on a checkout page.
func resend(t *testing.T, base, checkout string) {
	t.Helper()
	m := deliveryID.FindStringSubmatch(page(t, checkout))
	require.NotNil(t, m, "a delivery on %s", checkout)
	res, err := http.PostForm(base+"/deliveries/"+m[1]+"/resend", url.Values{"back": {"/payments"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// expectCLI runs payhook expect args on store, and returns its stdout.
func expectCLI(t *testing.T, bin, store string, args ...string) string {
	t.Helper()
	out, err := runCLI(bin, store, "expect", args...)
	require.NoError(t, err, "payhook expect %s: %s", strings.Join(args, " "), out)
	return out
}

// expectations decodes payhook expect list's lines, by id (or ref).
func expectations(t *testing.T, bin, store string, args ...string) map[string]expectationLine {
	t.Helper()
	xs := map[string]expectationLine{}
	for _, l := range strings.Split(strings.TrimSpace(expectCLI(t, bin, store, append([]string{"list"}, args...)...)), "\n") {
		if l == "" {
			continue
		}
		var x expectationLine
		require.NoError(t, json.Unmarshal([]byte(l), &x), l)
		xs[cmp.Or(x.ID, x.Ref)] = x
	}
	return xs
}

// waitExpectations polls payhook expect list until cond holds.
func waitExpectations(t *testing.T, bin, store string, timeout time.Duration, what string, cond func(map[string]expectationLine) bool, args ...string) map[string]expectationLine {
	t.Helper()
	return pollUntil(t, timeout, what, "payhook expect list", func() map[string]expectationLine { return expectations(t, bin, store, args...) }, cond)
}

// adminAddr is the address of p's admin listener, from its start-up line.
func adminAddr(t *testing.T, p *process) string {
	t.Helper()
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, "payhook admin: listening") {
			_, a, _ := strings.Cut(line, "addr=")
			a, _, _ = strings.Cut(a, " ")
			return a
		}
	}
	t.Fatalf("no admin listener in:\n%s", p.stderr.String())
	return ""
}

// TestReconcileWhileServeWasDown is issue 19's first proof: with serve
// stopped, a KKiaPay payment succeeds (all six attempts of its webhook
// fail) and a KasperoPay payment is paid (its one webhook fails). Started
// again, serve finds both through the status APIs and prints them (and,
// forwarding, forwards them) once, without anyone resending; a Resend
// from the sandbox afterwards is "already processed".
func TestReconcileWhileServeWasDown(t *testing.T) {
	bin := buildPayhook(t)
	for _, forwarding := range []bool{false, true} {
		t.Run(map[bool]string{false: "print", true: "forward"}[forwarding], func(t *testing.T) {
			t.Parallel()
			addr, dir := closedAddr(t), t.TempDir()
			store := "sqlite:" + filepath.Join(dir, "payhook.db")
			rig := newSandboxRig(t, addr)
			var app *forwardApp
			var extra []string
			if forwarding {
				app = newForwardApp(t)
				extra = []string{"PAYHOOK_FORWARD_URL=" + app.srv.URL, "PAYHOOK_FORWARD_SECRET=" + app.secret, "PAYHOOK_INBOX_BACKOFF=20ms", "PAYHOOK_FORWARD_TIMEOUT=2s"}
			}

			// The payments start while serve runs: the app expects them.
			first, _ := startBinary(t, bin, dir, rig.serveEnv(addr, store, extra...)...)
			tx, kkCheckout := rig.start(t, "kkiapay", url.Values{"amount": {"1000"}, "method": {"MOBILE_MONEY"}, "partnerId": {"order_kk"}})
			pay, kpCheckout := rig.start(t, "kasperopay", url.Values{"amount": {"25.5"}, "order_id": {"order_kp"}})
			expectCLI(t, bin, store, "add", "kkiapay", "--id", tx, "--ref", "order_kk", "--amount", "1000", "--currency", "XOF", "--deadline", "1h")
			expectCLI(t, bin, store, "add", "kasperopay", "--id", pay, "--ref", "order_kp", "--amount", "25.5", "--currency", "KAS", "--deadline", "1h")
			require.Nil(t, first.stop(t, syscall.SIGTERM), "a graceful shutdown")
			assert.Empty(t, first.stdout.String(), "nothing paid yet")

			// Paid while serve is down: every webhook attempt fails.
			assert.Equal(t, http.StatusOK, pressButton(t, kkCheckout, "succeed"))
			assert.Equal(t, http.StatusOK, pressButton(t, kpCheckout, "pay"))
			waitPage(t, kkCheckout, 10*time.Second, "Not acknowledged after 6 attempts")
			waitPage(t, kpCheckout, 10*time.Second, "Not acknowledged: KasperoPay sends each webhook once")

			second, _ := startBinary(t, bin, dir, rig.serveEnv(addr, store, extra...)...)
			second.stdout.waitFor(t, 20*time.Second, func(out string) bool { return strings.Count(out, "\n") >= 2 })
			if forwarding {
				app.waitFor(t, 20*time.Second, "both events taken", func() bool {
					return app.taken["kkiapay:"+tx] == 1 && app.taken["kasperopay:"+pay] == 1
				})
			}
			settled := waitExpectations(t, bin, store, 10*time.Second, "both settled", func(xs map[string]expectationLine) bool {
				return xs[tx].State == "settled" && xs[pay].State == "settled"
			})
			assert.Equal(t, tx, settled[tx].PaymentID)
			assert.Equal(t, "paid", settled[pay].Outcome)

			// The webhooks again, by hand: already processed.
			resend(t, rig.srv.URL, kkCheckout)
			resend(t, rig.srv.URL, kpCheckout)
			waitPage(t, kkCheckout, 10*time.Second, "Acknowledged on attempt 1", "already processed")
			waitPage(t, kpCheckout, 10*time.Second, "Acknowledged on attempt 1", "already processed")
			require.Nil(t, second.stop(t, syscall.SIGTERM), "a graceful shutdown")

			lines := readLines(t, second.stdout.String())
			require.Len(t, lines, 2, "each payment printed once: %s", second.stderr.String())
			byKey := map[string]printedLine{}
			for _, l := range lines {
				byKey[l.Provider+":"+l.Key] = l
			}
			assert.Contains(t, byKey, "kkiapay:"+tx)
			assert.Contains(t, byKey, "kasperopay:"+pay)
			assert.Contains(t, second.stdout.String(), `"expectation":{"id":"`+tx+`","ref":"order_kk","amount":"1000","currency":"XOF"}`)
			if forwarding {
				app.mu.Lock()
				defer app.mu.Unlock()
				assert.Equal(t, map[string]int{"kkiapay:" + tx: 1, "kasperopay:" + pay: 1}, app.requests, "forwarded once each, under webhook-id provider:key")
			}
		})
	}
}

// TestReconcileKazawalletOverdue is issue 19's second proof: a Kazawallet
// expectation with a short deadline that is never paid is listed overdue,
// logged and counted on /metrics; one that is paid (a payment link made
// through the sandbox's createPaymentLink, which answers the URL only) is
// settled by its webhook, through its ref, and not listed overdue.
func TestReconcileKazawalletOverdue(t *testing.T) {
	bin := buildPayhook(t)
	addr, dir := closedAddr(t), t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "payhook.db")
	rig := newSandboxRig(t, addr)
	serve, _ := startBinary(t, bin, dir, rig.serveEnv(addr, store)...)
	expectCLI(t, bin, store, "add", "kazawallet", "--ref", "order_late", "--amount", "10.00", "--currency", "USD", "--deadline", "1s")
	expectCLI(t, bin, store, "add", "kazawallet", "--ref", "order_paid", "--amount", "10.00", "--currency", "USD", "--deadline", "1h")

	cl, err := kazawallet.NewClient("test_api_key", kazawallet.WithBaseURL(rig.srv.URL+"/wallet"))
	require.NoError(t, err)
	link, err := cl.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{
		Amount: payhook.MustAmount("10.00"), Currency: "USD", Ref: "order_paid"})
	require.NoError(t, err)
	assert.Empty(t, link.OrderID, "the sandbox answers the link's URL only")
	assert.Equal(t, http.StatusOK, pressButton(t, link.URL, "pay"))
	serve.stdout.waitFor(t, 10*time.Second, func(out string) bool { return strings.Contains(out, `"ref":"order_paid"`) })

	overdue := waitExpectations(t, bin, store, 10*time.Second, "order_late overdue", func(xs map[string]expectationLine) bool {
		return xs["order_late"].State == "overdue"
	}, "--overdue")
	assert.Len(t, overdue, 1, "the paid one is not overdue: %+v", overdue)
	paid := expectations(t, bin, store)["order_paid"]
	assert.Equal(t, "settled", paid.State)
	assert.Equal(t, "paid", paid.Outcome)
	assert.NotEmpty(t, paid.PaymentID, "the signed order id")
	assert.Contains(t, serve.stderr.String(), "EXPECTED PAYMENT OVERDUE")
	assert.Contains(t, page(t, "http://"+adminAddr(t, serve)+"/metrics"), `payhook_reconcile_total{provider="kazawallet",result="overdue"} 1`)
	require.Nil(t, serve.stop(t, syscall.SIGTERM))
	assert.Len(t, readLines(t, serve.stdout.String()), 1, "one payment printed")
}

// TestReconcileKilled is issue 19's crash proof: serve, forwarding, is
// killed with SIGKILL while it polls for missed payments; started again on
// the same store, it settles every expectation and the application takes
// each payment once, under one webhook-id. A forward the killed process
// was making is made again once the inbox's lease on it ends (twice
// PAYHOOK_FORWARD_TIMEOUT and a second: 6 s here); a payment whose key it
// had claimed but not yet kept in the inbox waits for the claim's lease
// (payhook.DefaultLease, a minute), as its webhook would: the rare run that
// kills it there takes that long.
func TestReconcileKilled(t *testing.T) {
	bin := buildPayhook(t)
	const n = 8 // of each polled provider
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "payhook.db")
	rig := newSandboxRig(t, closedAddr(t)) // every webhook is lost
	app := newForwardApp(t)
	env := rig.serveEnv("127.0.0.1:0", store, "PAYHOOK_FORWARD_URL="+app.srv.URL, "PAYHOOK_FORWARD_SECRET="+app.secret, "PAYHOOK_INBOX_BACKOFF=20ms", "PAYHOOK_FORWARD_TIMEOUT=2s")
	var ids []string
	for range n {
		tx, kk := rig.start(t, "kkiapay", url.Values{"amount": {"1000"}, "method": {"MOBILE_MONEY"}})
		pay, kp := rig.start(t, "kasperopay", url.Values{"amount": {"25.5"}})
		pressButton(t, kk, "succeed")
		pressButton(t, kp, "pay")
		ids = append(ids, "kkiapay:"+tx, "kasperopay:"+pay)
	}

	first, _ := startBinary(t, bin, dir, env...)
	for _, id := range ids {
		provider, pid, _ := strings.Cut(id, ":")
		currency, amount := "XOF", "1000"
		if provider == "kasperopay" {
			currency, amount = "KAS", "25.5"
		}
		expectCLI(t, bin, store, "add", provider, "--id", pid, "--amount", amount, "--currency", currency, "--deadline", "1h")
	}
	app.waitFor(t, 20*time.Second, "some payments found", func() bool { return len(app.processed) >= 2 })
	exit := first.stop(t, syscall.SIGKILL)
	require.NotNil(t, exit)
	require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "killed, not exited")
	app.mu.Lock()
	before := len(app.processed)
	app.mu.Unlock()
	require.Less(t, before, len(ids), "killed while reconciling")

	second, _ := startBinary(t, bin, dir, env...)
	app.waitFor(t, 90*time.Second, "every payment taken", func() bool { return len(app.processed) == len(ids) })
	waitExpectations(t, bin, store, 10*time.Second, "every expectation settled", func(xs map[string]expectationLine) bool {
		for _, x := range xs {
			if x.State != "settled" {
				return false
			}
		}
		return len(xs) == len(ids)
	})
	entries := waitListed(t, bin, store, 30*time.Second, "every inbox entry done", func(es map[string]listed) bool {
		for _, e := range es {
			if e.State != "done" {
				return false
			}
		}
		return len(es) == len(ids)
	})
	require.Nil(t, second.stop(t, syscall.SIGTERM), "a graceful shutdown")
	for _, id := range ids {
		assert.Contains(t, entries, id, "one inbox entry per payment, under its key")
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	// A forward in flight at the kill is sent again, with the same body
	// (forwardApp checks it) under the same webhook-id: the app's dedupe
	// lets each payment through once.
	assert.ElementsMatch(t, ids, app.processed, "every payment, once each")
}

// TestReconcileReplicas is issue 19's replica proof: two serve processes on
// one PostgreSQL, and on one Redis, share the expectations: each payment
// found by polling is printed once, by one of them, and the status API is
// asked about each once, by one replica.
func TestReconcileReplicas(t *testing.T) {
	bin := buildPayhook(t)
	for _, b := range gatewayBackends {
		if !b.shared {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			const n = 6 // of each polled provider
			store := b.store(t)
			rig := newSandboxRig(t, closedAddr(t)) // every webhook is lost: polls alone find them
			var ids []string
			for range n {
				tx, kk := rig.start(t, "kkiapay", url.Values{"amount": {"1000"}, "method": {"MOBILE_MONEY"}})
				pay, kp := rig.start(t, "kasperopay", url.Values{"amount": {"25.5"}})
				pressButton(t, kk, "succeed")
				pressButton(t, kp, "pay")
				expectCLI(t, bin, store, "add", "kkiapay", "--id", tx, "--amount", "1000", "--currency", "XOF", "--deadline", "1h")
				expectCLI(t, bin, store, "add", "kasperopay", "--id", pay, "--amount", "25.5", "--currency", "KAS", "--deadline", "1h")
				ids = append(ids, tx, pay)
			}
			var replicas []*process
			for range 2 {
				p, _ := startBinary(t, bin, t.TempDir(), rig.serveEnv("127.0.0.1:0", store)...)
				replicas = append(replicas, p)
			}
			printed := func() int {
				return strings.Count(replicas[0].stdout.String(), "\n") + strings.Count(replicas[1].stdout.String(), "\n")
			}
			deadline := time.Now().Add(30 * time.Second)
			for printed() < len(ids) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond) // two other processes: polled
			}
			waitExpectations(t, bin, store, 10*time.Second, "every expectation settled", func(xs map[string]expectationLine) bool {
				for _, x := range xs {
					if x.State != "settled" {
						return false
					}
				}
				return len(xs) == len(ids)
			})
			for _, p := range replicas {
				require.Nil(t, p.stop(t, syscall.SIGTERM), "a graceful shutdown")
			}
			keys := map[string]int{}
			for _, p := range replicas {
				for _, l := range readLines(t, p.stdout.String()) {
					keys[l.Key]++
				}
			}
			for _, id := range ids {
				assert.Equal(t, 1, keys[id], "%s printed once, by one replica", id)
				assert.Equal(t, 1, rig.statusCalls(id), "%s polled once, by one replica", id)
			}
			assert.Len(t, keys, len(ids), fmt.Sprint(keys))
		})
	}
}
