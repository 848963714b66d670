package acmepay_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/acmepay"
	"github.com/payhook/payhook/providers/acmepay/acmepaytest"
)

// Receive AcmePay's webhooks: the genuine one is processed once, its
// duplicate acknowledged, and a forged one refused.
func ExampleNew() {
	ap, err := acmepay.New("whsec_acme")
	if err != nil {
		panic(err)
	}
	h := payhook.Handle(ap, func(ctx context.Context, e acmepay.Event) error {
		fmt.Println("paid:", e.Paid(), e.ChargeID, e.Amount, e.Currency)
		return nil
	})
	sender := acmepaytest.Sender{Secret: "whsec_acme"}
	e := acmepay.Event{ID: "evt_1", Type: acmepay.ChargeSucceeded, ChargeID: "ch_1", Amount: payhook.MustAmount("12.50"), Currency: "EUR"}
	for _, r := range []*http.Request{
		sender.Request("/webhooks/acmepay", e),
		sender.Request("/webhooks/acmepay", e), // a retry
		sender.Forged("/webhooks/acmepay", e),
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// paid: true ch_1 12.50 EUR
	// 200 ok
	// 200 already processed
	// 401 Unauthorized
}
