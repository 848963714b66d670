package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

const apiKey, apiSecret = "test_api_key", "test_api_secret"

// newShop serves the quick start's mux with three orders awaiting their
// links' payments, as main does with one.
func newShop(t *testing.T) (*httptest.Server, *orderBook, *bytes.Buffer) {
	t.Helper()
	kw, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	orders := newOrderBook()
	for _, link := range []string{"ord_paid", "ord_expired", "ord_cheap", "ord_euro"} {
		orders.add(link, order{ID: "order-" + link, Amount: payhook.MustAmount("10.00"), Currency: "USD"})
	}
	var log bytes.Buffer
	srv := httptest.NewServer(newMux(kw, orders, slog.New(slog.NewTextHandler(&log, nil))))
	t.Cleanup(srv.Close)
	return srv, orders, &log
}

func paid(t *testing.T, orders *orderBook, link string) bool {
	t.Helper()
	o, ok := orders.find(link)
	require.True(t, ok, link)
	return o.Paid
}

// TestQuickStart delivers Kazawallet's webhooks to the quick start over
// HTTP, built as Kazawallet (and payhook send) builds them: a payment marks
// its order paid once; a forged one, a timed-out link, a wrong amount and
// another currency mark nothing.
func TestQuickStart(t *testing.T) {
	srv, orders, log := newShop(t)
	sender := kazawallettest.Sender{APIKey: apiKey, APISecret: apiSecret}
	url := srv.URL + "/webhooks/kazawallet"
	deliverOne := func(r *http.Request) deliver.Result {
		return deliver.Send(http.DefaultTransport, r, sender.Policy())
	}
	event := func(link, amount, currency string, t kazawallet.EventType) kazawallet.Event {
		return kazawallet.Event{OrderID: link, Amount: payhook.MustAmount(amount), Currency: currency, Type: t,
			Ref: "ref_anything"} // the ref is not signed, and the quick start does not read it
	}

	forged := deliverOne(sender.Forged(url, event("ord_paid", "10.00", "USD", kazawallet.Fulfilled)))
	assert.Equal(t, http.StatusUnauthorized, forged.Last().Status)
	assert.False(t, paid(t, orders, "ord_paid"))

	res := deliverOne(sender.Request(url, event("ord_paid", "10", "USD", kazawallet.Fulfilled))) // "10" pays "10.00"
	require.True(t, res.Acknowledged(), res.String())
	assert.True(t, paid(t, orders, "ord_paid"))
	res = deliverOne(sender.Request(url, event("ord_paid", "10", "USD", kazawallet.Fulfilled)))
	assert.Equal(t, "already processed\n", res.Last().Body)
	assert.Equal(t, 1, strings.Count(log.String(), "order paid"), log.String())

	for _, e := range []kazawallet.Event{
		event("ord_expired", "10.00", "USD", kazawallet.TimedOut),
		event("ord_cheap", "1.00", "USD", kazawallet.Fulfilled),
		event("ord_euro", "10.00", "EUR", kazawallet.Fulfilled),
		event("ord_unknown", "10.00", "USD", kazawallet.Fulfilled),
	} {
		res := deliverOne(sender.Request(url, e))
		assert.True(t, res.Acknowledged(), "%s: %s", e.OrderID, res) // acknowledged: Kazawallet would resend to no avail
		if e.OrderID != "ord_unknown" {
			assert.False(t, paid(t, orders, e.OrderID), e.OrderID)
		}
	}
	assert.Equal(t, 3, strings.Count(log.String(), "payment not applied"), log.String())
}

// TestWebhookWithTheKit is docs/testing.md's example: the provider's test
// kit plays Kazawallet against the quick start's handler, in process.
func TestWebhookWithTheKit(t *testing.T) {
	kw, err := kazawallet.New("test_api_key", "test_api_secret")
	require.NoError(t, err)
	orders := newOrderBook()
	orders.add("lnk_1", order{ID: "1001", Amount: payhook.MustAmount("10.00"), Currency: "USD"})
	to := payhooktest.Handler(newMux(kw, orders, slog.New(slog.DiscardHandler))) // or http.DefaultTransport, and a URL

	sender := kazawallettest.Sender{APIKey: "test_api_key", APISecret: "test_api_secret"}
	paid := kazawallet.Event{OrderID: "lnk_1", Amount: payhook.MustAmount("10.00"), Currency: "USD", Type: kazawallet.Fulfilled}

	res := deliver.Send(to, sender.Forged("/webhooks/kazawallet", paid), sender.Policy())
	assert.Equal(t, http.StatusUnauthorized, res.Last().Status)

	res = deliver.Send(to, sender.Request("/webhooks/kazawallet", paid), sender.Policy())
	require.True(t, res.Acknowledged(), res.String())
	o, _ := orders.find("lnk_1")
	assert.True(t, o.Paid)

	res = deliver.Send(to, sender.Request("/webhooks/kazawallet", paid), sender.Policy())
	assert.Equal(t, "already processed\n", res.Last().Body) // 200, the handler not called again
}

// TestQuickStartWithPayhookSend posts to the quick start with the real
// payhook send, as the README's reader does from a second terminal.
func TestQuickStartWithPayhookSend(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/payhook")
	}
	bin := filepath.Join(t.TempDir(), "payhook")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..", "cmd", "payhook")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building payhook: %s", out)

	srv, orders, _ := newShop(t)
	send := func(args ...string) (string, error) {
		cmd := exec.Command(bin, append([]string{"send", "--url", srv.URL + "/webhooks/kazawallet"}, args...)...)
		cmd.Env = append(os.Environ(), "KAZAWALLET_API_KEY="+apiKey, "KAZAWALLET_API_SECRET="+apiSecret)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	s, err := send("--order-id", "ord_paid", "kazawallet")
	require.NoError(t, err, s)
	assert.Contains(t, s, "200 OK: ok")
	assert.True(t, paid(t, orders, "ord_paid"))

	s, err = send("--order-id", "ord_expired", "--status", "timed_out", "kazawallet")
	require.NoError(t, err, s)
	s, err = send("--order-id", "ord_cheap", "--amount", "1.00", "kazawallet")
	require.NoError(t, err, s)
	assert.False(t, paid(t, orders, "ord_expired"), "a timed-out link")
	assert.False(t, paid(t, orders, "ord_cheap"), "a wrong amount")

	s, err = send("--order-id", "ord_euro", "--forge", "kazawallet")
	assert.Error(t, err, "a forged webhook is answered 401: payhook send exits 1")
	assert.Contains(t, s, "401")
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
