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
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
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
	// ID is the shop's order id. The shop gives it to the provider as its
	// reference (Kazawallet's ref, KKiaPay's partnerId, KasperoPay's
	// order_id) and to payhook as the expectation's Ref (Expect): a
	// webhook that echoes it proves nothing by itself, but the expectation
	// it finds is credited only for its own amount, once.
	ID string `json:"id"`
	// Amount is the price, exact.
	Amount payhook.Amount `json:"amount"`
	// Currency is the price's currency code ("USD", "XOF", "KAS").
	Currency string `json:"currency"`
	// Provider is the provider the order is paid through, and PaymentID
	// the provider's id for the payment when the shop knows it as the
	// payment starts (KKiaPay's transactionId from its widget, KasperoPay's
	// payment_id; Kazawallet's link id, which createPaymentLink may not
	// return): with a Provider, creating the order through API adds its
	// expectation (Expect). After a payment, the paying payment's.
	Provider  string `json:"provider,omitempty"`
	PaymentID string `json:"payment_id,omitempty"`
	// Status is the order's state; Pending when created.
	Status Status `json:"status"`
	// History lists every payment notice applied to the order, in order:
	// one per payment, however often the provider delivered it.
	History []Payment `json:"history,omitempty"`
}

// Expect tells payhook, through expected, what o's payment must be when it
// starts: the expectation of o.Provider's payment o.PaymentID (when
// known), with o's id as its Ref, o's amount and currency, due within a
// day. payhook then hands the webhook handlers (Webhooks) the expectation
// of each payment, checked against it: the one rule for finding the order
// a payment pays (docs/reconcile.md).
func Expect(ctx context.Context, expected expect.Store, o Order) error {
	return expected.Add(ctx, expect.Expectation{Provider: o.Provider, ID: o.PaymentID, Ref: o.ID,
		Amount: o.Amount.String(), Currency: o.Currency, Deadline: time.Now().Add(24 * time.Hour)})
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

// Errors of an OrderStore. A notice for an unknown order, or naming a
// payment that is not the order's, is not fixed by the provider sending it
// again.
var (
	ErrUnknownOrder = errors.New("shop: unknown order")
	ErrOrderExists  = errors.New("shop: order exists")
	// ErrOtherPayment: the order is paid, or awaits, another payment.
	ErrOtherPayment = errors.New("shop: the order belongs to another payment")
	// ErrAlreadyApplied: a notice of this payment was applied already.
	ErrAlreadyApplied = errors.New("shop: a notice of this payment was applied already")
)

// OrderStore keeps the shop's orders. Implementations must be safe for
// concurrent use.
type OrderStore interface {
	// Create adds a pending order; ErrOrderExists if its id is taken.
	Create(ctx context.Context, o Order) error
	// Get returns an order, or ErrUnknownOrder.
	Get(ctx context.Context, id string) (Order, error)
	// MarkPaid records p on the order, marks it paid and sets its
	// Provider and PaymentID to p's. It changes nothing and returns
	// ErrOtherPayment if the order belongs to another payment, or
	// ErrAlreadyApplied if a notice of p's payment was applied to it.
	// payhook has checked the amount against the order's expectation.
	MarkPaid(ctx context.Context, orderID string, p Payment) error
	// MarkFailed records p on the order and marks it failed, unless it is
	// paid (a late failure notice does not undo a payment). It returns
	// errors as MarkPaid does.
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
	if o.PaymentID != "" && o.Provider == "" {
		return errors.New("shop: an order's payment id needs its provider")
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

// MarkPaid implements OrderStore.
func (m *Memory) MarkPaid(_ context.Context, orderID string, p Payment) error {
	return m.update(orderID, p, func(o *Order) {
		o.Status, o.Provider, o.PaymentID = Paid, p.Provider, p.ID
	})
}

// MarkFailed implements OrderStore.
func (m *Memory) MarkFailed(_ context.Context, orderID string, p Payment) error {
	return m.update(orderID, p, func(o *Order) {
		if o.Status != Paid {
			o.Status = Failed
		}
	})
}

// update applies p to the order id with change, once per payment, unless
// the order belongs to another payment.
func (m *Memory) update(id string, p Payment, change func(*Order)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	switch {
	case !ok:
		return fmt.Errorf("%w: %q", ErrUnknownOrder, id)
	case o.PaymentID != "" && (o.Provider != p.Provider || o.PaymentID != p.ID):
		return fmt.Errorf("%w: order %q, %s payment %q", ErrOtherPayment, id, p.Provider, p.ID)
	case o.applied(p.Provider, p.ID):
		return fmt.Errorf("%w: order %q, %s payment %q", ErrAlreadyApplied, id, p.Provider, p.ID)
	}
	change(o)
	o.History = append(o.History, p)
	return nil
}

// applied reports whether a notice of the provider's payment id was
// applied to o.
func (o *Order) applied(provider, id string) bool {
	return slices.ContainsFunc(o.History, func(p Payment) bool { return p.Provider == provider && p.ID == id })
}

func (o *Order) copy() Order {
	c := *o
	c.History = slices.Clone(o.History)
	return c
}
