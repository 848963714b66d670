package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/idempotency/sqlitestore"
)

// Expectations on the file of the idempotency store: a Kazawallet payment
// expected by reference is settled by the first order id that pays it,
// and by no other.
func ExampleNewExpectations() {
	dir, err := os.MkdirTemp("", "sqlitestore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	db, err := sqlitestore.OpenDB(filepath.Join(dir, "payhook.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	expectations, err := sqlitestore.NewExpectations(db)
	if err == nil {
		err = expectations.Migrate(ctx) // once, at startup
	}
	if err != nil {
		log.Fatal(err)
	}
	r := payhook.NewReconciler(expectations) // and payhook.WithReconciler(r) in each Handle

	err = r.Expect(ctx, expect.Expectation{Provider: "kazawallet", Ref: "order_42",
		Amount: "10.50", Currency: "USD", Deadline: time.Now().Add(24 * time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	k := expect.Key{Provider: "kazawallet", Ref: "order_42"}
	x, err := expectations.Settle(ctx, k, expect.Settlement{PaymentID: "ord_1", Outcome: expect.OutcomePaid, At: time.Now()})
	fmt.Println(x.State, x.PaymentID, err)
	_, err = expectations.Settle(ctx, k, expect.Settlement{PaymentID: "ord_2", Outcome: expect.OutcomePaid, At: time.Now()})
	fmt.Println(errors.Is(err, expect.ErrSettled))
	// Output:
	// settled ord_1 <nil>
	// true
}
