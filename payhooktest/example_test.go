package payhooktest_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// A test of an application's KKiaPay handler: a genuine webhook reaches
// it, a duplicate is acknowledged without reaching it, a forged one is
// refused.
func Example() {
	kk, err := kkiapay.New("hash-secret")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kkiapay", payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		fmt.Println("credit", e.TransactionID, e.Amount)
		return nil
	}))

	sender := payhooktest.KKiaPay{Secret: "hash-secret"}
	e := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount("1000")}
	to := payhooktest.Handler(mux) // in process; http.DefaultTransport sends to a URL
	for _, r := range []*http.Request{
		sender.Request("/webhooks/kkiapay", e),
		sender.Request("/webhooks/kkiapay", e),
		sender.Forged("/webhooks/kkiapay", e),
	} {
		fmt.Println(payhooktest.Deliver(to, r, payhooktest.Policy{}).Last())
	}
	// Output:
	// credit tx_1 1000
	// 200 OK: ok
	// 200 OK: already processed
	// 401 Unauthorized: Unauthorized
}

// The builders' requests also serve a handler directly, as
// httptest.NewRequest's do.
func ExampleKazawallet_Request() {
	kw, err := kazawallet.New("api-key", "api-secret")
	if err != nil {
		panic(err)
	}
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		fmt.Println(e.OrderID, e.Status, e.Amount, e.Currency, "ref", e.Ref)
		return nil
	})
	sender := payhooktest.Kazawallet{APIKey: "api-key", APISecret: "api-secret"}
	e := kazawallet.Event{OrderID: "lnk_1", Amount: payhook.MustAmount("10.00"), Ref: "order-42",
		Status: kazawallet.StatusFulfilled, Currency: "USD"}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, sender.Request("/webhooks/kazawallet", e))
	fmt.Println(w.Code)
	// Output:
	// lnk_1 fulfilled 10.00 USD ref order-42
	// 200
}

// Body gives the bytes alone, for requests built by hand.
func ExampleKKiaPay_Body() {
	fmt.Println(string(payhooktest.KKiaPay{}.Body(kkiapay.Event{
		TransactionID: "3iH6wjHJ3", Type: kkiapay.TransactionFailed, Amount: payhook.MustAmount("1000"),
		FailureCode: "insufficient_fund",
	})))
	// Output:
	// {"transactionId":"3iH6wjHJ3","isPaymentSucces":false,"account":null,"label":"","method":"","amount":1000,"fees":0,"partnerId":"","stateData":{},"event":"transaction.failed","failureCode":"insufficient_fund"}
}

// KKiaPay sends a webhook again until it is answered 2xx, at most five
// times: a handler that fails twice still gets the event. The waits are
// reported; Policy.Sleep decides whether they are waited.
func ExampleDeliver() {
	kk, err := kkiapay.New("hash-secret")
	if err != nil {
		panic(err)
	}
	failures := 2
	h := payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		if failures > 0 {
			failures--
			return errors.New("database down")
		}
		return nil
	})
	sender := payhooktest.KKiaPay{Secret: "hash-secret"}
	e := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount("1000")}

	res := payhooktest.Deliver(payhooktest.Handler(h), sender.Request("/webhooks/kkiapay", e), sender.Policy())
	fmt.Println(res)
	fmt.Println("acknowledged:", res.Acknowledged())
	// Output:
	// attempt 1: 500 Internal Server Error: Internal Server Error
	// attempt 2 (after 500ms): 500 Internal Server Error: Internal Server Error
	// attempt 3 (after 1s): 200 OK: ok
	// acknowledged: true
}

// Five copies of one webhook at once: payhook processes one. The others
// are answered 409 while it runs, or 200 once it is done.
func ExampleDeliverN() {
	kw, err := kazawallet.New("api-key", "api-secret")
	if err != nil {
		panic(err)
	}
	processed := 0
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		processed++ // safe: payhook runs one delivery of an event at a time
		return nil
	})
	sender := payhooktest.Kazawallet{APIKey: "api-key", APISecret: "api-secret"}
	e := kazawallet.Event{OrderID: "lnk_1", Amount: payhook.MustAmount("10"), Status: kazawallet.StatusFulfilled}

	answered := 0
	for _, res := range payhooktest.DeliverN(payhooktest.Handler(h), sender.Request("/", e), sender.Policy(), 5) {
		if s := res.Last().Status; s == http.StatusOK || s == http.StatusConflict {
			answered++
		}
	}
	fmt.Println("answered 200 or 409:", answered, "processed:", processed)
	// Output:
	// answered 200 or 409: 5 processed: 1
}

