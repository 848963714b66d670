package kasperopay_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
)

// Receiving KasperoPay webhooks: each one is confirmed through the status
// API before the handler sees it. kasperopaytest's fake stands in for the
// API here; production code calls kasperopay.New() without options.
func Example() {
	api := kasperopaytest.NewAPI(nil)
	defer api.Close()
	api.Confirm(kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: "pay_xyz789",
		AmountKAS: payhook.MustAmount("150.5"), TransactionID: "abc123def456"})

	kp, err := kasperopay.New(kasperopay.WithConfirmation(api.Client()))
	if err != nil {
		log.Fatal(err)
	}
	// The expectation the shop added when the widget's onPayment gave its
	// page the payment id of order 42.
	expected := expect.NewMemory()
	if err := expected.Add(context.Background(), expect.Expectation{Provider: kasperopay.Name, ID: "pay_xyz789",
		Ref: "order_42", Amount: "150.5", Currency: "KAS", Deadline: time.Now().Add(time.Hour)}); err != nil {
		log.Fatal(err)
	}
	h := payhook.Handle(kp, func(ctx context.Context, e kasperopay.Event) error {
		// Without a webhook secret only the payment id, status, amount and
		// transaction id are confirmed: the order is the expectation's,
		// found by the payment id (docs/reconcile.md), never e.OrderID.
		x, ok := payhook.ExpectationFrom(ctx)
		if e.Paid() && !ok {
			return payhook.ErrUnexpected
		}
		if e.Paid() {
			fmt.Println(x.Ref, "paid:", e.PaymentID, e.AmountKAS, "KAS, tx", e.Confirmation.TxID)
		}
		return nil
	}, payhook.WithExpectations(expected))

	post := func(body string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhooks/kasperopay", strings.NewReader(body)))
		fmt.Println(w.Code)
	}
	post(`{"event":"payment.completed","payment_id":"pay_xyz789","order_id":null,"amount_kas":150.5,` +
		`"transaction_id":"abc123def456","item":"T-Shirt"}`)
	post(`{"event":"payment.completed","payment_id":"pay_forged","amount_kas":"1000"}`)
	// Output:
	// order_42 paid: pay_xyz789 150.5 KAS, tx abc123def456
	// 200
	// 401
}

// Polling a payment instead of waiting for its webhook.
func ExampleClient_Status() {
	api := kasperopaytest.NewAPI(nil)
	defer api.Close()
	api.Confirm(kasperopay.Event{PaymentID: "pay_xyz789", AmountKAS: payhook.MustAmount("150.5"), TransactionID: "abc123def456"})

	c, err := kasperopay.NewClient(kasperopay.WithBaseURL(api.URL())) // production: kasperopay.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	p, err := c.Status(context.Background(), "pay_xyz789")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Status, p.AmountKAS, p.TxID, p.Completed())

	_, err = c.Status(context.Background(), "pay_unknown")
	fmt.Println(err)
	// Output:
	// completed 150.5 abc123def456 true
	// kasperopay: payment not found: "pay_unknown"
}

// With a webhook secret, the signature header is required and checked
// before the status API is called.
func ExampleWithSecrets() {
	kp, err := kasperopay.New(kasperopay.WithSecrets("whsec_from_the_dashboard"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = kp.Verify(context.Background(), http.Header{}, []byte(`{"event":"payment.completed","payment_id":"pay_1"}`))
	fmt.Println(err)

	_, err = kasperopay.New(kasperopay.WithoutConfirmation())
	fmt.Println(err)
	// Output:
	// kasperopay: payhook: invalid signature: no X-KasperoPay-Signature header
	// kasperopay: payhook: invalid configuration: WithoutConfirmation without WithSecrets would accept any unsigned body
}
