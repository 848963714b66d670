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
	redisOpts, err := redis.ParseURL(os.Getenv("REDIS_URL")) // redis://user:pass@host:6379/0, rediss:// for TLS
	if err != nil {
		log.Fatal(err)
	}
	client := redis.NewClient(redisOpts) // or a *redis.ClusterClient
	defer client.Close()
	store, err := redisstore.New(client) // redisstore.WithPrefix("myapp:payhook:") to share a database; default "payhook:"
	if err != nil {
		log.Fatal(err)
	}

	kw, err := kazawallet.New(os.Getenv("KAZAWALLET_API_KEY"), os.Getenv("KAZAWALLET_API_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, onKazawallet, payhook.WithStore(store)))
	// Serve mux with an http.Server and its timeouts, as the quick start does.
}

// onKazawallet stands for the application's handler. Before it credits an
// order it checks that the event is a payment (e.Paid) and credits the
// order of the payment's expectation (payhook.ExpectationFrom, with
// payhook.WithExpectations), the one rule of docs/reconcile.md: the
// README's quick start (examples/quickstart) shows it whole.
func onKazawallet(ctx context.Context, e kazawallet.Event) error { return nil }
