// Command gin is the shop served by gin-gonic/gin, receiving the webhooks of
// Kazawallet, KKiaPay and KasperoPay through payhook, each mounted with
// gin.WrapH in one line.
//
//	KAZAWALLET_API_KEY=... KAZAWALLET_API_SECRET=... KKIAPAY_WEBHOOK_SECRET=... \
//	KKIAPAY_PUBLIC_KEY=... KKIAPAY_PRIVATE_KEY=... KKIAPAY_SECRET_KEY=... go run ./gin
//
// See shop.FromEnv for every variable; GIN_MODE=release quiets gin.
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
