package main

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/expect"
)

// NewServer returns the shop's echo server: the three providers' webhooks
// under /webhooks and the orders API under /orders.
//
// payhook must read a webhook's body before anything else does. echo's
// c.Bind, and any middleware that reads c.Request().Body without putting
// it back, would leave payhook an empty body: 400 to a genuine webhook.
// middleware.BodyDump does put the body back, so payhook still works
// behind it; it is skipped on the webhooks all the same, since it would
// write the providers' signatures (Kazawallet's "secret" field) to the
// log. middleware.BodyLimit answers 413 itself when Content-Length is
// over its limit; a chunked body over it makes echo's reader fail with an
// error payhook answers 400 (see server_test.go), so the limit stays above
// payhook's own cap (256 KiB by default), whose 413 then comes first.
//
// For an echo handler behind payhook.Middleware (rather than the typed
// handler), mount it with internal/echohook.Middleware, not
// echo.WrapMiddleware: see that package for why.
func NewServer(cfg shop.Config, orders shop.OrderStore) (*echo.Echo, error) {
	cfg = cfg.WithDefaults()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit(strconv.FormatInt(cfg.MaxBodyBytes, 10) + "B"))
	e.Use(middleware.BodyDumpWithConfig(middleware.BodyDumpConfig{
		Skipper: isWebhook, // payhook logs webhooks, without their signatures
		Handler: dumpTo(cfg.Logger),
	}))

	if err := mountWebhooks(e, cfg, shop.Webhooks{Orders: orders, Log: cfg.Logger}); err != nil {
		return nil, err
	}

	api := ordersAPI{orders, cfg.Expectations}
	e.POST("/orders", api.create)
	e.GET("/orders/:id", api.get)
	return e, nil
}

// isWebhook tells by the request's path, not the route's (c.Path() is ""
// when no route matched): a webhook posted to a mistyped URL is not dumped
// either.
func isWebhook(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/webhooks/") }

// dumpTo logs the API's requests and responses, for debugging.
func dumpTo(log *slog.Logger) middleware.BodyDumpHandler {
	return func(c echo.Context, req, res []byte) {
		log.DebugContext(c.Request().Context(), "dump", "path", c.Path(), "request", string(req), "response", string(res))
	}
}

// ordersAPI is the shop's own JSON API.
type ordersAPI struct {
	orders   shop.OrderStore
	expected expect.Store // shop.Place adds the expectation of an order naming its provider
}

func (a ordersAPI) create(c echo.Context) error {
	var o shop.Order
	if err := c.Bind(&o); err != nil { // reads the body: fine here, not before payhook
		return echo.NewHTTPError(http.StatusBadRequest, "invalid order")
	}
	if err := shop.Place(c.Request().Context(), a.orders, a.expected, o); err != nil {
		return echo.NewHTTPError(shop.CreateStatus(err), err.Error())
	}
	return c.NoContent(http.StatusCreated)
}

func (a ordersAPI) get(c echo.Context) error {
	o, err := a.orders.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "no such order")
	}
	return c.JSON(http.StatusOK, o)
}
