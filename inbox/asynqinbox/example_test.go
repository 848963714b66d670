package asynqinbox_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

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

	backend, err := asynqinbox.New(client)
	if err != nil {
		log.Fatal(err)
	}
	store, err := redisstore.New(client)
	if err != nil {
		log.Fatal(err)
	}
	ib, err := inbox.New(backend)
	if err != nil {
		log.Fatal(err)
	}
	kw, err := kazawallet.New(os.Getenv("KAZAWALLET_API_KEY"), os.Getenv("KAZAWALLET_API_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, onKazawallet, // run from the inbox, retried until it returns nil
		payhook.WithInbox(ib), payhook.WithStore(store)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: ":8080", Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { log.Fatal(srv.ListenAndServe()) }()
	if err := ib.Run(ctx); err != nil { // until SIGTERM, then a graceful shutdown
		log.Fatal(err)
	}
}

// onKazawallet stands for the application's handler. Before it credits an
// order it checks that the event is a payment (e.Paid) and credits the
// order of the payment's expectation (payhook.ExpectationFrom, with
// payhook.WithExpectations), the one rule of docs/reconcile.md: the
// README's quick start (examples/quickstart) shows it whole.
func onKazawallet(ctx context.Context, e kazawallet.Event) error { return nil }

// The operator's side: the dead entries, with the error of their last
// attempt, then every one of them replayed once the application is fixed.
func ExampleBackend_operate() {
	opts, err := redis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	backend, err := asynqinbox.New(client)
	if err != nil {
		log.Fatal(err)
	}
	ib, err := inbox.New(backend)
	if err != nil {
		log.Fatal(err)
	}
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
