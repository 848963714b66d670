// Package apptest is the test every example app runs: signed webhooks of
// the three providers sent through httptest to the app's own constructor,
// checking that each typed event reached the shop's orders, that a
// duplicate is acknowledged without a second call, and that a forged one
// gets 401.
package apptest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// NewServer is the constructor every example app has.
type NewServer[H http.Handler] func(cfg shop.Config, orders shop.OrderStore) (H, error)

// Env is an app under test: its config (test secrets, the fake provider
// APIs) and its orders.
type Env struct {
	Config shop.Config
	Orders *shop.Memory
	Fakes  *Fakes
}

// The orders every Env starts with, pending.
var orders = []shop.Order{
	{ID: "kz-paid", Amount: payhook.MustAmount("10.00"), Currency: "USD"},
	{ID: "kz-expired", Amount: payhook.MustAmount("10.50"), Currency: "USD"},
	{ID: "kk-paid", Amount: payhook.MustAmount("1000"), Currency: "XOF"},
	{ID: "kk-failed", Amount: payhook.MustAmount("2500"), Currency: "XOF"},
	{ID: "kp-paid", Amount: payhook.MustAmount("25.5"), Currency: "KAS", PaymentID: "pay_kp_1"},
}

// NewEnv returns an Env with fresh orders and fake provider APIs, closed
// when t ends.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	f := newFakes(t)
	return &Env{Config: f.config(), Orders: shop.NewMemory(orders...), Fakes: f}
}

// Server builds the app with newServer from e's config and orders.
func Server[H http.Handler](t testing.TB, e *Env, newServer NewServer[H]) H {
	t.Helper()
	h, err := newServer(e.Config, e.Orders)
	require.NoError(t, err)
	return h
}

// Serve sends r to h and returns the answer.
func Serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Order returns an order of e, failing t if there is none.
func (e *Env) Order(t testing.TB, id string) shop.Order {
	t.Helper()
	o, err := e.Orders.Get(context.Background(), id)
	require.NoError(t, err)
	return o
}

// Run sends, for every provider and outcome, a forged webhook (401, the
// order unchanged), the genuine one (2xx, the order changed through the
// typed handler), and the genuine one again (2xx, nothing applied twice,
// no second call of the provider's API).
func Run[H http.Handler](t *testing.T, newServer NewServer[H]) {
	env := NewEnv(t)
	h := Server(t, env, newServer)
	for _, d := range env.Fakes.deliveries() {
		t.Run(d.name, func(t *testing.T) {
			forged := Serve(h, d.forged())
			assert.Equal(t, http.StatusUnauthorized, forged.Code, "forged: %s", forged.Body)
			o := env.Order(t, d.order)
			assert.Equal(t, shop.Pending, o.Status, "a forged webhook changed the order")
			assert.Empty(t, o.History)

			first := Serve(h, d.genuine())
			require.True(t, success(first.Code), "genuine: %d %s", first.Code, first.Body)
			o = env.Order(t, d.order)
			assert.Equal(t, d.want, o.Status)
			require.Len(t, o.History, 1)
			assert.Equal(t, d.provider, o.History[0].Provider)
			assert.Equal(t, d.payment, o.History[0].ID)

			calls := env.Fakes.apiCalls()
			dup := Serve(h, d.genuine())
			assert.True(t, success(dup.Code), "duplicate: %d %s", dup.Code, dup.Body)
			assert.Len(t, env.Order(t, d.order).History, 1, "a duplicate reached the handler")
			assert.Equal(t, calls, env.Fakes.apiCalls(), "a duplicate called the provider's API")
		})
	}
}

func success(code int) bool { return code >= 200 && code < 300 }

// KazawalletPaid is a Kazawallet event that pays the Env's pending order
// "kz-paid", for tests of where the middleware sits.
var KazawalletPaid = kazawallet.Event{OrderID: "kzl_1", Amount: payhook.MustAmount("10.00"), Ref: "kz-paid",
	Status: kazawallet.StatusFulfilled, Currency: "USD"}

// delivery is one webhook of the suite.
type delivery struct {
	name     string
	provider string
	order    string // the shop's order it pays or fails
	payment  string // the provider's id, which the order's history records
	want     shop.Status
	genuine  func() *http.Request
	forged   func() *http.Request
}

func (f *Fakes) deliveries() []delivery {
	kzPaid := KazawalletPaid
	kzExpired := kazawallet.Event{OrderID: "kzl_2", Amount: payhook.MustAmount("10.5"), Ref: "kz-expired",
		Status: kazawallet.StatusTimedOut, Currency: "USD"}
	yes, no := true, false
	kkPaid := kkiapay.Event{TransactionID: "kk_tx_1", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &yes,
		Method: kkiapay.MobileMoney, Amount: payhook.MustAmount("1000"), StateData: json.RawMessage(`{"order_id":"kk-paid"}`)}
	kkFailed := kkiapay.Event{TransactionID: "kk_tx_2", Type: kkiapay.TransactionFailed, PaymentSucceeded: &no,
		Amount: payhook.MustAmount("2500"), FailureCode: "insufficient_fund", StateData: json.RawMessage(`{"order_id":"kk-failed"}`)}
	kpPaid := kasperopay.Event{Type: kasperopay.EventPaymentCompleted, PaymentID: "pay_kp_1", OrderID: "kp-paid",
		AmountKAS: payhook.MustAmount("25.5"), TransactionID: "f00dcafe"}
	return []delivery{
		{name: "kazawallet fulfilled", provider: kazawallet.Name, order: "kz-paid", payment: kzPaid.OrderID, want: shop.Paid,
			genuine: func() *http.Request { return Kazawallet.Request("/webhooks/kazawallet", kzPaid) },
			forged:  func() *http.Request { return Kazawallet.Forged("/webhooks/kazawallet", kzPaid) }},
		{name: "kazawallet timed out", provider: kazawallet.Name, order: "kz-expired", payment: kzExpired.OrderID, want: shop.Failed,
			genuine: func() *http.Request { return Kazawallet.Request("/webhooks/kazawallet", kzExpired) },
			forged:  func() *http.Request { return Kazawallet.Forged("/webhooks/kazawallet", kzExpired) }},
		{name: "kkiapay success", provider: kkiapay.Name, order: "kk-paid", payment: kkPaid.TransactionID, want: shop.Paid,
			genuine: func() *http.Request { return kkiapayRequest(kkPaid, false) },
			forged:  func() *http.Request { return kkiapayRequest(kkPaid, true) }},
		{name: "kkiapay failed", provider: kkiapay.Name, order: "kk-failed", payment: kkFailed.TransactionID, want: shop.Failed,
			genuine: func() *http.Request { return kkiapayRequest(kkFailed, false) },
			forged:  func() *http.Request { return kkiapayRequest(kkFailed, true) }},
		{name: "kasperopay completed", provider: kasperopay.Name, order: "kp-paid", payment: kpPaid.PaymentID, want: shop.Paid,
			genuine: func() *http.Request { return f.kasperopayRequest(kpPaid, false) },
			forged:  func() *http.Request { return f.kasperopayRequest(kpPaid, true) }},
	}
}
