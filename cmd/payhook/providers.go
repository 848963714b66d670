package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/payhook/payhook/providers/kazawallet"
)

// mounts lists the providers serve can mount, in route order.
var mounts = []mount{
	{name: kazawallet.Name, handler: kazawalletHandler, payment: kazawalletPayment},
	kkiapayMount,
	kasperopayMount,
}

// kazawalletHandler mounts POST /webhooks/kazawallet when
// KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET are set: comma-separated
// lists of as many keys as secrets while rotating, paired in order.
func kazawalletHandler(env mountEnv) (http.Handler, error) {
	keys, secrets := env.cfg.kazawallet.keys.reveal(), env.cfg.kazawallet.secrets.reveal()
	switch {
	case len(keys) == 0 && len(secrets) == 0:
		return nil, nil
	case len(secrets) == 0:
		return nil, errors.New("KAZAWALLET_API_KEY set without KAZAWALLET_API_SECRET")
	case len(keys) == 0:
		return nil, errors.New("KAZAWALLET_API_SECRET set without KAZAWALLET_API_KEY")
	case len(keys) != len(secrets):
		return nil, fmt.Errorf("KAZAWALLET_API_KEY and KAZAWALLET_API_SECRET hold %d and %d values: want as many keys as secrets, paired in order", len(keys), len(secrets))
	}
	var more []kazawallet.KeyPair
	for i := 1; i < len(keys); i++ {
		more = append(more, kazawallet.KeyPair{APIKey: keys[i], APISecret: secrets[i]})
	}
	p, err := kazawallet.New(keys[0], secrets[0], kazawallet.WithSecrets(more...))
	if err != nil {
		return nil, err
	}
	return handle(env, p), nil
}

func kazawalletPayment(event []byte) (payment, error) {
	var e kazawallet.Event
	err := json.Unmarshal(event, &e)
	return payment{Amount: e.Amount.String(), Currency: e.Currency, Ref: e.Ref}, err
}
