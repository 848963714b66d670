package main

import (
	"net/http"

	"github.com/payhook/payhook/providers/kazawallet"
)

// mounts lists the providers serve can mount, in route order.
var mounts = []mount{
	{name: kazawallet.Name, handler: func(env mountEnv) (http.Handler, error) {
		key, secret := env.getenv("KAZAWALLET_API_KEY"), env.getenv("KAZAWALLET_API_SECRET")
		if key == "" && secret == "" {
			return nil, nil
		}
		p, err := kazawallet.New(key, secret) // one of the two alone is an error
		if err != nil {
			return nil, err
		}
		return handle(env, p), nil
	}},
	kkiapayMount,
	kasperopayMount,
}
