package redisstore_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency/redisstore"
	"github.com/payhook/payhook/providers/kazawallet"
)

// Every replica of the application opens the same Redis: a webhook is then
// processed once, whichever replica receives it. The example needs a Redis
// server, so it is compiled but not run; the tests run the same wiring
// against a real one.
func ExampleNew() {
	opts, err := redis.ParseURL(os.Getenv("REDIS_URL")) // e.g. redis://localhost:6379/0
	if err != nil {
		log.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()

	kw, err := kazawallet.New(os.Getenv("KAZAWALLET_API_KEY"), os.Getenv("KAZAWALLET_API_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		log.Printf("order %s: %s", e.OrderID, e.Type)
		return nil
	}, payhook.WithStore(redisstore.New(client))))
	log.Fatal(http.ListenAndServe(":8080", nil))
}
