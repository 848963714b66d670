package pgstore_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency/pgstore"
	"github.com/payhook/payhook/providers/kazawallet"
)

// Every replica of the application opens the same database: a webhook is
// then processed once, whichever replica receives it. Migrate creates the
// table at startup; Cleanup, now and then, deletes the rows that expired.
// The example needs a PostgreSQL server, so it is compiled but not run; the
// tests run the same wiring against a real one.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL")) // e.g. postgres://app@localhost/app
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(pool) // pgstore.WithTable("payments.webhook_keys"); default payhook_idempotency
	if err != nil {
		log.Fatal(err) // an invalid table name
	}
	if err := store.Migrate(ctx); err != nil { // once at startup; safe from many replicas at once
		log.Fatal(err)
	}
	go func() { // delete expired rows now and then
		for range time.Tick(time.Hour) {
			if _, err := store.Cleanup(ctx); err != nil {
				log.Print(err)
			}
		}
	}()

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
