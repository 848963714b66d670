package payhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
)

// The common case: a typed func per provider. nil acknowledges the webhook
// and marks the event done; an error answers 500 and lets a retry in.
func ExampleHandle() {
	kw, err := kazawallet.New("test_api_key", "test_api_secret")
	if err != nil {
		panic(err) // an empty key or secret is refused
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		fmt.Printf("order %s: %s %s %s\n", e.OrderID, e.Type, e.Amount, e.Currency)
		return nil
	}))

	// Kazawallet's delivery, and the same delivery again.
	body := `{"order_id":"ord_123","amount":"10.00","status":"fulfilled","currency":"USD","ref":"user-7",` +
		`"secret":"` + kazawallet.Sign("test_api_key", "test_api_secret", "10.00", "ord_123") + `"}`
	for range 2 {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhooks/kazawallet", strings.NewReader(body)))
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// order ord_123: fulfilled 10.00 USD
	// 200 ok
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
