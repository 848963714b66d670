// Package echohook mounts payhook.Middleware in echo, for handlers that
// are echo handlers rather than payhook.Handle's typed func. (For
// payhook.Handle, echo.WrapHandler is all it takes.)
//
//	e.POST("/webhooks/kkiapay", onKKiaPay, echohook.Middleware(payhook.Middleware(kk)))
//
//	func onKKiaPay(c echo.Context) error {
//		ev, _ := kkiapay.EventFrom(c.Request().Context())
//		...
//		return c.NoContent(http.StatusNoContent) // a 2xx marks the event done
//	}
//
// Copy it into your code: it is a dozen lines.
package echohook

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Middleware adapts mw, a payhook.Middleware, to echo.
//
// It differs from echo.WrapMiddleware in one way that matters to payhook:
// when the echo handler returns an error, Middleware has echo answer it
// (c.Error, the HTTPErrorHandler) before mw's handler returns, so payhook
// sees the error status and releases the event for a retry.
// echo.WrapMiddleware returns the error for echo to answer after mw is
// done: payhook has by then taken the silence for a 200 and marked the
// event done — a lost payment — and echo's late write goes to a response
// writer that payhook has finished with.
func Middleware(mw func(http.Handler) http.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				c.SetResponse(echo.NewResponse(w, c.Echo()))
				if err := next(c); err != nil {
					c.Error(err) // answered now, through payhook's writer
				}
			})).ServeHTTP(res, c.Request())
			c.SetResponse(res) // what was written went through res too
			return nil
		}
	}
}
