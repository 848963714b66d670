package main

// The part of the example to copy: the three providers built from their
// secrets (a missing one is an error, never a provider that accepts
// everything), and payhook mounted on a chi router.

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// mountWebhooks mounts the three providers' webhooks under /webhooks on r.
func mountWebhooks(r chi.Router, cfg shop.Config, hooks shop.Webhooks) error {
	kw, err := kazawallet.New(cfg.KazawalletAPIKey, cfg.KazawalletAPISecret)
	if err != nil {
		return err
	}
	kkOpts, err := cfg.KKiaPayOptions() // confirmation through the status API, when its keys are set
	if err != nil {
		return err
	}
	kk, err := kkiapay.New(cfg.KKiaPayWebhookSecret, kkOpts...)
	if err != nil {
		return err
	}
	kpOpts, err := cfg.KasperoPayOptions() // the status API; the webhook secret, when set
	if err != nil {
		return err
	}
	kp, err := kasperopay.New(kpOpts...)
	if err != nil {
		return err
	}

	opts := cfg.PayhookOptions() // one idempotency store and logger for the three
	r.Route("/webhooks", func(r chi.Router) {
		// payhook.Middleware is a func(http.Handler) http.Handler: chi's
		// With takes it as it is. The handler behind it runs once per
		// verified event and answers for itself; any 2xx marks it done.
		r.With(payhook.Middleware(kw, opts...)).Post("/kazawallet", kazawalletWebhook(hooks))
		// The typed handler: payhook answers 200 when the func returns nil.
		r.Method(http.MethodPost, "/kkiapay", payhook.Handle(kk, hooks.KKiaPay, opts...))
		r.Method(http.MethodPost, "/kasperopay", payhook.Handle(kp, hooks.KasperoPay, opts...))
	})
	return nil
}
