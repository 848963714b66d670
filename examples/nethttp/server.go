package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/payhook/payhook/examples/internal/shop"
)

// NewServer returns the shop's handler: the three providers' webhooks and a
// small orders API, behind an access log and an app-wide body limit.
//
// The body limit wraps everything, webhooks included, and that is fine:
// http.MaxBytesReader only caps the body, it does not read it, and payhook
// answers a body over the cap with 413. A middleware that READS the body
// (to log or to decode it) must not wrap the webhook routes, or must put
// the body back: see server_test.go.
func NewServer(cfg shop.Config, orders shop.OrderStore) (http.Handler, error) {
	cfg = cfg.WithDefaults()
	mux := http.NewServeMux()
	if err := mountWebhooks(mux, cfg, shop.Webhooks{Orders: orders, Log: cfg.Logger}); err != nil {
		return nil, err
	}

	api := shop.API{Orders: orders, Expected: cfg.Expectations}
	mux.HandleFunc("POST /orders", api.Create)
	mux.HandleFunc("GET /orders/{id}", api.Get)

	return limitBody(cfg.MaxBodyBytes, accessLog(cfg.Logger, mux)), nil
}

// limitBody caps every request body at n bytes. It only wraps r.Body;
// whoever reads past the cap gets an *http.MaxBytesError (payhook: 413).
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

// accessLog logs each request's method, path, status and duration. It
// does not touch the body, so it may wrap the webhooks.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration", time.Since(start))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
