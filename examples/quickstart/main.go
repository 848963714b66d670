// Command quickstart receives Kazawallet's payment webhooks and marks the
// shop's orders paid, once each, after three checks: the event is a
// payment, the order is found by the payment link's id (which Kazawallet
// signs), and the amount and currency are the order's.
//
//	KAZAWALLET_API_KEY=test_api_key KAZAWALLET_API_SECRET=test_api_secret go run .
//
// It is one file with its own tiny order book, so that it compiles and runs
// when pasted into a fresh module.
package main

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
)

func main() {
	kw, err := kazawallet.New(os.Getenv("KAZAWALLET_API_KEY"), os.Getenv("KAZAWALLET_API_SECRET"))
	if err != nil {
		log.Fatal(err) // an empty key or secret is refused: payhook never runs unverified
	}
	// One order, as if its payment link had just been created: the link's
	// id is what kazawallet.Client.CreatePaymentLink returns in
	// PaymentLink.OrderID, and what the webhook's order_id carries.
	orders := newOrderBook()
	orders.add("ord_123", order{ID: "1001", Amount: payhook.MustAmount("10.00"), Currency: "USD"})

	srv := &http.Server{ // never http.ListenAndServe: it has no timeouts, and a slow client holds a connection forever
		Addr:              ":8080",
		Handler:           newMux(kw, orders, slog.Default()),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	log.Fatal(srv.ListenAndServe())
}

// newMux mounts the webhook. payhook.Handle verifies each delivery, decodes
// it, and calls the func once per event: nil acknowledges it (200), and a
// duplicate is answered 200 without calling it again.
func newMux(kw *kazawallet.Provider, orders *orderBook, logger *slog.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
		if !e.Paid() {
			return nil // "timed_out": the link expired unpaid, nothing to credit
		}
		// The order_id is signed; the ref, the status and the currency
		// are not. Find the order by the former only.
		o, ok := orders.find(e.OrderID)
		if !ok || !e.Amount.Equal(o.Amount) || e.Currency != o.Currency {
			// Not a payment of ours, or not its price: acknowledge it,
			// since Kazawallet would send it again to no avail, and log
			// it for a person to look at.
			logger.WarnContext(ctx, "payment not applied", "link", e.OrderID, "amount", e.Amount, "currency", e.Currency)
			return nil
		}
		orders.markPaid(e.OrderID)
		logger.InfoContext(ctx, "order paid", "order", o.ID, "amount", e.Amount, "currency", e.Currency)
		return nil
	}, payhook.WithLogger(logger))) // rejections and duplicates, with their reasons
	return mux
}

// order is a shop order awaiting its payment.
type order struct {
	ID       string
	Amount   payhook.Amount // exact: "10.00" equals "10", never a float
	Currency string
	Paid     bool
}

// orderBook holds the orders by the id of their payment link. Your
// database takes its place.
type orderBook struct {
	mu     sync.Mutex
	orders map[string]order
}

func newOrderBook() *orderBook { return &orderBook{orders: map[string]order{}} }

func (b *orderBook) add(link string, o order) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.orders[link] = o
}

func (b *orderBook) find(link string) (order, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.orders[link]
	return o, ok
}

func (b *orderBook) markPaid(link string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o := b.orders[link]
	o.Paid = true
	b.orders[link] = o
}
