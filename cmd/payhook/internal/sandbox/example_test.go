package sandbox_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/cmd/payhook/internal/sandbox"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// startSandbox stands for payhook sandbox, which serves the same on
// http://127.0.0.1:8090.
func startSandbox(cfg sandbox.Config) (base string, stop func()) {
	sb, err := sandbox.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	return srv.URL, func() { srv.Close(); sb.Close() }
}

// startPayment starts a payment on the sandbox's home page form, as a
// person does in a browser, and returns the payment's id.
func startPayment(base, provider string, form url.Values) string {
	res, err := http.PostForm(base+"/checkout/"+provider, form)
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	return path.Base(res.Request.URL.Path) // the checkout page it landed on
}

// kazawallet.Client makes payment links on the sandbox when its base URL
// is the sandbox's followed by /wallet, as Kazawallet's own ends in
// /wallet: http://127.0.0.1:8090/wallet for payhook sandbox. The link is
// the sandbox's checkout page. As far as Kazawallet's answer is known, it
// holds the link only: the link's id reaches you in the webhook's
// order_id, beside your ref.
func Example_kazawalletClient() {
	base, stop := startSandbox(sandbox.Config{Kazawallet: sandbox.KazawalletConfig{
		APIKey: "test_api_key", APISecret: "test_api_secret", Webhook: "http://localhost:8080/webhooks/kazawallet",
	}})
	defer stop()

	cl, err := kazawallet.NewClient("test_api_key", kazawallet.WithBaseURL(base+"/wallet"))
	if err != nil {
		log.Fatal(err)
	}
	link, err := cl.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{
		Amount: payhook.MustAmount("10.00"), Currency: "USD", Ref: "order-42",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a checkout page of the sandbox:", strings.HasPrefix(link.URL, base+"/checkout/kazawallet/"))
	fmt.Printf("order id in the answer: %q\n", link.OrderID)

	wrong, _ := kazawallet.NewClient("not_the_key", kazawallet.WithBaseURL(base+"/wallet"))
	_, err = wrong.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{Amount: payhook.MustAmount("1"), Currency: "USD"})
	fmt.Println(err)
	// Output:
	// a checkout page of the sandbox: true
	// order id in the answer: ""
	// kazawallet: API answered 404: User not found (USER_NOT_FOUND)
}

// kkiapay.Client asks the sandbox's status API when its base URL is the
// sandbox's: http://127.0.0.1:8090 for payhook sandbox (KKIAPAY_API_URL
// for payhook serve). The transaction is PENDING until its checkout's
// Succeed or Fail is pressed.
func Example_kkiapayClient() {
	base, stop := startSandbox(sandbox.Config{KKiaPay: sandbox.KKiaPayConfig{
		HashSecret: "hash_secret", PublicKey: "pk_test", PrivateKey: "tpk_test", SecretKey: "tsk_test",
		Webhook: "http://localhost:8080/webhooks/kkiapay",
	}})
	defer stop()
	id := startPayment(base, "kkiapay", url.Values{"amount": {"1000"}, "method": {"MOBILE_MONEY"}, "account": {"22996000000"}})

	cl, err := kkiapay.NewClient("pk_test", "tpk_test", "tsk_test", kkiapay.WithBaseURL(base))
	if err != nil {
		log.Fatal(err)
	}
	tx, err := cl.Status(context.Background(), id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tx.Status, tx.Amount, tx.Source, tx.Client.Phone)
	// Output:
	// PENDING 1000 MOBILE_MONEY 22996000000
}

// kasperopay.Client asks the sandbox's status API when its base URL is
// the sandbox's: http://127.0.0.1:8090 for payhook sandbox
// (KASPEROPAY_API_URL for payhook serve). The payment is pending until its
// checkout's Pay is pressed, and expires 15 minutes after it started.
func Example_kasperopayClient() {
	base, stop := startSandbox(sandbox.Config{KasperoPay: sandbox.KasperoPayConfig{
		On: true, Webhook: "http://localhost:8080/webhooks/kasperopay",
	}})
	defer stop()
	id := startPayment(base, "kasperopay", url.Values{"amount": {"25.5"}, "item": {"T-Shirt"}})

	cl, err := kasperopay.NewClient(kasperopay.WithBaseURL(base))
	if err != nil {
		log.Fatal(err)
	}
	p, err := cl.Status(context.Background(), id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s KAS (%s USD), confirmed at %v, txid %q\n", p.Status, p.AmountKAS, p.AmountUSD, p.ConfirmedAt, p.TxID)
	// Output:
	// pending: 25.5 KAS (2.55 USD), confirmed at 0001-01-01 00:00:00 +0000 UTC, txid ""
}
