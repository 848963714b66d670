package shop_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// brokenStore fails every write, as a database that is down.
type brokenStore struct{ shop.OrderStore }

var errDown = errors.New("database down")

func (brokenStore) MarkPaid(context.Context, string, shop.Payment) error   { return errDown }
func (brokenStore) MarkFailed(context.Context, string, shop.Payment) error { return errDown }

var (
	kwSender = kazawallettest.Sender{APIKey: "test_api_key", APISecret: "test_api_secret"}
	kkSender = kkiapaytest.Sender{Secret: "test_hash_secret"}
)

// kz is a Kazawallet webhook of link, naming ref, for amount in currency.
func kz(link, ref string, t kazawallet.EventType, amount, currency string) *http.Request {
	return kwSender.Request("/kz", kazawallet.Event{OrderID: link, Ref: ref,
		Amount: payhook.MustAmount(amount), Currency: currency, Type: t})
}

// shopServer is the shop's three webhooks mounted with payhook and the
// expectations of its orders, as the router examples mount them.
type shopServer struct {
	mux   *http.ServeMux
	mem   *shop.Memory
	kkAPI *kkiapaytest.API
	kpAPI *kasperopaytest.API
}

// newShop places orders (shop.Place: each order naming its provider gets
// its expectation) and mounts the webhooks on orders, or on wrap(orders).
func newShop(t *testing.T, orders []shop.Order, wrap func(shop.OrderStore) shop.OrderStore) *shopServer {
	t.Helper()
	s := &shopServer{mux: http.NewServeMux(), mem: shop.NewMemory(),
		kkAPI: kkiapaytest.NewAPI(t), kpAPI: kasperopaytest.NewAPI(t)}
	expected := expect.NewMemory()
	for _, o := range orders {
		require.NoError(t, shop.Place(context.Background(), s.mem, expected, o))
	}
	var store shop.OrderStore = s.mem
	if wrap != nil {
		store = wrap(s.mem)
	}
	h := shop.Webhooks{Orders: store, Log: slog.New(slog.DiscardHandler)}
	opts := []payhook.Option{payhook.WithExpectations(expected), payhook.WithLogger(slog.New(slog.DiscardHandler))}
	kw, err := kazawallet.New(kwSender.APIKey, kwSender.APISecret)
	require.NoError(t, err)
	kk, err := kkiapay.New(kkSender.Secret, kkiapay.WithConfirmation(s.kkAPI.Client()))
	require.NoError(t, err)
	kp, err := kasperopay.New(kasperopay.WithConfirmation(s.kpAPI.Client()))
	require.NoError(t, err)
	s.mux.Handle("/kz", payhook.Handle(kw, h.Kazawallet, opts...))
	s.mux.Handle("/kk", payhook.Handle(kk, h.KKiaPay, opts...))
	s.mux.Handle("/kp", payhook.Handle(kp, h.KasperoPay, opts...))
	return s
}

func (s *shopServer) serve(r *http.Request) int {
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, r)
	return w.Code
}

