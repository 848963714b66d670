package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

const apiKey, apiSecret = "test_api_key", "test_api_secret"

// newShop serves the quick start's mux with orders awaiting their links'
// payments, each expected by its id (the links' ref), as main does with
// one.
func newShop(t *testing.T) (*httptest.Server, *orderBook, expect.Store, *syncBuffer) {
	t.Helper()
	kw, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	orders, expected := newOrderBook(), expect.NewMemory()
	for _, id := range []string{"order-paid", "order-expired", "order-cheap", "order-euro", "order-other"} {
		require.NoError(t, orders.add(context.Background(), expected, order{ID: id, Amount: payhook.MustAmount("10.00"), Currency: "USD"}))
	}
	var log syncBuffer
	srv := httptest.NewServer(newMux(kw, expected, orders, slog.New(slog.NewTextHandler(&log, nil))))
	t.Cleanup(srv.Close)
	return srv, orders, expected, &log
}

// syncBuffer is a bytes.Buffer that the server's logger and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func paidBy(t *testing.T, orders *orderBook, id string) string {
	t.Helper()
	o, ok := orders.find(id)
	require.True(t, ok, id)
	return o.PaidBy
}

// TestQuickStart delivers Kazawallet's webhooks to the quick start over
// HTTP, built as Kazawallet (and payhook send) builds them: a payment marks
// its order paid once; a forged one, a timed-out link, a wrong amount,
// another currency and the paid webhook replayed with another ref mark
// nothing.
func TestQuickStart(t *testing.T) {
	srv, orders, _, log := newShop(t)
	sender := kazawallettest.Sender{APIKey: apiKey, APISecret: apiSecret}
	url := srv.URL + "/webhooks/kazawallet"
	deliverOne := func(r *http.Request) deliver.Result {
		return deliver.Send(http.DefaultTransport, r, sender.Policy())
	}
	event := func(link, ref, amount, currency string, t kazawallet.EventType) kazawallet.Event {
		return kazawallet.Event{OrderID: link, Ref: ref, Amount: payhook.MustAmount(amount), Currency: currency, Type: t}
	}

	forged := deliverOne(sender.Forged(url, event("lnk_paid", "order-paid", "10.00", "USD", kazawallet.Fulfilled)))
	assert.Equal(t, http.StatusUnauthorized, forged.Last().Status)
	assert.Empty(t, paidBy(t, orders, "order-paid"))

	res := deliverOne(sender.Request(url, event("lnk_paid", "order-paid", "10", "USD", kazawallet.Fulfilled))) // "10" pays "10.00"
	require.True(t, res.Acknowledged(), res.String())
	assert.Equal(t, "lnk_paid", paidBy(t, orders, "order-paid"))
	res = deliverOne(sender.Request(url, event("lnk_paid", "order-paid", "10", "USD", kazawallet.Fulfilled)))
	assert.Equal(t, "already processed\n", res.Last().Body)
	assert.Equal(t, 1, strings.Count(log.String(), "order paid"), log.String())

	for _, tc := range []struct {
		e      kazawallet.Event
		status int
	}{
		{event("lnk_expired", "order-expired", "10.00", "USD", kazawallet.TimedOut), http.StatusOK},
		{event("lnk_cheap", "order-cheap", "1.00", "USD", kazawallet.Fulfilled), http.StatusInternalServerError},
		{event("lnk_euro", "order-euro", "10.00", "EUR", kazawallet.Fulfilled), http.StatusInternalServerError},
		{event("lnk_unknown", "order-unknown", "10.00", "USD", kazawallet.Fulfilled), http.StatusServiceUnavailable},
	} {
		res := deliverOne(sender.Request(url, tc.e))
		assert.Equal(t, tc.status, res.Last().Status, "%s: %s", tc.e.Ref, res) // a mismatch is refused and logged, never credited
		if _, ok := orders.find(tc.e.Ref); ok {
			assert.Empty(t, paidBy(t, orders, tc.e.Ref), tc.e.Ref)
		}
	}
	assert.Equal(t, 1, strings.Count(log.String(), "pays no expected order"), log.String())
	assert.Equal(t, 2, strings.Count(log.String(), "does not match its expectation"), log.String())
}

