package kkiapay_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kkiapay"
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
		fmt.Printf("%s %s: succeeded=%v amount=%s method=%s\n", e.Type, e.TransactionID, e.Succeeded(), e.Amount, e.Method)
		return nil
	}))

	body := `{"transactionId":"3iH6wjHJ3","isPaymentSucces":true,"account":"22996000000","method":"MOBILE_MONEY",` +
		`"amount":1000,"fees":19,"performedAt":"2024-03-20T08:55:22.883Z","stateData":{},"event":"transaction.success"}`
	for _, secret := range []string{"my_hash_secret", "my_hash_secret", "a guess"} {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/kkiapay", strings.NewReader(body))
		kkiapay.SetSecretHeader(r.Header, secret)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// transaction.success 3iH6wjHJ3: succeeded=true amount=1000 method=MOBILE_MONEY
	// 200 ok
	// 200 already processed
	// 401 Unauthorized
}

// Ask the status API about a transaction. The httptest server stands in for
// https://api.kkiapay.me.
func ExampleClient_Status() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"performed_at":"2026-07-13T06:34:50.276Z","status":"SUCCESS","source":"MOBILE_MONEY",`+
			`"amount":25350,"fees":254,"income":25096,"transactionId":"6516521598463777","performedAt":"13/07/2026",`+
			`"client":{"fullname":"Anonymous customer","phone":"2290167329510","email":""}}`)
	}))
	defer api.Close()

	cl, err := kkiapay.NewClient("public_key", "private_key", "secret_key", kkiapay.WithBaseURL(api.URL))
	if err != nil {
		panic(err)
	}
	tx, err := cl.Status(context.Background(), "6516521598463777")
	if err != nil {
		panic(err) // kkiapay.ErrNotFound, *kkiapay.APIError, or payhook.ErrUnavailable
	}
	fmt.Println(tx.Status, tx.Amount, tx.Income, tx.Client.Fullname)
	fmt.Println(tx.PerformedAt.Format("2006-01-02 15:04:05"), tx.PerformedOn.Format("2006-01-02"))
	// Output:
	// SUCCESS 25350 25096 Anonymous customer
	// 2026-07-13 06:34:50 2026-07-13
}

// The header proves who sent a webhook, not what it says. With
// confirmation, a webhook is accepted only if the status API agrees with
// its status and amount.
func ExampleWithConfirmation() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"transactionId":"3iH6wjHJ3","status":"SUCCESS","amount":1000,"client":{"fullname":"Awa"}}`)
	}))
	defer api.Close()
	cl, err := kkiapay.NewClient("public_key", "private_key", "secret_key", kkiapay.WithBaseURL(api.URL))
	if err != nil {
		panic(err)
	}
	kk, err := kkiapay.New("my_hash_secret", kkiapay.WithConfirmation(cl))
	if err != nil {
		panic(err)
	}
	h := payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
		fmt.Println("paid", e.Amount, "by", e.Confirmation.Client.Fullname)
		return nil
	})

	for _, amount := range []string{"1000000", "1000"} { // a rewritten body, then the real one
		body := `{"transactionId":"3iH6wjHJ3","isPaymentSucces":true,"amount":` + amount + `,"event":"transaction.success"}`
		r := httptest.NewRequest(http.MethodPost, "/webhooks/kkiapay", strings.NewReader(body))
		kkiapay.SetSecretHeader(r.Header, "my_hash_secret")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code)
	}
	// Output:
	// 401
	// paid 1000 by Awa
	// 200
}
