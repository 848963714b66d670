package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/payhook/payhook/providers/kasperopay"
)

// kasperopayMount mounts POST /webhooks/kasperopay when KASPEROPAY_ENABLED=1
// or KASPEROPAY_WEBHOOK_SECRET is set. Every webhook is confirmed through
// KasperoPay's status API; with a secret, its signature is required too.
// Either way an old delivery is refused (the payment's confirmed_at, the
// signed body's timestamp), so a store that forgets lets no replay in.
//
// A payment the provider could not confirm (KasperoPay does not resend it)
// is in the error that serve's logger writes at error level.
var kasperopayMount = mount{name: kasperopay.Name, handler: kasperopayHandler, payment: kasperopayPayment, detectsReplays: true}

// kasperopayPayment: the amount is the KAS paid; the reference, the
// merchant's order_id.
func kasperopayPayment(event []byte) (payment, error) {
	var e kasperopay.Event
	err := json.Unmarshal(event, &e)
	return payment{Amount: e.AmountKAS.String(), Currency: "KAS", Ref: e.OrderID}, err
}

func kasperopayHandler(env mountEnv) (http.Handler, error) {
	kp := env.cfg.kasperopay
	enabled, explicit := kp.enabled, env.cfg.set["KASPEROPAY_ENABLED"]
	secrets := kp.secrets.reveal()
	var copts []kasperopay.ClientOption
	var apiVars []string
	if u := kp.apiURL; u != "" {
		copts, apiVars = append(copts, kasperopay.WithBaseURL(u)), append(apiVars, "KASPEROPAY_API_URL")
	}
	if p := kp.statusPath; p != "" {
		copts, apiVars = append(copts, kasperopay.WithStatusPath(p)), append(apiVars, "KASPEROPAY_STATUS_PATH")
	}
	switch {
	case explicit && !enabled && len(secrets) > 0:
		return nil, errors.New("KASPEROPAY_ENABLED=0 contradicts KASPEROPAY_WEBHOOK_SECRET: unset one")
	case !enabled && len(secrets) == 0 && len(apiVars) > 0:
		return nil, fmt.Errorf("%s set without KASPEROPAY_ENABLED=1 or KASPEROPAY_WEBHOOK_SECRET", apiVars[0])
	case !enabled && len(secrets) == 0:
		return nil, nil
	}
	cl, err := kasperopay.NewClient(copts...)
	if err != nil {
		return nil, err
	}
	popts := []kasperopay.Option{kasperopay.WithConfirmation(cl)}
	if len(secrets) > 0 {
		popts = append(popts, kasperopay.WithSecrets(secrets...))
	}
	p, err := kasperopay.New(popts...)
	if err != nil {
		return nil, err
	}
	return handle(env, p), nil
}
