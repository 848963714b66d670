// Command quickstart receives Kazawallet's payment webhooks and marks the
// shop's orders paid, once each, by the one rule of docs/reconcile.md: the
// shop says what it expects when it creates a payment link (its own ref,
// the amount, the currency), and payhook hands it a payment only once its
// ref has found that expectation, its signed amount and currency match it,
// the expectation is settled once, and its signed order id settles no other.
//
//	KAZAWALLET_API_KEY=test_api_key KAZAWALLET_API_SECRET=test_api_secret go run .
//
// It is one file with its own tiny order book, so that it compiles and runs
// when pasted into a fresh module.
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
	"github.com/payhook/payhook/providers/kazawallet"
)

func main() {
	kw, err := kazawallet.New(os.Getenv("KAZAWALLET_API_KEY"), os.Getenv("KAZAWALLET_API_SECRET"))
	if err != nil {
		log.Fatal(err) // an empty key or secret is refused: payhook never runs unverified
	}
	// One order, as if its payment link had just been created with
	// kazawallet.Client.CreatePaymentLink and the ref "1001". Kazawallet
	// may answer with the link's URL only, so the shop tells payhook what
	// it expects by that ref.
	orders, expected := newOrderBook(), expect.NewMemory()
	if err := orders.add(context.Background(), expected, order{ID: "1001", Amount: payhook.MustAmount("10.00"), Currency: "USD"}); err != nil {
		log.Fatal(err)
	}

	srv := &http.Server{ // never http.ListenAndServe: it has no timeouts, and a slow client holds a connection forever
		Addr:              ":8080",
		Handler:           newMux(kw, expected, orders, slog.Default()),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	log.Fatal(srv.ListenAndServe())
}

// newMux mounts the webhook. payhook.Handle verifies each delivery,
// decodes it, checks it against its expectation, and calls the func once
// per event: nil acknowledges it (200), and a duplicate is answered 200
// without calling it again.
func newMux(kw *kazawallet.Provider, expected expect.Store, orders *orderBook, logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		if !e.Paid() {
			return nil // "timed_out": the link expired unpaid, nothing to credit
		}
		// The ref is not signed, but payhook has checked the payment
		// against the expectation the ref found: the signed amount and
		// currency are the expected ones, and neither the expectation nor
		// this order id paid anything before. A payment that fails that
		// never gets here.
		x, ok := payhook.ExpectationFrom(ctx)
		if !ok {
			// No expectation has this ref: no order of ours, or not yet.
			// Never acknowledged silently: answered 503 and logged at
			// ERROR by payhook, for a person to look at (with an inbox,
			// retried, then kept dead).
			return fmt.Errorf("shop: link %s pays no expected order: %w", e.OrderID, payhook.ErrUnexpected)
		}
		orders.markPaid(x.Ref, e.OrderID)
		logger.InfoContext(ctx, "order paid", "order", x.Ref, "link", e.OrderID, "amount", e.Amount, "currency", e.Currency)
		return nil
	}, payhook.WithExpectations(expected), payhook.WithLogger(logger))) // rejections and duplicates, with their reasons
	return mux
}

// order is a shop order awaiting its payment.
type order struct {
	ID       string         // also the ref given to createPaymentLink
	Amount   payhook.Amount // exact: "10.00" equals "10", never a float
	Currency string
	PaidBy   string // the payment link (order_id) that paid it
}

// orderBook holds the orders by their id. Your database takes its place.
type orderBook struct {
	mu     sync.Mutex
	orders map[string]order
}

func newOrderBook() *orderBook { return &orderBook{orders: map[string]order{}} }

// add records o and tells payhook to expect its payment: by its id, which
// is the ref of its payment link, for its amount, within a day.
func (b *orderBook) add(ctx context.Context, expected expect.Store, o order) error {
	b.mu.Lock()
	b.orders[o.ID] = o
	b.mu.Unlock()
	return expected.Add(ctx, expect.Expectation{Provider: kazawallet.Name, Ref: o.ID,
		Amount: o.Amount.String(), Currency: o.Currency, Deadline: time.Now().Add(24 * time.Hour)})
}

func (b *orderBook) find(id string) (order, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.orders[id]
	return o, ok
}

func (b *orderBook) markPaid(id, link string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.orders[id]
	o.PaidBy = link
	b.orders[id] = o
}
