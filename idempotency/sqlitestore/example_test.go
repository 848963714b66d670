package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/providers/kazawallet"
)

// A done key outlives the process: here the database is closed and opened
// again, as a restart would.
func Example() {
	dir, err := os.MkdirTemp("", "sqlitestore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "payhook.db")
	ctx := context.Background()

	open := func() (*sqlitestore.Store, func()) {
		db, err := sqlitestore.OpenDB(path)
		if err != nil {
			log.Fatal(err)
		}
		store, err := sqlitestore.New(db)
		if err == nil {
			err = store.Migrate(ctx)
		}
		if err != nil {
			log.Fatal(err)
		}
		return store, func() { db.Close() }
	}

	store, closeDB := open()
	token := idempotency.NewToken()
	state, _ := store.Claim(ctx, "kazawallet:ord_1", token, time.Minute)
	fmt.Println("first delivery:", state)
	fmt.Println("complete:", store.Complete(ctx, "kazawallet:ord_1", token, 7*24*time.Hour))
	closeDB()

	store, closeDB = open()
	defer closeDB()
	state, _ = store.Claim(ctx, "kazawallet:ord_1", idempotency.NewToken(), time.Minute)
	fmt.Println("after a restart:", state)
	// Output:
	// first delivery: acquired
	// complete: <nil>
	// after a restart: done
}

// The wiring of a receiver on one machine: the file, its table, its
// cleanup, and the store given to the middleware. It is compiled but not
// run.
func ExampleNew() {
	ctx := context.Background()
	db, err := sqlitestore.OpenDB("payhook.db") // WAL, synchronous=FULL, one connection
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	store, err := sqlitestore.New(db) // sqlitestore.WithTable("webhook_keys") for another table
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Migrate(ctx); err != nil { // creates the table, once
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