// TestQuickStartOneRule replays the paid webhook with another ref, whose
// signature still verifies since Kazawallet signs the amount and the order
// id only, past the idempotency store's memory (a restarted shop with the
// same expectations): the signed order id paid one order, and pays no
// other.
func TestQuickStartOneRule(t *testing.T) {
	srv, orders, expected, _ := newShop(t)
	sender := kazawallettest.Sender{APIKey: apiKey, APISecret: apiSecret}
	paid := kazawallet.Event{OrderID: "lnk_1", Ref: "order-paid", Amount: payhook.MustAmount("10.00"), Currency: "USD", Type: kazawallet.Fulfilled}
	res := deliver.Send(http.DefaultTransport, sender.Request(srv.URL+"/webhooks/kazawallet", paid), sender.Policy())
	require.True(t, res.Acknowledged(), res.String())

	kw, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	restarted := payhooktest.Handler(newMux(kw, expected, orders, slog.New(slog.DiscardHandler)))
	replayed := paid
	replayed.Ref = "order-other"
	res = deliver.Send(restarted, sender.Request("/webhooks/kazawallet", replayed), sender.Policy())
	assert.False(t, res.Acknowledged(), res.String())
	assert.Empty(t, paidBy(t, orders, "order-other"), "another order paid by lnk_1")
	assert.Equal(t, "lnk_1", paidBy(t, orders, "order-paid"))
}

// TestWebhookWithTheKit is docs/testing.md's example: the provider's test
// kit plays Kazawallet against the quick start's handler, in process.
func TestWebhookWithTheKit(t *testing.T) {
	kw, err := kazawallet.New("test_api_key", "test_api_secret")
	require.NoError(t, err)
	orders, expected := newOrderBook(), expect.NewMemory()
	require.NoError(t, orders.add(context.Background(), expected, order{ID: "1001", Amount: payhook.MustAmount("10.00"), Currency: "USD"}))
	to := payhooktest.Handler(newMux(kw, expected, orders, slog.New(slog.DiscardHandler))) // or http.DefaultTransport, and a URL

	sender := kazawallettest.Sender{APIKey: "test_api_key", APISecret: "test_api_secret"}
	paid := kazawallet.Event{OrderID: "lnk_1", Ref: "1001", Amount: payhook.MustAmount("10.00"), Currency: "USD", Type: kazawallet.Fulfilled}

	res := deliver.Send(to, sender.Forged("/webhooks/kazawallet", paid), sender.Policy())
	assert.Equal(t, http.StatusUnauthorized, res.Last().Status)

	res = deliver.Send(to, sender.Request("/webhooks/kazawallet", paid), sender.Policy())
	require.True(t, res.Acknowledged(), res.String())
	o, _ := orders.find("1001")
	assert.Equal(t, "lnk_1", o.PaidBy)

	res = deliver.Send(to, sender.Request("/webhooks/kazawallet", paid), sender.Policy())
	assert.Equal(t, "already processed\n", res.Last().Body) // 200, the handler not called again
}

// buildPayhook builds cmd/payhook into the test's directory.
func buildPayhook(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds cmd/payhook")
	}
	bin := filepath.Join(t.TempDir(), "payhook")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..", "cmd", "payhook")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building payhook: %s", out)
	return bin
}

// TestQuickStartWithPayhookSend posts to the quick start with the real
// payhook send, as the README's reader does from a second terminal.
func TestQuickStartWithPayhookSend(t *testing.T) {
	bin := buildPayhook(t)
	srv, orders, _, _ := newShop(t)
	send := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"send", "--url", srv.URL + "/webhooks/kazawallet"}, args...)...)
		cmd.Env = append(os.Environ(), "KAZAWALLET_API_KEY="+apiKey, "KAZAWALLET_API_SECRET="+apiSecret)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	s, err := send("--ref", "order-paid", "kazawallet")
	require.NoError(t, err, s)
	assert.Contains(t, s, "200 OK: ok")
	assert.NotEmpty(t, paidBy(t, orders, "order-paid"))

	s, err = send("--ref", "order-expired", "--status", "timed_out", "kazawallet")
	require.NoError(t, err, s)
	s, err = send("--ref", "order-cheap", "--amount", "1.00", "kazawallet")
	assert.Error(t, err, "a wrong amount is refused: payhook send exits 1")
	assert.Contains(t, s, "500")
	assert.Empty(t, paidBy(t, orders, "order-expired"), "a timed-out link")
	assert.Empty(t, paidBy(t, orders, "order-cheap"), "a wrong amount")

	s, err = send("--ref", "order-euro", "--forge", "kazawallet")
	assert.Error(t, err, "a forged webhook is answered 401: payhook send exits 1")
	assert.Contains(t, s, "401")
}

