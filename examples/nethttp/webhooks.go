package main

// The part of the example to copy: the three providers built from their
// secrets (a missing one is an error, never a provider that accepts
// everything), and payhook mounted on an http.ServeMux.

import (
	"net/http"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// mountWebhooks mounts the three providers' webhooks on mux. payhook reads
// and verifies the body itself, then calls the typed handler once per
// event; a duplicate is answered 200 without a call.
func mountWebhooks(mux *http.ServeMux, cfg shop.Config, hooks shop.Webhooks) error {
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
	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, hooks.Kazawallet, opts...))
	mux.Handle("POST /webhooks/kkiapay", payhook.Handle(kk, hooks.KKiaPay, opts...))
	mux.Handle("POST /webhooks/kasperopay", payhook.Handle(kp, hooks.KasperoPay, opts...))
	return nil
}
