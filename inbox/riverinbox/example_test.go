package riverinbox_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/riverinbox"
	"github.com/payhook/payhook/providers/kazawallet"
)

// Every replica opens the same database: the idempotency store and the
// inbox share it, so that a delivery's entry and its key are written in one
// transaction. Each replica runs the inbox until it is told to stop, then
// lets running attempts finish. The example needs a PostgreSQL server, so
// it is compiled but not run; the tests run the same wiring against a real
// one.
func ExampleNew() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL")) // e.g. postgres://app@localhost/app
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(pool)
	if err != nil {
		log.Fatal(err)
	}
	backend, err := riverinbox.New(pool) // River's tables in the schema "payhook"
	if err != nil {
		log.Fatal(err)
	}
	for _, migrate := range []func(context.Context) error{store.Migrate, backend.Migrate} {
		if err := migrate(ctx); err != nil {
			log.Fatal(err)
		}
	}

	ib, err := inbox.New(backend)
	if err != nil {
		panic(err)
	}
	kw, err := kazawallet.New(os.Getenv("KAZAWALLET_API_KEY"), os.Getenv("KAZAWALLET_API_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, onKazawallet, // run from the inbox, retried until it returns nil
		payhook.WithInbox(ib), payhook.WithStore(store)))

	srv := &http.Server{Addr: ":8080", Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { log.Fatal(srv.ListenAndServe()) }()
	if err := ib.Run(ctx); err != nil { // returns once ctx is done and the attempts have stopped
		log.Fatal(err)
	}
}

// onKazawallet stands for the application's handler. Before it credits an
// order it checks that the event is a payment (e.Paid) and credits the
// order of the payment's expectation (payhook.ExpectationFrom, with
// payhook.WithExpectations), the one rule of docs/reconcile.md: the
// README's quick start (examples/quickstart) shows it whole.
func onKazawallet(ctx context.Context, e kazawallet.Event) error { return nil }
