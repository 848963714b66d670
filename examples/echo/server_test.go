package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/apptest"
	"github.com/payhook/payhook/examples/internal/shop"
)

func TestWebhooks(t *testing.T) { apptest.Run(t, NewServer) }

// TestBodyReadersBeforePayhook mounts the Kazawallet webhook behind echo
// middleware that reads the body, to show which order works.
func TestBodyReadersBeforePayhook(t *testing.T) {
	tests := []struct {
		name   string
		before echo.MiddlewareFunc // runs before payhook on the webhook route
		want   int
		status shop.Status
	}{
		{name: "nothing reads the body first", want: http.StatusOK, status: shop.Paid},
		{
			name:   "BodyDump reads it and puts it back: payhook works",
			before: middleware.BodyDump(func(echo.Context, []byte, []byte) {}),
			want:   http.StatusOK, status: shop.Paid,
		},
		{
			name: "c.Bind drains it: payhook sees an empty body",
			before: func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					var v map[string]any
					_ = c.Bind(&v)
					return next(c)
				}
			},
			want: http.StatusBadRequest, status: shop.Pending,
		},
		{
			name: "a logger that reads without putting back: the same",
			before: func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					_, _ = io.ReadAll(c.Request().Body)
					return next(c)
				}
			},
			want: http.StatusBadRequest, status: shop.Pending,
		},
		{
			name: "a logger that puts the body back: payhook works",
			before: func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					body, _ := io.ReadAll(c.Request().Body)
					c.Request().Body = io.NopCloser(bytes.NewReader(body))
					return next(c)
				}
			},
			want: http.StatusOK, status: shop.Paid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := apptest.NewEnv(t)
			kw, hooks, opts := env.KazawalletSetup(t)
			e := echo.New()
			var mw []echo.MiddlewareFunc
			if tt.before != nil {
				mw = append(mw, tt.before)
			}
			e.POST("/webhooks/kazawallet", echo.WrapHandler(payhook.Handle(kw, hooks.Kazawallet, opts...)), mw...)

			w := apptest.Serve(e, apptest.Kazawallet.Request("/webhooks/kazawallet", apptest.KazawalletPaid))
			assert.Equal(t, tt.want, w.Code, w.Body.String())
			assert.Equal(t, tt.status, env.Order(t, apptest.KazawalletPaid.Ref).Status)
		})
	}
}

// TestBodyLimit shows who answers a webhook over echo's BodyLimit: echo
// itself when the request says its length, payhook when it does not
// (chunked), and then with 400, since echo's limit error is not an
// *http.MaxBytesError.
func TestBodyLimit(t *testing.T) {
	tests := []struct {
		name    string
		chunked bool
		want    int
	}{
		{name: "Content-Length over the limit: echo answers 413", want: http.StatusRequestEntityTooLarge},
		{name: "chunked body over the limit: payhook answers 400", chunked: true, want: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := apptest.NewEnv(t)
			env.Config.MaxBodyBytes = 64 // every webhook is longer
			srv := apptest.Server(t, env, NewServer)
			r := apptest.Kazawallet.Request("/webhooks/kazawallet", apptest.KazawalletPaid)
			if tt.chunked {
				r.ContentLength = -1
				r.Body = io.NopCloser(io.MultiReader(r.Body)) // hides the length
			}
			w := apptest.Serve(srv, r)
			assert.Equal(t, tt.want, w.Code, w.Body.String())
			assert.Equal(t, shop.Pending, env.Order(t, apptest.KazawalletPaid.Ref).Status)
		})
	}
}

// TestBodyDumpSkipsWebhooks: the dump logs the orders API's bodies, never
// a webhook's, even one posted to a webhook path with no route (a
// mistyped URL in a provider's dashboard, a trailing slash): Kazawallet's
// body carries its signature.
func TestBodyDumpSkipsWebhooks(t *testing.T) {
	env := apptest.NewEnv(t)
	var logs bytes.Buffer
	env.Config.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := apptest.Server(t, env, NewServer)

	for _, path := range []string{"/webhooks/kazawallet", "/webhooks/kazawallet/", "/webhooks/kazawalet"} {
		r := apptest.Kazawallet.Request(path, apptest.KazawalletPaid)
		body, err := r.GetBody()
		require.NoError(t, err)
		sent, err := io.ReadAll(body)
		require.NoError(t, err)
		var fields struct{ Secret string }
		require.NoError(t, json.Unmarshal(sent, &fields))
		require.NotEmpty(t, fields.Secret)

		apptest.Serve(e, r)
		assert.NotContains(t, logs.String(), fields.Secret, "%s: the webhook's signature is not dumped", path)
	}

	apptest.Serve(e, httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"id":"dumped-order"}`)))
	assert.Contains(t, logs.String(), "dumped-order", "the API's bodies are dumped")
}