// TestQuickStartWithTheSandbox pays the quick start's order through the
// real payhook sandbox, as a newcomer does: a link made with
// kazawallet.Client's CreatePaymentLink, which the sandbox answers with the
// link's URL only, paid on its checkout page; the order is credited once.
// The same webhook replayed with another ref, to a restarted shop, credits
// nothing.
func TestQuickStartWithTheSandbox(t *testing.T) {
	bin := buildPayhook(t)
	srv, orders, expected, log := newShop(t)
	sandbox := exec.Command(bin, "sandbox", "--addr", "127.0.0.1:0", "--kazawallet-webhook", srv.URL+"/webhooks/kazawallet")
	sandbox.Env = append(os.Environ(), "KAZAWALLET_API_KEY="+apiKey, "KAZAWALLET_API_SECRET="+apiSecret)
	out, err := sandbox.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, sandbox.Start())
	t.Cleanup(func() {
		sandbox.Process.Kill()
		sandbox.Wait()
	})
	lines := bufio.NewScanner(out)
	require.True(t, lines.Scan(), "the sandbox's first line")
	base, ok := strings.CutPrefix(lines.Text(), "payhook sandbox on ")
	require.True(t, ok, lines.Text())
	go io.Copy(io.Discard, out)

	cl, err := kazawallet.NewClient(apiKey, kazawallet.WithBaseURL(base+"/wallet"))
	require.NoError(t, err)
	link, err := cl.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{
		Amount: payhook.MustAmount("10.00"), Currency: "USD", Ref: "order-paid", Email: "merchant@example.com"})
	require.NoError(t, err)
	assert.Empty(t, link.OrderID, "the sandbox answers the link's URL only, as Kazawallet may")
	res, err := http.PostForm(link.URL, neturl.Values{"action": {"pay"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	deadline := time.Now().Add(10 * time.Second)
	for paidBy(t, orders, "order-paid") == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // the sandbox delivers in the background: polled
	}
	linkID := paidBy(t, orders, "order-paid")
	require.NotEmpty(t, linkID, "paid through the sandbox: %s", log.String())
	assert.Equal(t, 1, strings.Count(log.String(), "order paid"), log.String())

	// The webhook the sandbox sent, replayed with another ref to a shop
	// restarted on the same expectations: its signature still verifies,
	// and it pays nothing.
	kw, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	restarted := payhooktest.Handler(newMux(kw, expected, orders, slog.New(slog.DiscardHandler)))
	sender := kazawallettest.Sender{APIKey: apiKey, APISecret: apiSecret}
	replayed := kazawallet.Event{OrderID: linkID, Ref: "order-other", Amount: payhook.MustAmount("10.00"), Currency: "USD", Type: kazawallet.Fulfilled}
	r := deliver.Send(restarted, sender.Request("/webhooks/kazawallet", replayed), sender.Policy())
	assert.False(t, r.Acknowledged(), r.String())
	assert.Empty(t, paidBy(t, orders, "order-other"))
	assert.Equal(t, 1, strings.Count(log.String(), "order paid"), "credited once")
}

// TestQuickStartCompilesAlone pastes main.go into a fresh module, with
// only the replace line that an unpublished payhook needs, and builds it
// offline.
func TestQuickStartCompilesAlone(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dir := t.TempDir()
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	gomod := "module example.com/shop\n\ngo 1.24\n\nrequire github.com/payhook/payhook v0.0.0\n\n" +
		"replace github.com/payhook/payhook => " + root + "\n"
	for name, data := range map[string][]byte{"main.go": src, "go.mod": []byte(gomod), "go.sum": sum} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "shop"), ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
}
