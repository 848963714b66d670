package kkiapay_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kkiapay/kkiapaytest"
)

// Receive KKiaPay's webhooks with the hash secret set on the dashboard.
// KKiaPay retries until it gets a 2xx; a retry of a processed event is
// acknowledged without reaching the handler.
func ExampleNew() {
	kk, err := kkiapay.New("my_hash_secret")
	if err != nil {
		panic(err) // an empty secret is refused
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kkiapay", payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		fmt.Printf("%s %s: paid=%v amount=%s method=%s\n", e.Type, e.TransactionID, e.Paid(), e.Amount, e.Method)
		return nil
	}))

	body := `{"transactionId":"3iH6wjHJ3","isPaymentSucces":true,"account":"22996000000","method":"MOBILE_MONEY",` +
		`"amount":1000,"fees":19,"performedAt":"2024-03-20T08:55:22.883Z","stateData":{},"event":"transaction.success"}`
	for _, secret := range []string{"my_hash_secret", "my_hash_secret", "a guess"} {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/kkiapay", strings.NewReader(body))
		r.Header.Set(kkiapay.SignatureHeader, kkiapay.Sign(secret))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// transaction.success 3iH6wjHJ3: paid=true amount=1000 method=MOBILE_MONEY
	// 200 ok
	// 200 already processed
	// 401 Unauthorized
}

// Ask the status API about a transaction. kkiapaytest's fake stands in for
// https://api.kkiapay.me; production code leaves WithBaseURL out.
func ExampleClient_Status() {
	api := kkiapaytest.NewAPI(nil)
	defer api.Close()
	api.Set("6516521598463777", kkiapaytest.Transaction(kkiapay.Transaction{TransactionID: "6516521598463777",
		Status: kkiapay.StatusSuccess, Amount: payhook.MustAmount("25350"), Income: payhook.MustAmount("25096"),
		Client: kkiapay.Customer{Fullname: "Anonymous customer"}}))

	cl, err := kkiapay.NewClient(kkiapaytest.PublicKey, kkiapaytest.PrivateKey, kkiapaytest.SecretKey, kkiapay.WithBaseURL(api.URL()))
	if err != nil {
		panic(err)
	}
	tx, err := cl.Status(context.Background(), "6516521598463777")
	if err != nil {
		panic(err) // kkiapay.ErrNotFound, *kkiapay.APIError, or payhook.ErrUnavailable
	}
	fmt.Println(tx.Status, tx.Amount, tx.Income, tx.Client.Fullname)
	_, err = cl.Status(context.Background(), "unknown")
	fmt.Println(err)
	// Output:
	// SUCCESS 25350 25096 Anonymous customer
	// kkiapay: transaction not found: API answered 404
}

// The header proves who sent a webhook, not what it says. With
// confirmation, a webhook is accepted only if the status API agrees with
// its status and amount.
func ExampleWithConfirmation() {
	api := kkiapaytest.NewAPI(nil)
	defer api.Close()
	paid := kkiapay.Event{TransactionID: "3iH6wjHJ3", Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount("1000")}
	api.Confirm(paid) // the API knows the payment of 1000

	kk, err := kkiapay.New("my_hash_secret", kkiapay.WithConfirmation(api.Client()))
	if err != nil {
		panic(err)
	}
	h := payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		fmt.Println("paid", e.Amount, "by", e.Confirmation.Client.Fullname)
		return nil
	})

	rewritten := paid
	rewritten.Amount = payhook.MustAmount("1000000")
	sender := kkiapaytest.Sender{Secret: "my_hash_secret"}
	for _, e := range []kkiapay.Event{rewritten, paid} { // a rewritten body, then the real one
		w := httptest.NewRecorder()
		h.ServeHTTP(w, sender.Request("/webhooks/kkiapay", e))
		fmt.Println(w.Code)
	}
	// Output:
	// 401
	// paid 1000 by Anonymous customer
	// 200
}
