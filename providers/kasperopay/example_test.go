package kasperopay_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kasperopay"
)

// statusAPI plays KasperoPay's status API for the examples.
func statusAPI() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/pay/status/pay_xyz789" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"Payment not found"}`)
			return
		}
		confirmed := time.Now().UTC().Add(-5 * time.Second) // KasperoPay posts its webhook as it confirms
		fmt.Fprintf(w, `{"payment_id":"pay_xyz789","status":"completed","amount_kas":150.5,"amount_usd":15.05,`+
			`"txid":"abc123def456","store_name":"Your Store","confirmed_at":%q,"expires_at":%q}`,
			confirmed.Format(time.RFC3339), confirmed.Add(15*time.Minute).Format(time.RFC3339))
	}))
}

// Receiving KasperoPay webhooks: each one is confirmed through the status
// API before the handler sees it. Production code leaves WithBaseURL out.
func Example() {
	api := statusAPI()
	defer api.Close()

	kp, err := kasperopay.New(kasperopay.WithBaseURL(api.URL))
	if err != nil {
		log.Fatal(err)
	}
	h := payhook.Handle(kp, func(ctx context.Context, e kasperopay.Event) error {
		// Without a webhook secret only the payment id, amount and
		// transaction id are confirmed: find the order by PaymentID.
		fmt.Println("paid:", e.PaymentID, e.AmountKAS, "KAS, tx", e.Confirmed.TxID)
		return nil
	})
	srv := httptest.NewServer(h)
	defer srv.Close()

	post := func(body string) {
		res, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		res.Body.Close()
		fmt.Println(res.StatusCode)
	}
	post(`{"event":"payment.completed","timestamp":"2026-01-30T15:30:00.000Z","payment_id":"pay_xyz789",` +
		`"order_id":null,"amount_kas":150.5,"transaction_id":"abc123def456","item":"T-Shirt"}`)
	post(`{"event":"payment.completed","payment_id":"pay_forged","amount_kas":"1000"}`)
	// Output:
	// paid: pay_xyz789 150.5 KAS, tx abc123def456
	// 200
	// 401
}

// Polling a payment instead of waiting for its webhook.
func ExampleClient_Status() {
	api := statusAPI()
	defer api.Close()

	c, err := kasperopay.NewClient(kasperopay.WithBaseURL(api.URL))
	if err != nil {
		log.Fatal(err)
	}
	p, err := c.Status(context.Background(), "pay_xyz789")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Status, p.AmountKAS, p.TxID, time.Since(p.ConfirmedAt) < time.Minute)

	_, err = c.Status(context.Background(), "pay_unknown")
	fmt.Println(err)
	// Output:
	// completed 150.5 abc123def456 true
	// kasperopay: payment not found: "pay_unknown"
}

// With a webhook secret, the signature header is required and checked
// before the status API is called.
func ExampleWithWebhookSecret() {
	kp, err := kasperopay.New(kasperopay.WithWebhookSecret("whsec_from_the_dashboard"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = kp.Verify(context.Background(), http.Header{}, []byte(`{"event":"payment.completed","payment_id":"pay_1"}`))
	fmt.Println(err)

	_, err = kasperopay.New(kasperopay.WithoutConfirmation())
	fmt.Println(err)
	// Output:
	// kasperopay: payhook: invalid signature: no X-KasperoPay-Signature header
	// kasperopay: payhook: invalid configuration: confirmation off without a webhook secret would accept any unsigned body
}
