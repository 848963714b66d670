package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/apptest"
	"github.com/payhook/payhook/examples/internal/shop"
)

func TestWebhooks(t *testing.T) { apptest.Run(t, NewServer) }

// TestKazawalletMiddleware checks the route mounted with
// payhook.Middleware: its chi handler answers 204, a duplicate gets
// payhook's 200 without reaching it.
func TestKazawalletMiddleware(t *testing.T) {
	env := apptest.NewEnv(t)
	srv := apptest.Server(t, env, NewServer)
	send := func() *http.Response {
		return apptest.Serve(srv, apptest.Kazawallet.Request("/webhooks/kazawallet", apptest.KazawalletPaid)).Result()
	}

	first := send()
	assert.Equal(t, http.StatusNoContent, first.StatusCode)
	dup := send()
	assert.Equal(t, http.StatusOK, dup.StatusCode)
	body, err := io.ReadAll(dup.Body)
	require.NoError(t, err)
	assert.Equal(t, "already processed\n", string(body))
	assert.Len(t, env.Order(t, apptest.KazawalletPaid.Ref).History, 1)
}

// TestWhatSitsInFront mounts the Kazawallet route as the app does, behind
// router-wide middleware that caps or reads the body.
func TestWhatSitsInFront(t *testing.T) {
	tests := []struct {
		name   string
		use    func(http.Handler) http.Handler
		want   int
		status shop.Status
	}{
		{name: "nothing reads the body first", want: http.StatusNoContent, status: shop.Paid},
		{name: "RequestSize below the webhook's size: payhook answers 413", use: middleware.RequestSize(64),
			want: http.StatusRequestEntityTooLarge, status: shop.Pending},
		{name: "a logger that drains the body: payhook sees it empty, 400", use: drain,
			want: http.StatusBadRequest, status: shop.Pending},
		{name: "the audit middleware, which puts the body back", use: auditBody(slog.New(slog.DiscardHandler)),
			want: http.StatusNoContent, status: shop.Paid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := apptest.NewEnv(t)
			kw, hooks, opts := env.KazawalletSetup(t)
			r := chi.NewRouter()
			if tt.use != nil {
				r.Use(tt.use)
			}
			r.With(payhook.Middleware(kw, opts...)).Post("/webhooks/kazawallet", kazawalletWebhook(hooks))

			w := apptest.Serve(r, apptest.Kazawallet.Request("/webhooks/kazawallet", apptest.KazawalletPaid))
			assert.Equal(t, tt.want, w.Code, w.Body.String())
			assert.Equal(t, tt.status, env.Order(t, apptest.KazawalletPaid.Ref).Status)
		})
	}
}

// drain is a naive request logger: it reads the body and leaves it empty.
func drain(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		next.ServeHTTP(w, r)
	})
}

// TestOrdersAPI checks the API behind its body-reading audit middleware.
func TestOrdersAPI(t *testing.T) {
	env := apptest.NewEnv(t)
	srv := apptest.Server(t, env, NewServer)

	create := apptest.Serve(srv, httpRequest(t, http.MethodPost, "/orders", `{"id":"o-9","amount":"12.50","currency":"USD"}`))
	require.Equal(t, http.StatusCreated, create.Code, create.Body.String())
	get := apptest.Serve(srv, httpRequest(t, http.MethodGet, "/orders/o-9", ""))
	require.Equal(t, http.StatusOK, get.Code)
	assert.JSONEq(t, `{"id":"o-9","amount":"12.50","currency":"USD","status":"pending"}`, get.Body.String())
}

func httpRequest(t *testing.T, method, path, body string) *http.Request {
	r, err := http.NewRequest(method, path, bytes.NewBufferString(body))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	return r
}
