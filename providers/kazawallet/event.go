package kazawallet

import (
	"context"

	"github.com/payhook/payhook"
)

// Status is the state of a payment link that a webhook reports.
type Status string

// The statuses Kazawallet documents. Others are kept as they arrive.
const (
	StatusFulfilled Status = "fulfilled" // the link was paid
	StatusTimedOut  Status = "timed_out" // the link expired unpaid
)

// Event is a verified Kazawallet webhook. The signature field ("secret") is
// consumed by verification and not kept, so an Event can be logged or stored
// as it is.
type Event struct {
	// OrderID is the payment link's id: the event's idempotency key.
	OrderID string `json:"order_id"`
	// Amount is the amount paid, exactly as sent.
	Amount payhook.Amount `json:"amount"`
	// Ref is the merchant's reference given when the link was created.
	// Not covered by the signature.
	Ref string `json:"ref"`
	// Status is "fulfilled" or "timed_out" (others are kept as they are).
	// Not covered by the signature.
	Status Status `json:"status"`
	// Currency is the currency code. Not covered by the signature.
	Currency string `json:"currency"`
	// SignedAmount is the amount text the signature matched: the text as
	// received, or its two-decimal or shortest form.
	SignedAmount string `json:"signed_amount"`
}

// Paid reports whether the event says the link was paid.
func (e Event) Paid() bool { return e.Status == StatusFulfilled }

// EventFrom returns the Kazawallet event that payhook's middleware put in
// ctx, and whether there was one.
func EventFrom(ctx context.Context) (Event, bool) { return payhook.EventFrom[Event](ctx) }
