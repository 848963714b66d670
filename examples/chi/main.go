// Command chi is the shop served by go-chi/chi, receiving the webhooks of
// Kazawallet, KKiaPay and KasperoPay through payhook: KKiaPay's and
// KasperoPay's with the typed handler (payhook.Handle), Kazawallet's with
// payhook.Middleware in front of a chi handler that reads the event from
// the request's context.
//
//	KAZAWALLET_API_KEY=... KAZAWALLET_API_SECRET=... KKIAPAY_WEBHOOK_SECRET=... \
//	KKIAPAY_PUBLIC_KEY=... KKIAPAY_PRIVATE_KEY=... KKIAPAY_SECRET_KEY=... go run ./chi
//
// See shop.FromEnv for every variable.
package main

import (
	"log"
	"os"

	"github.com/payhook/payhook/examples/internal/shop"
)

func main() {
	cfg := shop.FromEnv(os.Getenv)
	srv, err := NewServer(cfg, shop.NewMemory())
	if err != nil {
		log.Fatal(err) // a missing secret is refused: payhook never runs unverified
	}
	log.Fatal(shop.ListenAndServe(cfg.Addr, srv))
}
