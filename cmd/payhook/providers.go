package main

import (
	"net/http"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
)

// mounts lists the providers serve can mount, in route order.
var mounts = []mount{
	{name: kazawallet.Name, handler: func(getenv func(string) string, out *lineWriter, opts []payhook.Option) (http.Handler, error) {
		key, secret := getenv("KAZAWALLET_API_KEY"), getenv("KAZAWALLET_API_SECRET")
		if key == "" && secret == "" {
			return nil, nil
		}
		p, err := kazawallet.New(key, secret) // one of the two alone is an error
		if err != nil {
			return nil, err
		}
		return payhook.Handle(p, printEvent[kazawallet.Event](kazawallet.Name, out), opts...), nil
	}},
	kkiapayMount,
	kasperopayMount,
}
