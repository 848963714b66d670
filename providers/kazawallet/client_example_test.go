package kazawallet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
)

// Creating a payment link, here against a server that answers as
// Kazawallet does. Production code leaves WithBaseURL out.
func ExampleClient_CreatePaymentLink() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-api-key") != "my-api-key" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"message":"User not found","details":{"key":"USER_NOT_FOUND"}}}`)
			return
		}
		io.WriteString(w, `{"url":"https://outdoor.kasroad.com/wallet/pay/lnk_42","order_id":"lnk_42"}`)
	}))
	defer api.Close()

	kw, err := kazawallet.NewClient("my-api-key", kazawallet.WithBaseURL(api.URL))
	if err != nil {
		log.Fatal(err)
	}
	link, err := kw.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{
		Amount:      payhook.MustAmount("10.00"),
		Currency:    "USD",
		Email:       "merchant@example.com",
		Ref:         "order-1001",
		RedirectURL: "https://shop.example/return?kazawallet=success",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(link.URL, link.OrderID)

	wrong, _ := kazawallet.NewClient("wrong-key", kazawallet.WithBaseURL(api.URL))
	_, err = wrong.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{Amount: payhook.MustAmount("5"), Currency: "USD"})
	var apiErr *kazawallet.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Key)
	}
	// Output:
	// https://outdoor.kasroad.com/wallet/pay/lnk_42 lnk_42
	// 404 USER_NOT_FOUND
}
