package echohook_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/examples/internal/echohook"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// An echo handler behind payhook.Middleware reads the verified event from
// the request's context and hands it to the shop, which credits the order
// of the payment's expectation (payhook.ExpectationFrom, set by
// payhook.WithExpectations); a duplicate is answered by payhook alone.
func ExampleMiddleware() {
	kw, err := kazawallet.New("key", "secret")
	if err != nil {
		panic(err)
	}
	// The order, and the expectation of its payment link, whose ref is the
	// order's id.
	orders, expected := shop.NewMemory(), expect.NewMemory()
	if err := shop.Place(context.Background(), orders, expected, shop.Order{ID: "order-42",
		Amount: payhook.MustAmount("10.00"), Currency: "USD", Provider: kazawallet.Name}); err != nil {
		panic(err)
	}
	hooks := shop.Webhooks{Orders: orders}

	e := echo.New()
	e.POST("/webhooks/kazawallet", func(c echo.Context) error {
		ev, ok := kazawallet.EventFrom(c.Request().Context())
		if !ok {
			return echo.ErrInternalServerError // mounted without payhook.Middleware
		}
		if err := hooks.Kazawallet(c.Request().Context(), ev); err != nil {
			return err // answered 500 inside the middleware: the event is released
		}
		return c.NoContent(http.StatusNoContent) // a 2xx marks the event done
	}, echohook.Middleware(payhook.Middleware(kw, payhook.WithExpectations(expected))))

	sender := kazawallettest.Sender{APIKey: "key", APISecret: "secret"}
	paid := kazawallet.Event{OrderID: "kzl_1", Amount: payhook.MustAmount("10.00"), Ref: "order-42",
		Type: kazawallet.Fulfilled, Currency: "USD"}
	for range 2 {
		res := deliver.Send(payhooktest.Handler(e), sender.Request("/webhooks/kazawallet", paid), sender.Policy())
		fmt.Println(res.Last().Status)
	}
	o, _ := orders.Get(context.Background(), "order-42")
	fmt.Println(o.Status)
	// Output:
	// 204
	// 200
	// paid
}
