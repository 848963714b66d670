package main

// The part of the example to copy: the three providers built from their
// secrets (a missing one is an error, never a provider that accepts
// everything), and payhook mounted on an echo server.

import (
	"github.com/labstack/echo/v4"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// mountWebhooks mounts the three providers' webhooks under /webhooks on e.
func mountWebhooks(e *echo.Echo, cfg shop.Config, hooks shop.Webhooks) error {
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
	webhooks := e.Group("/webhooks")
	webhooks.POST("/kazawallet", echo.WrapHandler(payhook.Handle(kw, hooks.Kazawallet, opts...)))
	webhooks.POST("/kkiapay", echo.WrapHandler(payhook.Handle(kk, hooks.KKiaPay, opts...)))
	webhooks.POST("/kasperopay", echo.WrapHandler(payhook.Handle(kp, hooks.KasperoPay, opts...)))
	return nil
}
