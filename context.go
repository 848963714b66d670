package payhook

import (
	"context"
	"time"

	"github.com/payhook/payhook/expect"
)

// eventKey is the context key of a delivery. The value is a *delivery[E],
// so a type assertion tells the providers' events apart.
type eventKey struct{}

// delivery is the context that carries a verified event to the next handler.
// Embedding the parent, rather than calling context.WithValue on a boxed
// event, costs one allocation instead of two.
type delivery[E any] struct {
	context.Context
	event E
	key   string // the idempotency key, without the provider prefix
	// x is the expectation the event settled ([WithExpectations]), and
	// reopen whether it is settled by this payment, whose key this
	// delivery holds (to reopen it if the handler fails without an inbox).
	x      *expect.Expectation
	reopen bool
	// detached is the context for finishing the claim once the handler has
	// returned: it keeps the values but is never canceled, and living in
	// the delivery it costs no allocation (context.WithoutCancel does).
	detached detached
}

type detached struct{ parent context.Context }

func (detached) Deadline() (time.Time, bool) { return time.Time{}, false }
func (detached) Done() <-chan struct{}       { return nil }
func (detached) Err() error                  { return nil }
func (d *detached) Value(k any) any          { return d.parent.Value(k) }

func (d *delivery[E]) Value(k any) any {
	switch k {
	case eventKey{}:
		return d
	case expectationKey{}:
		if d.x != nil {
			return d.x
		}
	}
	return d.Context.Value(k)
}

// EventFrom returns the verified event that [Middleware] put in ctx, and
// whether there was one of type E.
//
// Each provider offers the same with E fixed, kazawallet.EventFrom(ctx) and
// so on: a handler of one provider reads it that way, as a phrase with no
// type parameter to get wrong (EventFrom[*kazawallet.Event] finds nothing).
// This generic form is for code written for any provider: a provider
// package's own accessor, a handler or a test generic over E. [Handle]'s
// func is given the event and needs neither.
func EventFrom[E any](ctx context.Context) (E, bool) {
	d, ok := ctx.Value(eventKey{}).(*delivery[E])
	if !ok {
		var zero E
		return zero, false
	}
	return d.event, true
}

// KeyFrom returns the idempotency key of the event that [Middleware] put in
// ctx (an order or transaction id, without the provider prefix the store
// sees), and whether there was one.
func KeyFrom(ctx context.Context) (string, bool) {
	d, ok := ctx.Value(eventKey{}).(interface{ idempotencyKey() string })
	if !ok {
		return "", false
	}
	return d.idempotencyKey(), true
}

func (d *delivery[E]) idempotencyKey() string { return d.key }

// receivedKey is the context key of the time an inbox entry's delivery
// arrived.
type receivedKey struct{}

// ReceivedAt returns when the delivery being processed arrived, and whether
// ctx says so: it does in a handler (or a Confirm) run later from an inbox
// ([WithInbox]), where now is not when the provider sent the webhook. A
// provider that bounds replays by the age of a payment measures that age
// at this time, so that an event kept through an outage of the provider's
// API is not taken for a replay when the worker confirms it.
func ReceivedAt(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(receivedKey{}).(time.Time)
	return t, ok && !t.IsZero()
}
