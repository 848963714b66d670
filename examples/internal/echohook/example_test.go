package echohook_test

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/echohook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// An echo handler behind payhook.Middleware reads the verified event from
// the request's context; a duplicate is answered by payhook alone.
func ExampleMiddleware() {
	kw, err := kazawallet.New("key", "secret")
	if err != nil {
		panic(err)
	}
	e := echo.New()
	e.POST("/webhooks/kazawallet", func(c echo.Context) error {
		ev, _ := kazawallet.EventFrom(c.Request().Context())
		fmt.Println("order", ev.Ref, "paid", ev.Amount)
		return c.NoContent(http.StatusNoContent) // a 2xx marks the event done
	}, echohook.Middleware(payhook.Middleware(kw)))

	sender := kazawallettest.Sender{APIKey: "key", APISecret: "secret"}
	paid := kazawallet.Event{OrderID: "kzl_1", Amount: payhook.MustAmount("10.00"), Ref: "order-42",
		Type: kazawallet.Fulfilled, Currency: "USD"}
	for range 2 {
		res := payhooktest.Deliver(payhooktest.Handler(e), sender.Request("/webhooks/kazawallet", paid), sender.Policy())
		fmt.Println(res.Last().Status)
	}
	// Output:
	// order order-42 paid 10.00
	// 204
	// 200
}
