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
	store, err := pgstore.New(pool) // or pgstore.New(pool, pgstore.WithTable("payments.webhook_keys"))
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	go func() {
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
	http.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		log.Printf("order %s: %s", e.OrderID, e.Type)
		return nil
	}, payhook.WithStore(store)))
	log.Fatal(http.ListenAndServe(":8080", nil))
}
