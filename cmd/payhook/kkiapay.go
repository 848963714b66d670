package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/payhook/payhook/internal/secret"
	"github.com/payhook/payhook/providers/kkiapay"
)

// kkiapayMount mounts POST /webhooks/kkiapay when KKIAPAY_WEBHOOK_SECRET is
// set, confirming each webhook with the status API when the three API keys
// are set too.
var kkiapayMount = mount{name: kkiapay.Name, handler: kkiapayHandler, payment: kkiapayPayment}

// kkiapayPayment: KKiaPay's amounts are XOF; its reference is the
// partnerId the merchant gave the widget.
func kkiapayPayment(event []byte) (payment, error) {
	var e kkiapay.Event
	err := json.Unmarshal(event, &e)
	return payment{Amount: e.Amount.String(), Currency: "XOF", Ref: e.PartnerID}, err
}

func kkiapayHandler(env mountEnv) (http.Handler, error) {
	kk := env.cfg.kkiapay
	secrets := kk.secrets.reveal()
	keyVars := []string{"KKIAPAY_PUBLIC_KEY", "KKIAPAY_PRIVATE_KEY", "KKIAPAY_SECRET_KEY"}
	var keys, missing []string
	for i, k := range []secret.Value{kk.publicKey, kk.privateKey, kk.secretKey} {
		if !k.IsZero() {
			keys = append(keys, k.Reveal())
		} else {
			missing = append(missing, keyVars[i])
		}
	}
	clientOpts, apiVars := kkiapayClientOptions(env.cfg)
	if len(keys) > 0 {
		apiVars = append(apiVars, "the API keys")
	}
	switch {
	case len(secrets) == 0 && len(apiVars) > 0:
		return nil, fmt.Errorf("%s set without KKIAPAY_WEBHOOK_SECRET", strings.Join(apiVars, " and "))
	case len(secrets) == 0:
		return nil, nil
	case len(keys) == 0 && len(apiVars) > 0:
		return nil, fmt.Errorf("%s set without the API keys (%s)", strings.Join(apiVars, " and "), strings.Join(keyVars, ", "))
	case len(keys) > 0 && len(missing) > 0:
		return nil, fmt.Errorf("status confirmation needs all of %s: %s not set", strings.Join(keyVars, ", "), strings.Join(missing, ", "))
	}

	popts := []kkiapay.Option{kkiapay.WithSecrets(secrets[1:]...)}
	if len(keys) > 0 {
		cl, err := kkiapay.NewClient(keys[0], keys[1], keys[2], clientOpts...)
		if err != nil {
			return nil, err
		}
		popts = append(popts, kkiapay.WithConfirmation(cl))
	}
	p, err := kkiapay.New(secrets[0], popts...)
	if err != nil {
		return nil, err
	}
	return handle(env, p), nil
}

// kkiapayClientOptions turns KKIAPAY_SANDBOX and KKIAPAY_API_URL into the
// client's options, and returns the names of those that ask for something.
func kkiapayClientOptions(cfg *config) ([]kkiapay.ClientOption, []string) {
	var opts []kkiapay.ClientOption
	var set []string
	if cfg.kkiapay.sandbox {
		opts, set = append(opts, kkiapay.WithSandbox()), append(set, "KKIAPAY_SANDBOX")
	}
	if u := cfg.kkiapay.apiURL; u != "" {
		opts, set = append(opts, kkiapay.WithBaseURL(u)), append(set, "KKIAPAY_API_URL")
	}
	return opts, set
}
