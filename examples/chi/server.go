package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/providers/kazawallet"
)

// NewServer returns the shop's chi router: the three providers' webhooks
// under /webhooks and the orders API under /orders.
//
// Middleware that only caps or inspects headers (RequestSize, RequestID,
// Recoverer) may sit in front of everything. Middleware that READS the
// body, like the orders API's audit log, goes on the API's group only: in
// front of payhook it would leave payhook an empty body (400), or, if it
// puts the body back, cost a copy of every webhook.
func NewServer(cfg shop.Config, orders shop.OrderStore) (http.Handler, error) {
	cfg = cfg.WithDefaults()
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Recoverer)
	r.Use(middleware.RequestSize(cfg.MaxBodyBytes)) // caps r.Body; payhook answers 413 past it
	if err := mountWebhooks(r, cfg, shop.Webhooks{Orders: orders, Log: cfg.Logger}); err != nil {
		return nil, err
	}

	api := shop.API{Orders: orders, Expected: cfg.Expectations}
	r.Route("/orders", func(r chi.Router) {
		r.Use(auditBody(cfg.Logger)) // reads bodies: the API's group only
		r.Post("/", api.Create)
		r.Get("/{id}", api.Get)
	})
	return r, nil
}

// kazawalletWebhook handles a Kazawallet event that payhook.Middleware has
// verified and put in the request's context.
func kazawalletWebhook(hooks shop.Webhooks) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e, ok := kazawallet.EventFrom(r.Context())
		if !ok { // only if the route is mounted without payhook.Middleware
			http.Error(w, "webhook not verified", http.StatusInternalServerError)
			return
		}
		if err := hooks.Kazawallet(r.Context(), e); err != nil {
			// Not a 2xx: payhook releases the event, so a retry would be
			// processed again (Kazawallet itself never retries).
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// auditBody logs the size of each request body, reading it and putting it
// back for the handler. Reading a body is what payhook must do first on a
// webhook, so this middleware stays off the webhook routes.
func auditBody(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "cannot read body", http.StatusRequestEntityTooLarge)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body)) // put it back
			log.InfoContext(r.Context(), "audit", "method", r.Method, "path", r.URL.Path, "bytes", len(body))
			next.ServeHTTP(w, r)
		})
	}
}
