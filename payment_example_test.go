package payhook_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// credit is a shop's one func for every provider. payhook has found the
// payment's expectation and checked it before calling it: the paid amount
// and currency are the expected ones, the expectation is settled once, and
// the payment settles no other. So the order is the expectation's, for
// Kazawallet too, whose ref no signature covers.
func credit(ctx context.Context, p payhook.Payment) error {
	if !p.Paid() {
		return nil // failed, expired or timed out: nothing to credit
	}
	x, ok := payhook.ExpectationFrom(ctx)
	if !ok {
		// Not expected (yet: the page may still be adding it). Answered
		// 503 and retried; with an inbox, kept dead for an operator after
		// the last attempt.
		return fmt.Errorf("shop: %s payment %s: %w", p.Provider, p.ID, payhook.ErrUnexpected)
	}
	fmt.Printf("order %s paid: %s %s by %s\n", x.Ref, p.Amount, p.Currency, p.Provider)
	return nil
}

// Three providers, one func that credits orders, and one rule to find an
// order: the expectation the shop added when it started the payment.
func Example_payments() {
	ctx := context.Background()
	// The providers' status APIs, faked for the example.
	kkAPI, kpAPI := kkiapaytest.NewAPI(nil), kasperopaytest.NewAPI(nil)
	defer kkAPI.Close()
	defer kpAPI.Close()

	kw, _ := kazawallet.New("test_api_key", "test_api_secret")
	kk, _ := kkiapay.New("test_hash_secret", kkiapay.WithConfirmation(kkAPI.Client()))
	kp, _ := kasperopay.New(kasperopay.WithConfirmation(kpAPI.Client()))

	// The expectations, and the second door: r polls KKiaPay's and
	// KasperoPay's status APIs for payments no webhook brought (run it
	// beside the server: go r.Run(ctx)), and reports those of Kazawallet,
	// which has no status API, overdue.
	r := payhook.NewReconciler(expect.NewMemory())
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		return credit(ctx, e.Payment())
	}, payhook.WithReconciler(r)))
	mux.Handle("POST /webhooks/kkiapay", payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		return credit(ctx, e.Payment())
	}, payhook.WithReconciler(r)))
	mux.Handle("POST /webhooks/kasperopay", payhook.Handle(kp, func(ctx context.Context, e kasperopay.Event) error {
		return credit(ctx, e.Payment())
	}, payhook.WithReconciler(r)))

	// When it starts a payment, the shop says what it expects: by the
	// reference it gave Kazawallet's createPaymentLink, by the transaction
	// id KKiaPay's widget handed the page, by KasperoPay's payment id.
	for _, x := range []expect.Expectation{
		{Provider: kazawallet.Name, Ref: "order_1", Amount: "10.00", Currency: "USD"},
		{Provider: kkiapay.Name, ID: "tx_1", Ref: "order_2", Amount: "1000", Currency: "XOF"},
		{Provider: kasperopay.Name, ID: "pay_1", Ref: "order_3", Amount: "25.5", Currency: "KAS"},
	} {
		if err := r.Expect(ctx, x); err != nil {
			panic(err)
		}
	}

	// The providers' webhooks, and a second Kazawallet payment naming an
	// order already paid (another link, the same ref): not credited twice.
	ok := true
	kkEvent := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &ok, Amount: payhook.MustAmount("1000")}
	kkAPI.Confirm(kkEvent)
	kpEvent := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: "pay_1", AmountKAS: payhook.MustAmount("25.5"), Timestamp: time.Now()}
	kpAPI.Confirm(kpEvent)
	kwSender := kazawallettest.Sender{APIKey: "test_api_key", APISecret: "test_api_secret"}
	paid := kazawallet.Event{OrderID: "ord_9", Ref: "order_1", Type: kazawallet.Fulfilled, Amount: payhook.MustAmount("10.00"), Currency: "USD"}
	again := paid
	again.OrderID = "ord_8"
	for _, req := range []*http.Request{
		kwSender.Request("/webhooks/kazawallet", paid),
		kkiapaytest.Sender{Secret: "test_hash_secret"}.Request("/webhooks/kkiapay", kkEvent),
		kasperopaytest.Sender{}.Request("/webhooks/kasperopay", kpEvent),
		kwSender.Request("/webhooks/kazawallet", again),
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		fmt.Println(w.Code)
	}
	// Output:
	// order order_1 paid: 10.00 USD by kazawallet
	// 200
	// order order_2 paid: 1000 XOF by kkiapay
	// 200
	// order order_3 paid: 25.5 KAS by kasperopay
	// 200
	// 500
}

// What ExampleNewReconciler needs around it: in an application, durable
// stores (sqlitestore, pgstore, ...) and the inbox of the same backend.
var (
	kkiapayClient, _ = kkiapay.NewClient("public_key", "private_key", "secret_key")
	expectations     = expect.NewMemory()
	keys             = idempotency.NewMemory()
	entries, _       = inbox.New(inbox.NewMemory())
	logger           = slog.Default()
)

// A reconciler beside the server: it polls KKiaPay's status API for the
// payments whose webhook never came, on every replica (the store leases
// each expectation to one), and reports overdue ones at error level.
func ExampleNewReconciler() {
	ctx := context.Background()
	kk, err := kkiapay.New("hash_secret", kkiapay.WithConfirmation(kkiapayClient))
	if err != nil {
		panic(err)
	}
	r := payhook.NewReconciler(expectations, payhook.WithReconcileLogger(logger))
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kkiapay", payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		return credit(ctx, e.Payment())
	}, payhook.WithReconciler(r), payhook.WithStore(keys), payhook.WithInbox(entries)))
	go r.Run(ctx)

	// When the widget hands the page a transaction id:
	err = r.Expect(ctx, expect.Expectation{Provider: kkiapay.Name, ID: "tx_123", Ref: "order_42",
		Amount: "1000", Currency: "XOF", Deadline: time.Now().Add(time.Hour)})
	if errors.Is(err, expect.ErrExists) {
		err = nil // the page said so twice
	}
	if err != nil {
		panic(err)
	}
}
