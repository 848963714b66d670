// Package apptest is the test every example app runs: signed webhooks of
// the three providers, built and delivered with payhooktest to the app's
// own constructor, checking that each typed event reached the shop's
// orders, that a duplicate is acknowledged without a second call (of the
// shop's code or of a provider's API), and that a forged one gets 401.
package apptest

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// The webhook senders, with the secrets of every Env's config. KasperoPay
// signs nothing by default, so neither does its sender: the status API
// (the Env's fake) is what vouches for a KasperoPay webhook.
var (
	Kazawallet = kazawallettest.Sender{APIKey: "test_api_key", APISecret: "test_api_secret"}
	KKiaPay    = kkiapaytest.Sender{Secret: "test_hash_secret"}
	KasperoPay = kasperopaytest.Sender{}
)

// NewServer is the constructor every example app has.
type NewServer[H http.Handler] func(cfg shop.Config, orders shop.OrderStore) (H, error)

// Env is an app under test: its config (test secrets, the fake provider
// APIs, the expectations) and its orders.
type Env struct {
	Config        shop.Config
	Orders        *shop.Memory
	KKiaPayAPI    *kkiapaytest.API
	KasperoPayAPI *kasperopaytest.API
}

// The orders every Env starts with, pending, each with the expectation of
// its payment (shop.Place): by its id as the reference alone for a
// Kazawallet link whose createPaymentLink answered the URL only, and by
// the payment's id too where the shop knows it when the payment starts
// (a link id Kazawallet returned, the transaction id KKiaPay's widget
// hands the page, KasperoPay's payment id).
var orders = []shop.Order{
	{ID: "kz-paid", Amount: payhook.MustAmount("10.00"), Currency: "USD", Provider: kazawallet.Name},
	{ID: "kz-expired", Amount: payhook.MustAmount("10.50"), Currency: "USD", Provider: kazawallet.Name, PaymentID: "kzl_2"},
	{ID: "kk-paid", Amount: payhook.MustAmount("1000"), Currency: "XOF", Provider: kkiapay.Name, PaymentID: "kk_tx_1"},
	{ID: "kk-failed", Amount: payhook.MustAmount("2500"), Currency: "XOF", Provider: kkiapay.Name, PaymentID: "kk_tx_2"},
	{ID: "kp-paid", Amount: payhook.MustAmount("25.5"), Currency: "KAS", Provider: kasperopay.Name, PaymentID: "pay_kp_1"},
}

// NewEnv returns an Env with fresh orders and fake provider APIs, closed
// when t ends. KKiaPay webhooks are confirmed through its status API, as
// they are in production when the API keys are set.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	kk, kp := kkiapaytest.NewAPI(t), kasperopaytest.NewAPI(t)
	mem, expected := shop.NewMemory(), expect.NewMemory()
	for _, o := range orders {
		require.NoError(t, shop.Place(context.Background(), mem, expected, o))
	}
	return &Env{
		Config: shop.Config{
			KazawalletAPIKey:     Kazawallet.APIKey,
			KazawalletAPISecret:  Kazawallet.APISecret,
			KKiaPayWebhookSecret: KKiaPay.Secret,
			KKiaPayPublicKey:     kkiapaytest.PublicKey,
			KKiaPayPrivateKey:    kkiapaytest.PrivateKey,
			KKiaPaySecretKey:     kkiapaytest.SecretKey,
			KKiaPayAPIURL:        kk.URL(),
			KasperoPayAPIURL:     kp.URL(),
			Logger:               slog.New(slog.DiscardHandler),
			Expectations:         expected,
		},
		Orders:        mem,
		KKiaPayAPI:    kk,
		KasperoPayAPI: kp,
	}
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

func (e *Env) apiCalls() int { return len(e.KKiaPayAPI.Calls()) + len(e.KasperoPayAPI.Calls()) }

// KazawalletPaid is a Kazawallet event that pays the Env's pending order
// "kz-paid", found by its ref's expectation, for tests of where the
// middleware sits.
var KazawalletPaid = kazawallet.Event{OrderID: "kzl_1", Amount: payhook.MustAmount("10.00"), Ref: "kz-paid",
	Type: kazawallet.Fulfilled, Currency: "USD"}

// Run delivers, for every provider and outcome, as the provider does
// (KKiaPay retrying what is not 2xx): a forged webhook (401, the order
// unchanged), the genuine one (2xx, the order changed through the typed
// handler), and the genuine one again (2xx, nothing applied twice, and no
// second call of the provider's API).
func Run[H http.Handler](t *testing.T, newServer NewServer[H]) {
	env := NewEnv(t)
	rt := payhooktest.Handler(Server(t, env, newServer))
	for _, d := range env.deliveries() {
		t.Run(d.name, func(t *testing.T) {
			forged := deliver.Send(rt, d.forged(), d.policy)
			assert.Equal(t, http.StatusUnauthorized, forged.Last().Status, "forged: %v", forged)
			o := env.Order(t, d.order)
			assert.Equal(t, shop.Pending, o.Status, "a forged webhook changed the order")
			assert.Empty(t, o.History)

			first := deliver.Send(rt, d.genuine(), d.policy)
			require.True(t, first.Acknowledged(), "genuine: %v", first)
			assert.Len(t, first.Attempts, 1, "the provider had to retry")
			o = env.Order(t, d.order)
			assert.Equal(t, d.want, o.Status)
			require.Len(t, o.History, 1)
			assert.Equal(t, d.provider, o.History[0].Provider)
			assert.Equal(t, d.payment, o.History[0].ID)

			calls := env.apiCalls()
			dup := deliver.Send(rt, d.genuine(), d.policy)
			assert.True(t, dup.Acknowledged(), "duplicate: %v", dup)
			assert.Len(t, env.Order(t, d.order).History, 1, "a duplicate reached the handler")
			// An unsigned KasperoPay webhook is confirmed before its payment
			// id is claimed, so that a forgery never holds it: by the
			// status API's answer, remembered for a minute.
			assert.Equal(t, calls, env.apiCalls(), "calls of the provider's API for a duplicate")
		})
	}
}

