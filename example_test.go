package payhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/providers/kazawallet"
)

// The common case: a typed func per provider. It credits an order only
// when the event is a payment, and only the order of the payment's
// expectation: the one rule for finding orders (docs/reconcile.md). nil
// acknowledges the webhook and marks the event done; an error answers with
// an error status and lets a retry in.
func ExampleHandle() {
	kw, err := kazawallet.New("test_api_key", "test_api_secret")
	if err != nil {
		panic(err) // an empty key or secret is refused
	}
	// When the shop creates the payment link of its order 1001
	// (kazawallet.Client.CreatePaymentLink, with the ref "1001"), it says
	// what it expects: Kazawallet may answer with the link's URL only.
	expected := expect.NewMemory()
	if err := expected.Add(context.Background(), expect.Expectation{Provider: kazawallet.Name, Ref: "1001",
		Amount: "10.00", Currency: "USD", Deadline: time.Now().Add(24 * time.Hour)}); err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		if !e.Paid() {
			return nil // the link timed out: nothing to credit
		}
		// The order of the payment's expectation: payhook found it by the
		// ref, checked the signed amount and the currency against it, and
		// settled it once; this order_id settles no other.
		x, ok := payhook.ExpectationFrom(ctx)
		if !ok {
			return payhook.ErrUnexpected // 503, retried: it may be on its way
		}
		fmt.Printf("order %s paid: %s %s\n", x.Ref, e.Amount, e.Currency)
		return nil
	}, payhook.WithExpectations(expected)))

	// Kazawallet's delivery, the same delivery again, and again with its
	// unsigned ref rewritten to name another order.
	body := `{"order_id":"ord_123","amount":"10.00","status":"fulfilled","currency":"USD","ref":"1001",` +
		`"secret":"` + kazawallet.Sign("test_api_key", "test_api_secret", "10.00", "ord_123") + `"}`
	for _, b := range []string{body, body, strings.Replace(body, `"1001"`, `"1002"`, 1)} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhooks/kazawallet", strings.NewReader(b)))
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// order 1001 paid: 10.00 USD
	// 200 ok
	// 200 already processed
	// 200 already processed
}

// The middleware form, for handlers that write their own answer or sit in a
// router's middleware chain: the verified event is in the request's context.
func ExampleMiddleware() {
	kw, err := kazawallet.New("test_api_key", "test_api_secret")
	if err != nil {
		panic(err)
	}
	verified := payhook.Middleware(kw)
	h := verified(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, _ := kazawallet.EventFrom(r.Context())
		fmt.Println("paid:", e.Paid(), e.OrderID)
		w.WriteHeader(http.StatusNoContent)
	}))

	forged := `{"order_id":"ord_1","amount":"1000.00","status":"fulfilled","secret":"` +
		kazawallet.Sign("test_api_key", "test_api_secret", "10.00", "ord_1") + `"}`
	genuine := strings.Replace(forged, "1000.00", "10.00", 1)
	for _, body := range []string{forged, genuine} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
		fmt.Println(w.Code)
	}
	// Output:
	// 401
	// paid: true ord_1
	// 204
}

func ExampleEventFrom() {
	h := payhook.Middleware(mustKazawallet())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, ok := payhook.EventFrom[kazawallet.Event](r.Context())
		fmt.Println(ok, e.OrderID, e.SignedAmount)
	}))
	body := "order_id=ord_7&amount=10&status=fulfilled&secret=" +
		strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(kazawallet.Sign("test_api_key", "test_api_secret", "10.00", "ord_7"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)))
	// Output:
	// true ord_7 10.00
}

func mustKazawallet() *kazawallet.Provider {
	kw, err := kazawallet.New("test_api_key", "test_api_secret")
	if err != nil {
		panic(err)
	}
	return kw
}
