package asynqinbox_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency/redisstore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/asynqinbox"
	"github.com/payhook/payhook/providers/kazawallet"
)

// One Redis keeps both the claims (redisstore) and the inbox: every
// replica of the application acknowledges a Kazawallet webhook once its
// event is in Redis, and the replicas' Run loops share the entries. The
// example needs a Redis server, so it is compiled but not run; the tests
// run the same wiring against a real one (TestThroughHandle).
func ExampleNew() {
	opts, err := redis.ParseURL(os.Getenv("REDIS_URL")) // e.g. redis://localhost:6379/0
	if err != nil {
		log.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()

	ib := inbox.New(asynqinbox.New(client))
	kw, err := kazawallet.New(os.Getenv("KAZAWALLET_API_KEY"), os.Getenv("KAZAWALLET_API_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		log.Printf("order %s: %s", e.OrderID, e.Type)
		return nil // an error is retried, with backoff, from the inbox
	}, payhook.WithInbox(ib), payhook.WithStore(redisstore.New(client))))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { log.Fatal(http.ListenAndServe(":8080", nil)) }()
	if err := ib.Run(ctx); err != nil { // until SIGTERM, then a graceful shutdown
		log.Fatal(err)
	}
}

// The operator's side: the dead entries, with the error of their last
// attempt, then every one of them replayed once the application is fixed.
func ExampleBackend_operate() {
	opts, err := redis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	ib := inbox.New(asynqinbox.New(client))
	ctx := context.Background()

	dead, err := ib.List(ctx, inbox.Filter{State: inbox.Dead})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range dead {
		log.Printf("%s after %d attempts: %s", e.ID, e.Attempts, e.LastError())
	}
	ids, err := ib.ReplayDead(ctx)
	log.Printf("replayed %v (%v)", ids, err)
}