// A fake of KKiaPay's status API confirms webhooks. The webhook here comes
// before the API says SUCCESS: it is answered 503, and KKiaPay's retry,
// once the API has caught up, is processed.
func ExampleKKiaPayAPI() {
	api := payhooktest.NewKKiaPayAPI(nil) // in a test: NewKKiaPayAPI(t), closed with the test
	defer api.Close()
	kk, err := kkiapay.New("hash-secret", kkiapay.WithConfirmation(api.Client()))
	if err != nil {
		panic(err)
	}
	h := payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		fmt.Println("paid", e.Amount, "confirmed", e.Confirmation.Status)
		return nil
	})
	sender := payhooktest.KKiaPay{Secret: "hash-secret"}
	e := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount("1000")}

	pending := payhooktest.ConfirmedTransaction(e)
	pending.Status = kkiapay.StatusPending
	api.Set("tx_1", payhooktest.Transaction(pending))
	policy := sender.Policy()
	policy.Sleep = func(ctx context.Context, d time.Duration) error {
		api.Confirm(e) // meanwhile the payment went through
		return nil
	}
	fmt.Println(payhooktest.Deliver(payhooktest.Handler(h), sender.Request("/webhooks/kkiapay", e), policy))
	fmt.Println(len(api.Calls()), "calls of the status API")
	// Output:
	// paid 1000 confirmed SUCCESS
	// attempt 1: 503 Service Unavailable: Service Unavailable
	// attempt 2 (after 500ms): 200 OK: ok
	// 2 calls of the status API
}

// KasperoPay signs nothing by default: its webhooks are confirmed through
// the status API. The fake answers per payment: confirmed, another amount,
// unknown, down or slow.
func ExampleKasperoPayAPI() {
	api := payhooktest.NewKasperoPayAPI(nil)
	defer api.Close()
	kp, err := kasperopay.New(kasperopay.WithBaseURL(api.URL()), kasperopay.WithTimeout(50*time.Millisecond),
		kasperopay.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	h := payhooktest.Handler(payhook.Handle(kp, func(ctx context.Context, e kasperopay.Event) error { return nil }))
	sender := payhooktest.KasperoPay{}
	event := func(id string) kasperopay.Event {
		return kasperopay.Event{Type: kasperopay.EventPaymentCompleted, PaymentID: id, AmountKAS: payhook.MustAmount("150.5")}
	}

	api.Confirm(event("pay_ok"))
	cheaper := payhooktest.ConfirmedPayment(event("pay_cheaper"))
	cheaper.AmountKAS = payhook.MustAmount("1.5")
	api.Set("pay_cheaper", payhooktest.Payment(cheaper))
	api.Set("pay_down", payhooktest.Down())
	api.Set("pay_slow", payhooktest.Slow(time.Hour, payhooktest.Payment(payhooktest.ConfirmedPayment(event("pay_slow")))))
	for _, id := range []string{"pay_ok", "pay_cheaper", "pay_unknown", "pay_down", "pay_slow"} {
		res := payhooktest.Deliver(h, sender.Request("/webhooks/kasperopay", event(id)), sender.Policy())
		fmt.Println(id, res.Last().Status)
	}
	// Output:
	// pay_ok 200
	// pay_cheaper 401
	// pay_unknown 401
	// pay_down 503
	// pay_slow 503
}

// A test of an application that creates Kazawallet payment links, then
// receives the link's webhook.
func ExampleKazawalletAPI() {
	api := payhooktest.NewKazawalletAPI(nil)
	defer api.Close()
	link, err := api.Client().CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{
		Amount: payhook.MustAmount("25.00"), Currency: "USD", Ref: "order-42",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("created", link.OrderID)

	kw, err := kazawallet.New("api-key", "api-secret")
	if err != nil {
		panic(err)
	}
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		fmt.Println("order", e.Ref, "paid:", e.Paid(), e.Amount, e.Currency)
		return nil
	})
	paid := api.Links()[0].Event(kazawallet.StatusFulfilled)
	sender := payhooktest.Kazawallet{APIKey: "api-key", APISecret: "api-secret"}
	payhooktest.Deliver(payhooktest.Handler(h), sender.Request("/webhooks/kazawallet", paid), sender.Policy())
	// Output:
	// created lnk_1
	// order order-42 paid: true 25.00 USD
}

// A Clock runs the middleware and its store: a processed event is
// remembered for the retention, and forgotten once the clock has moved
// past it, without a test sleeping for a week.
func ExampleClock() {
	clock := &payhooktest.Clock{}
	kw, err := kazawallet.New("api-key", "api-secret")
	if err != nil {
		panic(err)
	}
	h := payhooktest.Handler(payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error { return nil },
		clock.Options()...))
	sender := payhooktest.Kazawallet{APIKey: "api-key", APISecret: "api-secret"}
	e := kazawallet.Event{OrderID: "lnk_1", Amount: payhook.MustAmount("10"), Status: kazawallet.StatusFulfilled}
	deliver := func() { fmt.Print(payhooktest.Deliver(h, sender.Request("/", e), sender.Policy()).Last().Body) }

	deliver()
	deliver()
	clock.Advance(payhook.DefaultRetention)
	deliver()
	// Output:
	// ok
	// already processed
	// ok
}
