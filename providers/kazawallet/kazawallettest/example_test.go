package kazawallettest_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// The builders' requests also serve a handler directly, as
// httptest.NewRequest's do.
func ExampleSender_Request() {
	kw, err := kazawallet.New("api-key", "api-secret")
	if err != nil {
		panic(err)
	}
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		fmt.Println(e.OrderID, e.Type, e.Amount, e.Currency, "ref", e.Ref)
		return nil
	})
	sender := kazawallettest.Sender{APIKey: "api-key", APISecret: "api-secret"}
	e := kazawallet.Event{OrderID: "lnk_1", Amount: payhook.MustAmount("10.00"), Ref: "order-42",
		Type: kazawallet.Fulfilled, Currency: "USD"}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, sender.Request("/webhooks/kazawallet", e))
	fmt.Println(w.Code)
	// Output:
	// lnk_1 fulfilled 10.00 USD ref order-42
	// 200
}

// A test of an application that creates Kazawallet payment links, then
// receives the link's webhook.
func ExampleAPI() {
	api := kazawallettest.NewAPI(nil)
	defer api.Close()
	link, err := api.Client().CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{
		Amount: payhook.MustAmount("25.00"), Currency: "USD", Ref: "order-42",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("created", link.OrderID)

	kw, err := kazawallet.New("api-key", "api-secret")
	if err != nil {
		panic(err)
	}
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		fmt.Println("link", e.OrderID, "paid:", e.Paid(), e.Amount, e.Currency) // the link's id is signed, the ref is not
		return nil
	})
	paid := api.Links()[0].Event(kazawallet.Fulfilled)
	sender := kazawallettest.Sender{APIKey: "api-key", APISecret: "api-secret"}
	deliver.Send(payhooktest.Handler(h), sender.Request("/webhooks/kazawallet", paid), sender.Policy())
	// Output:
	// created lnk_1
	// link lnk_1 paid: true 25.00 USD
}