// TestWebhooks checks the one rule for finding the order a payment pays:
// the shop credits the order of the payment's expectation, which payhook
// found by the payment's id or its reference, checked against the signed
// or confirmed amount and currency, and settled once; a paid payment with
// no expectation is retried (503), never credited.
func TestWebhooks(t *testing.T) {
	orders := []shop.Order{
		// a Kazawallet link whose createPaymentLink answered the URL only:
		// expected by its ref
		{ID: "o-1", Amount: payhook.MustAmount("10.00"), Currency: "USD", Provider: kazawallet.Name},
		// a Kazawallet link whose id createPaymentLink returned
		{ID: "o-2", Amount: payhook.MustAmount("10.00"), Currency: "USD", Provider: kazawallet.Name, PaymentID: "lnk_2"},
		// an order whose payment has not started: nothing expected
		{ID: "o-3", Amount: payhook.MustAmount("10.00"), Currency: "USD"},
		{ID: "o-kk", Amount: payhook.MustAmount("1000"), Currency: "XOF", Provider: kkiapay.Name, PaymentID: "tx_1"},
		{ID: "o-kp", Amount: payhook.MustAmount("25.5"), Currency: "KAS", Provider: kasperopay.Name, PaymentID: "pay_1"},
	}
	ok := true
	kkPaid := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &ok,
		Amount: payhook.MustAmount("1000"), PartnerID: "o-3"}
	kkFailed := kkPaid
	kkFailed.Type, kkFailed.PaymentSucceeded, kkFailed.FailureCode = kkiapay.TransactionFailed, nil, "insufficient_fund"
	kpPaid := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: "pay_1", OrderID: "o-3", AmountKAS: payhook.MustAmount("25.5")}
	kpOther := kpPaid
	kpOther.PaymentID = "pay_other"
	kpOther.OrderID = "o-kp"

	type step struct {
		req  func(*shopServer) *http.Request
		code int
	}
	kzStep := func(link, ref string, typ kazawallet.EventType, amount, currency string, code int) step {
		return step{func(*shopServer) *http.Request { return kz(link, ref, typ, amount, currency) }, code}
	}
	tests := []struct {
		name  string
		wrap  func(shop.OrderStore) shop.OrderStore
		steps []step
		want  map[string]shop.Status // orders not named stay pending
	}{
		{name: "kazawallet: the ref finds the expectation, the signed amount settles it",
			steps: []step{kzStep("lnk_1", "o-1", kazawallet.Fulfilled, "10", "USD", 200)},
			want:  map[string]shop.Status{"o-1": shop.Paid}},
		{name: "kazawallet: the link id finds the expectation, whatever the ref",
			steps: []step{kzStep("lnk_2", "o-3", kazawallet.Fulfilled, "10.00", "USD", 200)},
			want:  map[string]shop.Status{"o-2": shop.Paid}},
		{name: "kazawallet: timed out marks the expectation's order failed",
			steps: []step{kzStep("lnk_1", "o-1", kazawallet.TimedOut, "10.00", "USD", 200)},
			want:  map[string]shop.Status{"o-1": shop.Failed}},
		{name: "kazawallet: a wrong amount is never credited",
			steps: []step{kzStep("lnk_1", "o-1", kazawallet.Fulfilled, "1.00", "USD", 500)}},
		{name: "kazawallet: another currency is never credited",
			steps: []step{kzStep("lnk_1", "o-1", kazawallet.Fulfilled, "10.00", "SYP", 500)}},
		{name: "kazawallet: a ref of no expectation is retried, not credited",
			steps: []step{kzStep("lnk_9", "o-3", kazawallet.Fulfilled, "10.00", "USD", 503)}},
		{name: "kazawallet: a paid link replayed with another ref credits nothing",
			steps: []step{
				kzStep("lnk_1", "o-1", kazawallet.Fulfilled, "10.00", "USD", 200),
				kzStep("lnk_1", "o-2", kazawallet.Fulfilled, "10.00", "USD", 200), // "already processed": the same key
			},
			want: map[string]shop.Status{"o-1": shop.Paid}},
		{name: "kazawallet: a second link naming a paid order's ref credits nothing",
			steps: []step{
				kzStep("lnk_1", "o-1", kazawallet.Fulfilled, "10.00", "USD", 200),
				kzStep("lnk_8", "o-1", kazawallet.Fulfilled, "10.00", "USD", 500),
			},
			want: map[string]shop.Status{"o-1": shop.Paid}},
		{name: "kazawallet: a timed_out link then fulfilled under another ref credits nothing",
			steps: []step{
				kzStep("lnk_1", "o-1", kazawallet.TimedOut, "10.00", "USD", 200),
				kzStep("lnk_3", "o-1", kazawallet.Fulfilled, "10.00", "USD", 500),
			},
			want: map[string]shop.Status{"o-1": shop.Failed}},
		{name: "store down: an error, for a retry",
			wrap:  func(s shop.OrderStore) shop.OrderStore { return brokenStore{s} },
			steps: []step{kzStep("lnk_1", "o-1", kazawallet.Fulfilled, "10.00", "USD", 500)}},
		{name: "kkiapay: the order is the transaction's expectation, not the partnerId",
			steps: []step{{func(s *shopServer) *http.Request {
				s.kkAPI.Confirm(kkPaid)
				return kkSender.Request("/kk", kkPaid)
			}, 200}},
			want: map[string]shop.Status{"o-kk": shop.Paid}},
		{name: "kkiapay: a failed transaction",
			steps: []step{{func(s *shopServer) *http.Request {
				s.kkAPI.Confirm(kkFailed)
				return kkSender.Request("/kk", kkFailed)
			}, 200}},
			want: map[string]shop.Status{"o-kk": shop.Failed}},
		{name: "kasperopay: the order is the payment's expectation, not the order_id",
			steps: []step{{func(s *shopServer) *http.Request {
				s.kpAPI.Confirm(kpPaid)
				return kasperopaytest.Sender{}.Request("/kp", kpPaid)
			}, 200}},
			want: map[string]shop.Status{"o-kp": shop.Paid}},
		{name: "kasperopay: an order_id naming an expected order does not credit another payment",
			steps: []step{{func(s *shopServer) *http.Request {
				s.kpAPI.Confirm(kpOther)
				return kasperopaytest.Sender{}.Request("/kp", kpOther)
			}, 500}}, // the ref names the expectation of pay_1: a mismatch, kept for an operator
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newShop(t, orders, tt.wrap)
			for i, st := range tt.steps {
				assert.Equal(t, st.code, s.serve(st.req(s)), "step %d", i)
			}
			for _, o := range orders {
				want, ok := tt.want[o.ID]
				if !ok {
					want = shop.Pending
				}
				got, err := s.mem.Get(context.Background(), o.ID)
				require.NoError(t, err)
				assert.Equal(t, want, got.Status, "order %s", o.ID)
			}
		})
	}
}