// delivery is one webhook of the suite.
type delivery struct {
	name     string
	provider string
	order    string // the shop's order it pays or fails
	payment  string // the provider's id, which the order's history records
	want     shop.Status
	policy   deliver.Policy
	genuine  func() *http.Request
	forged   func() *http.Request
}

// deliveries returns the suite's webhooks, with the fake APIs set to
// confirm the genuine ones.
func (e *Env) deliveries() []delivery {
	const kzPath, kkPath, kpPath = "/webhooks/kazawallet", "/webhooks/kkiapay", "/webhooks/kasperopay"
	kzExpired := kazawallet.Event{OrderID: "kzl_2", Amount: payhook.MustAmount("10.5"), Ref: "kz-expired",
		Type: kazawallet.TimedOut, Currency: "USD"}
	kkPaid := kkiapay.Event{TransactionID: "kk_tx_1", Type: kkiapay.TransactionSuccess, Method: kkiapay.MobileMoney,
		Amount: payhook.MustAmount("1000"), StateData: json.RawMessage(`{"order_id":"kk-paid"}`)}
	kkFailed := kkiapay.Event{TransactionID: "kk_tx_2", Type: kkiapay.TransactionFailed, Amount: payhook.MustAmount("2500"),
		FailureCode: "insufficient_fund", StateData: json.RawMessage(`{"order_id":"kk-failed"}`)}
	kpPaid := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: "pay_kp_1", OrderID: "kp-paid",
		AmountKAS: payhook.MustAmount("25.5"), TransactionID: "f00dcafe"}
	e.KKiaPayAPI.Confirm(kkPaid)
	e.KKiaPayAPI.Confirm(kkFailed)
	e.KasperoPayAPI.Confirm(kpPaid)
	// KasperoPay's webhook is unsigned: a forgery is a body the status API
	// does not confirm, such as a larger amount for a real payment.
	kpForged := kpPaid
	kpForged.AmountKAS = payhook.MustAmount("2500")

	return []delivery{
		{name: "kazawallet fulfilled", provider: kazawallet.Name, order: "kz-paid", payment: KazawalletPaid.OrderID, want: shop.Paid,
			policy:  Kazawallet.Policy(),
			genuine: func() *http.Request { return Kazawallet.Request(kzPath, KazawalletPaid) },
			forged:  func() *http.Request { return Kazawallet.Forged(kzPath, KazawalletPaid) }},
		{name: "kazawallet timed out", provider: kazawallet.Name, order: "kz-expired", payment: kzExpired.OrderID, want: shop.Failed,
			policy:  Kazawallet.Policy(),
			genuine: func() *http.Request { return Kazawallet.Request(kzPath, kzExpired) },
			forged:  func() *http.Request { return Kazawallet.Forged(kzPath, kzExpired) }},
		{name: "kkiapay success", provider: kkiapay.Name, order: "kk-paid", payment: kkPaid.TransactionID, want: shop.Paid,
			policy:  KKiaPay.Policy(),
			genuine: func() *http.Request { return KKiaPay.Request(kkPath, kkPaid) },
			forged:  func() *http.Request { return KKiaPay.Forged(kkPath, kkPaid) }},
		{name: "kkiapay failed", provider: kkiapay.Name, order: "kk-failed", payment: kkFailed.TransactionID, want: shop.Failed,
			policy:  KKiaPay.Policy(),
			genuine: func() *http.Request { return KKiaPay.Request(kkPath, kkFailed) },
			forged:  func() *http.Request { return KKiaPay.Forged(kkPath, kkFailed) }},
		{name: "kasperopay completed", provider: kasperopay.Name, order: "kp-paid", payment: kpPaid.PaymentID, want: shop.Paid,
			policy:  KasperoPay.Policy(),
			genuine: func() *http.Request { return KasperoPay.Request(kpPath, kpPaid) },
			forged:  func() *http.Request { return KasperoPay.Request(kpPath, kpForged) }},
	}
}

// KazawalletSetup returns what a test of where payhook sits needs to mount
// Kazawallet's webhook itself: the provider for e's config, the shop's
// handlers on e's orders, and payhook's options.
func (e *Env) KazawalletSetup(t testing.TB) (*kazawallet.Provider, shop.Webhooks, []payhook.Option) {
	t.Helper()
	cfg := e.Config.WithDefaults()
	p, err := kazawallet.New(cfg.KazawalletAPIKey, cfg.KazawalletAPISecret)
	require.NoError(t, err)
	return p, shop.Webhooks{Orders: e.Orders, Log: cfg.Logger}, cfg.PayhookOptions()
}
