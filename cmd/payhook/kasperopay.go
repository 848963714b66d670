package main

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/payhook/payhook/providers/kasperopay"
)

// kasperopayMount mounts POST /webhooks/kasperopay when KASPEROPAY_ENABLED=1
// or KASPEROPAY_WEBHOOK_SECRET is set. Every webhook is confirmed through
// KasperoPay's status API; with a secret, its signature is required too.
// Either way an old delivery is refused (the payment's confirmed_at, the
// signed body's timestamp), so a store that forgets lets no replay in.
//
// The provider's own error line for a payment it could not confirm (the
// only record of it: KasperoPay does not resend) goes to serve's logger.
var kasperopayMount = mount{name: kasperopay.Name, handler: kasperopayHandler, detectsReplays: true}

func kasperopayHandler(env mountEnv) (http.Handler, error) {
	getenv := env.getenv
	enabled, explicit := false, false
	if v := getenv("KASPEROPAY_ENABLED"); v != "" {
		var err error
		if enabled, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("KASPEROPAY_ENABLED=%q: want 1 or 0", v)
		}
		explicit = true
	}
	secret := getenv("KASPEROPAY_WEBHOOK_SECRET")
	var popts []kasperopay.Option
	var apiVars []string
	if u := getenv("KASPEROPAY_API_URL"); u != "" {
		popts, apiVars = append(popts, kasperopay.WithBaseURL(u)), append(apiVars, "KASPEROPAY_API_URL")
	}
	if p := getenv("KASPEROPAY_STATUS_PATH"); p != "" {
		popts, apiVars = append(popts, kasperopay.WithStatusPath(p)), append(apiVars, "KASPEROPAY_STATUS_PATH")
	}
	switch {
	case explicit && !enabled && secret != "":
		return nil, errors.New("KASPEROPAY_ENABLED=0 contradicts KASPEROPAY_WEBHOOK_SECRET: unset one")
	case !enabled && secret == "" && len(apiVars) > 0:
		return nil, fmt.Errorf("%s set without KASPEROPAY_ENABLED=1 or KASPEROPAY_WEBHOOK_SECRET", apiVars[0])
	case !enabled && secret == "":
		return nil, nil
	}
	if secret != "" {
		popts = append(popts, kasperopay.WithWebhookSecret(secret)) // a blank one is refused
	}
	popts = append(popts, kasperopay.WithLogger(env.logger))
	p, err := kasperopay.New(popts...)
	if err != nil {
		return nil, err
	}
	return handle(env, p), nil
}