// TestUnconfirmedKKiaPay: a KKiaPay event not confirmed through the status
// API is an error (500), so that the configuration is fixed rather than
// the payment lost.
func TestUnconfirmedKKiaPay(t *testing.T) {
	ok := true
	err := shop.Webhooks{Orders: shop.NewMemory()}.KKiaPay(context.Background(), kkiapay.Event{
		TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &ok, Amount: payhook.MustAmount("1")})
	require.Error(t, err)
	assert.NotErrorIs(t, err, payhook.ErrUnexpected)
}

// TestUnexpectedOutsidePayhook: a handler called without an expectation
// in its context (not through payhook.WithExpectations) credits nothing
// and answers payhook.ErrUnexpected for a paid payment.
func TestUnexpectedOutsidePayhook(t *testing.T) {
	mem := shop.NewMemory(shop.Order{ID: "o-1", Amount: payhook.MustAmount("10"), Currency: "USD"})
	err := shop.Webhooks{Orders: mem}.Kazawallet(context.Background(), kazawallet.Event{OrderID: "lnk_1", Ref: "o-1",
		Type: kazawallet.Fulfilled, Amount: payhook.MustAmount("10"), Currency: "USD"})
	require.ErrorIs(t, err, payhook.ErrUnexpected)
	o, err := mem.Get(context.Background(), "o-1")
	require.NoError(t, err)
	assert.Equal(t, shop.Pending, o.Status)
}

// TestPlace: an order naming its provider gets its expectation, with the
// order's id as its Ref; one that names none gets none.
func TestPlace(t *testing.T) {
	ctx := context.Background()
	mem, expected := shop.NewMemory(), expect.NewMemory()
	require.NoError(t, shop.Place(ctx, mem, expected, shop.Order{ID: "o-1", Amount: payhook.MustAmount("10.50"), Currency: "USD", Provider: kazawallet.Name}))
	require.NoError(t, shop.Place(ctx, mem, expected, shop.Order{ID: "o-2", Amount: payhook.MustAmount("1"), Currency: "USD"}))
	x, err := expected.Get(ctx, expect.Key{Provider: kazawallet.Name, Ref: "o-1"})
	require.NoError(t, err)
	assert.Equal(t, "10.50", x.Amount)
	assert.Equal(t, "USD", x.Currency)
	_, err = expected.Get(ctx, expect.Key{Provider: kazawallet.Name, Ref: "o-2"})
	assert.ErrorIs(t, err, expect.ErrNotFound)
	assert.ErrorIs(t, shop.Place(ctx, mem, expected, shop.Order{ID: "o-1", Amount: payhook.MustAmount("1"), Currency: "USD"}), shop.ErrOrderExists)
}

// TestOnePaymentPerOrder: a paid order belongs to its payment, a notice is
// applied once, and a failed payment does not stop another from paying.
func TestOnePaymentPerOrder(t *testing.T) {
	ctx := context.Background()
	mem := shop.NewMemory(shop.Order{ID: "o-1", Amount: payhook.MustAmount("10"), Currency: "USD"})
	require.NoError(t, mem.MarkFailed(ctx, "o-1", shop.Payment{Provider: "p", ID: "w", Reason: "declined"}))
	require.NoError(t, mem.MarkPaid(ctx, "o-1", shop.Payment{Provider: "p", ID: "x", Amount: payhook.MustAmount("10.00"), Currency: "USD"}))
	assert.ErrorIs(t, mem.MarkFailed(ctx, "o-1", shop.Payment{Provider: "p", ID: "x", Reason: "timed_out"}), shop.ErrAlreadyApplied)
	assert.ErrorIs(t, mem.MarkFailed(ctx, "o-1", shop.Payment{Provider: "p", ID: "y", Reason: "timed_out"}), shop.ErrOtherPayment)
	assert.ErrorIs(t, mem.MarkPaid(ctx, "o-1", shop.Payment{Provider: "q", ID: "x"}), shop.ErrOtherPayment)
	o, err := mem.Get(ctx, "o-1")
	require.NoError(t, err)
	assert.Equal(t, shop.Paid, o.Status)
	assert.Equal(t, "x", o.PaymentID)
	assert.Len(t, o.History, 2)
	assert.ErrorIs(t, mem.Create(ctx, shop.Order{ID: "o-1", Amount: payhook.MustAmount("1"), Currency: "USD"}), shop.ErrOrderExists)
}
