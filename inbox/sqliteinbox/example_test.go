package sqliteinbox_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/idempotency/sqlitestore"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/sqliteinbox"
	"github.com/payhook/payhook/providers/kazawallet"
)

// The idempotency store and the inbox share one SQLite file and its one
// connection, so that a delivery's entry and its key are written in one
// transaction. The delivery is acknowledged once its entry is on the disk;
// the func runs from the inbox, here once, after a first attempt fails.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "payhook")
	defer os.RemoveAll(dir)
	db, err := sqlitestore.OpenDB(filepath.Join(dir, "payhook.db")) // WAL, synchronous=FULL, one connection
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx, stop := context.WithCancel(context.Background())
	store, err := sqlitestore.New(db)
	if err != nil {
		log.Fatal(err)
	}
	backend, err := sqliteinbox.New(db)
	if err != nil {
		log.Fatal(err)
	}
	for _, migrate := range []func(context.Context) error{store.Migrate, backend.Migrate} {
		if err := migrate(ctx); err != nil {
			log.Fatal(err)
		}
	}

	ib, err := inbox.New(backend, inbox.WithBackoff(0, 0)) // retry at once, for the example
	if err != nil {
		panic(err)
	}
	kw, err := kazawallet.New("test_api_key", "test_api_secret")
	if err != nil {
		log.Fatal(err)
	}
	processed := make(chan struct{})
	failed := false
	h := payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		if !failed {
			failed = true
			return fmt.Errorf("the database of orders is down")
		}
		if e.Paid() { // an application credits the order of payhook.ExpectationFrom(ctx): docs/reconcile.md
			fmt.Printf("link %s paid %s %s\n", e.OrderID, e.Amount, e.Currency)
		}
		close(processed)
		return nil
	}, payhook.WithInbox(ib), payhook.WithStore(store))
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx) }() // until ctx is done, then a graceful stop

	body := `{"order_id":"ord_1","amount":"10.00","status":"fulfilled","currency":"USD","ref":"r1","secret":"` +
		kazawallet.Sign("test_api_key", "test_api_secret", "10.00", "ord_1") + `"}`
	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhooks/kazawallet", strings.NewReader(body)))
		fmt.Print(w.Code, " ", w.Body.String())
	}
	<-processed
	stop()
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	info, _ := ib.Get(context.Background(), "kazawallet:ord_1")
	fmt.Println(info.State, info.Attempts, info.LastError())
	// Output:
	// 200 accepted
	// 200 already processed
	// link ord_1 paid 10.00 USD
	// done 2 the database of orders is down
}
