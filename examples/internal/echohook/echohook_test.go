package echohook_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/apptest"
	"github.com/payhook/payhook/examples/internal/echohook"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/providers/kazawallet"
)

// TestMiddleware delivers one event three times to an echo handler behind
// echohook.Middleware: the handler fails the first time, as when its
// database is down, and succeeds the second.
func TestMiddleware(t *testing.T) {
	env := apptest.NewEnv(t)
	kw, hooks, opts := env.KazawalletSetup(t)

	calls := 0
	down := true
	handler := func(c echo.Context) error {
		calls++
		ev, ok := kazawallet.EventFrom(c.Request().Context())
		if !ok {
			return errors.New("no event in the context")
		}
		if down {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "database down")
		}
		if err := hooks.Kazawallet(c.Request().Context(), ev); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
	e := echo.New()
	e.POST("/webhooks/kazawallet", handler, echohook.Middleware(payhook.Middleware(kw, opts...)))
	send := func() int {
		return apptest.Serve(e, apptest.Kazawallet.Request("/webhooks/kazawallet", apptest.KazawalletPaid)).Code
	}

	steps := []struct {
		name      string
		down      bool
		want      int
		wantCalls int
		status    shop.Status
	}{
		{name: "handler error: answered, event released", down: true, want: http.StatusServiceUnavailable, wantCalls: 1, status: shop.Pending},
		{name: "retry: processed", want: http.StatusNoContent, wantCalls: 2, status: shop.Paid},
		{name: "duplicate: acknowledged without a call", want: http.StatusOK, wantCalls: 2, status: shop.Paid},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			down = st.down
			assert.Equal(t, st.want, send())
			assert.Equal(t, st.wantCalls, calls)
			assert.Equal(t, st.status, env.Order(t, apptest.KazawalletPaid.Ref).Status)
		})
	}

	forged := apptest.Serve(e, apptest.Kazawallet.Forged("/webhooks/kazawallet", apptest.KazawalletPaid))
	assert.Equal(t, http.StatusUnauthorized, forged.Code)
	assert.Equal(t, 2, calls)
}
