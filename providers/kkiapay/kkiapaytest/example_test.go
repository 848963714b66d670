package kkiapaytest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
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
		fmt.Println("received", e.TransactionID, e.Type, e.Amount) // unconfirmed: credit nothing from it
		return nil
	}))

	sender := kkiapaytest.Sender{Secret: "hash-secret"}
	e := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount("1000")}
	to := payhooktest.Handler(mux) // in process; http.DefaultTransport sends to a URL
	for _, r := range []*http.Request{
		sender.Request("/webhooks/kkiapay", e),
		sender.Request("/webhooks/kkiapay", e),
		sender.Forged("/webhooks/kkiapay", e),
	} {
		fmt.Println(deliver.Send(to, r, deliver.Policy{}).Last())
	}
	// Output:
	// received tx_1 transaction.success 1000
	// 200 OK: ok
	// 200 OK: already processed
	// 401 Unauthorized: Unauthorized
}

// Body gives the bytes alone, for requests built by hand.
func ExampleSender_Body() {
	fmt.Println(string(kkiapaytest.Sender{}.Body(kkiapay.Event{
		TransactionID: "3iH6wjHJ3", Type: kkiapay.TransactionFailed, Amount: payhook.MustAmount("1000"),
		FailureCode: "insufficient_fund",
	})))
	// Output:
	// {"transactionId":"3iH6wjHJ3","isPaymentSucces":false,"account":null,"label":"","method":"","amount":1000,"fees":0,"partnerId":"","stateData":{},"event":"transaction.failed","failureCode":"insufficient_fund"}
}

// A fake of KKiaPay's status API confirms webhooks. The webhook here comes
// before the API says SUCCESS: it is answered 503, and KKiaPay's retry,
// once the API has caught up, is processed.
func ExampleAPI() {
	api := kkiapaytest.NewAPI(nil) // in a test: NewKKiaPayAPI(t), closed with the test
	defer api.Close()
	kk, err := kkiapay.New("hash-secret", kkiapay.WithConfirmation(api.Client()))
	if err != nil {
		panic(err)
	}
	h := payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		if e.Paid() {
			fmt.Println("paid", e.Amount, "confirmed", e.Confirmation.Status)
		}
		return nil
	})
	sender := kkiapaytest.Sender{Secret: "hash-secret"}
	e := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount("1000")}

	pending := kkiapaytest.ConfirmedTransaction(e)
	pending.Status = kkiapay.StatusPending
	api.Set("tx_1", kkiapaytest.Transaction(pending))
	policy := sender.Policy()
	policy.Sleep = func(ctx context.Context, d time.Duration) error {
		api.Confirm(e) // meanwhile the payment went through
		return nil
	}
	fmt.Println(deliver.Send(payhooktest.Handler(h), sender.Request("/webhooks/kkiapay", e), policy))
	fmt.Println(len(api.Calls()), "calls of the status API")
	// Output:
	// paid 1000 confirmed SUCCESS
	// attempt 1: 503 Service Unavailable (Retry-After: 30): Service Unavailable
	// attempt 2 (after 500ms): 200 OK: ok
	// 2 calls of the status API
}

// KKiaPay sends a webhook again until it is answered 2xx, at most five
// times: a handler that fails twice still gets the event. The waits are
// reported; Policy.Sleep decides whether they are waited.
func ExampleSender_Policy() {
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
	sender := kkiapaytest.Sender{Secret: "hash-secret"}
	e := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount("1000")}

	res := deliver.Send(payhooktest.Handler(h), sender.Request("/webhooks/kkiapay", e), sender.Policy())
	fmt.Println(res)
	fmt.Println("acknowledged:", res.Acknowledged())
	// Output:
	// attempt 1: 500 Internal Server Error: Internal Server Error
	// attempt 2 (after 500ms): 500 Internal Server Error: Internal Server Error
	// attempt 3 (after 1s): 200 OK: ok
	// acknowledged: true
}
