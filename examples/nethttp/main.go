// Command nethttp is the shop served by the standard library's
// http.ServeMux, with method patterns, receiving the webhooks of Kazawallet,
// KKiaPay and KasperoPay through payhook.
//
//	KAZAWALLET_API_KEY=... KAZAWALLET_API_SECRET=... KKIAPAY_WEBHOOK_SECRET=... \
//	KKIAPAY_PUBLIC_KEY=... KKIAPAY_PRIVATE_KEY=... KKIAPAY_SECRET_KEY=... go run ./nethttp
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
