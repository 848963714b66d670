package main

// The part of the example to copy: the three providers built from their
// secrets (a missing one is an error, never a provider that accepts
// everything), and payhook mounted on a gin engine.

import (
	"github.com/gin-gonic/gin"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/shop"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// mountWebhooks mounts the three providers' webhooks under /webhooks on r,
// in a group of their own: nothing there reads the body before payhook.
func mountWebhooks(r *gin.Engine, cfg shop.Config, hooks shop.Webhooks) error {
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
	webhooks := r.Group("/webhooks")
	webhooks.POST("/kazawallet", gin.WrapH(payhook.Handle(kw, hooks.Kazawallet, opts...)))
	webhooks.POST("/kkiapay", gin.WrapH(payhook.Handle(kk, hooks.KKiaPay, opts...)))
	webhooks.POST("/kasperopay", gin.WrapH(payhook.Handle(kp, hooks.KasperoPay, opts...)))
	return nil
}
