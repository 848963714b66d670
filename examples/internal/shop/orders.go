// Package shop is the small application that every router example serves:
// orders that the payment providers' webhooks mark paid or failed. It is
// the part of a real service that does not change with the router, so the
// examples share it and differ only in how they mount payhook.
package shop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/payhook/payhook"
)

// Status is an order's state.
type Status string

// The states of an order.
const (
	Pending Status = "pending" // created, not paid yet
	Paid    Status = "paid"    // a provider confirmed the payment
	Failed  Status = "failed"  // a provider reported the payment failed or expired
)

// Order is what the shop sells: one amount, paid once.
type Order struct {
	// ID is the shop's order id, which the provider echoes back: Kazawallet
	// as the link's ref, KKiaPay in the widget's data (stateData).
	ID string `json:"id"`
	// Amount is the price, exact.
	Amount payhook.Amount `json:"amount"`
	// Currency is the price's currency code ("USD", "XOF", "KAS").
	Currency string `json:"currency"`
	// PaymentID is the provider's payment id recorded when the payment
	// began, for providers whose webhooks cannot be trusted to name the
	// order (KasperoPay's). Optional.
	PaymentID string `json:"payment_id,omitempty"`
	// Status is the order's state; Pending when created.
	Status Status `json:"status"`
	// History lists every payment notice applied to the order, in order:
	// one per event, however often the provider delivered it.
	History []Payment `json:"history,omitempty"`
}

// Payment is one payment notice from a provider, as the shop records it.
type Payment struct {
	Provider string         `json:"provider"`
	ID       string         `json:"id"` // the provider's id for the payment
	Amount   payhook.Amount `json:"amount,omitzero"`
	Currency string         `json:"currency,omitempty"`
	// Reason says why a payment failed ("timed_out", "insufficient_fund").
	Reason string `json:"reason,omitempty"`
}

// Errors of an OrderStore. A webhook naming an unknown order, or paying
// the wrong amount, is not fixed by the provider sending it again.
var (
	ErrUnknownOrder   = errors.New("shop: unknown order")
	ErrOrderExists    = errors.New("shop: order exists")
	ErrAmountMismatch = errors.New("shop: amount does not match the order")
)

// OrderStore keeps the shop's orders. Implementations must be safe for
// concurrent use.
type OrderStore interface {
	// Create adds a pending order; ErrOrderExists if its id is taken.
	Create(ctx context.Context, o Order) error
	// Get returns an order, or ErrUnknownOrder.
	Get(ctx context.Context, id string) (Order, error)
	// ByPaymentID returns the order whose PaymentID is id, or
	// ErrUnknownOrder.
	ByPaymentID(ctx context.Context, id string) (Order, error)
	// MarkPaid records p on the order and marks it paid. It returns
	// ErrAmountMismatch, changing nothing, unless p pays the order's
	// amount in its currency.
	MarkPaid(ctx context.Context, orderID string, p Payment) error
	// MarkFailed records p on the order and marks it failed, unless it is
	// already paid (a late failure notice does not undo a payment).
	MarkFailed(ctx context.Context, orderID string, p Payment) error
}

// Memory is an in-memory OrderStore. Its zero value is empty and ready to
// use; it is safe for concurrent use.
type Memory struct {
	mu     sync.Mutex
	orders map[string]*Order
}

var _ OrderStore = (*Memory)(nil)

// NewMemory returns a Memory holding orders, for tests and demos.
func NewMemory(orders ...Order) *Memory {
	m := &Memory{}
	for _, o := range orders {
		if err := m.Create(context.Background(), o); err != nil {
			panic(err)
		}
	}
	return m
}

// Create implements OrderStore.
func (m *Memory) Create(_ context.Context, o Order) error {
	if o.ID == "" || o.Amount.IsZero() || o.Currency == "" {
		return errors.New("shop: an order needs an id, an amount and a currency")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.orders[o.ID]; ok {
		return fmt.Errorf("%w: %q", ErrOrderExists, o.ID)
	}
	if m.orders == nil {
		m.orders = make(map[string]*Order)
	}
	o.Status, o.History = Pending, nil
	m.orders[o.ID] = &o
	return nil
}

// Get implements OrderStore.
func (m *Memory) Get(_ context.Context, id string) (Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return Order{}, fmt.Errorf("%w: %q", ErrUnknownOrder, id)
	}
	return o.copy(), nil
}

// ByPaymentID implements OrderStore.
func (m *Memory) ByPaymentID(_ context.Context, id string) (Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.orders {
		if id != "" && o.PaymentID == id {
			return o.copy(), nil
		}
	}
	return Order{}, fmt.Errorf("%w: no order for payment %q", ErrUnknownOrder, id)
}

// MarkPaid implements OrderStore.
func (m *Memory) MarkPaid(_ context.Context, orderID string, p Payment) error {
	return m.update(orderID, func(o *Order) error {
		if !p.Amount.Equal(o.Amount) || p.Currency != o.Currency {
			return fmt.Errorf("%w: order %q costs %s %s, %s paid %s %s",
				ErrAmountMismatch, o.ID, o.Amount, o.Currency, p.Provider, p.Amount, p.Currency)
		}
		o.Status = Paid
		o.History = append(o.History, p)
		return nil
	})
}

// MarkFailed implements OrderStore.
func (m *Memory) MarkFailed(_ context.Context, orderID string, p Payment) error {
	return m.update(orderID, func(o *Order) error {
		if o.Status != Paid {
			o.Status = Failed
		}
		o.History = append(o.History, p)
		return nil
	})
}

func (m *Memory) update(id string, change func(*Order) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownOrder, id)
	}
	return change(o)
}

func (o *Order) copy() Order {
	c := *o
	c.History = slices.Clone(o.History)
	return c
}
