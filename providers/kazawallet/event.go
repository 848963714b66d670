package kazawallet

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/jsonx"
)

// EventType is what a webhook reports of its payment link: the body's
// "status".
type EventType string

// The event types (link statuses) Kazawallet documents. Others are kept as
// they arrive: the status is not signed, so refusing one would protect
// nothing, and Kazawallet never sends a webhook twice.
const (
	Fulfilled EventType = "fulfilled" // the link was paid
	TimedOut  EventType = "timed_out" // the link expired unpaid
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
	// Type is the link's status, Fulfilled or TimedOut (others are kept as
	// they are). Not covered by the signature.
	Type EventType `json:"status"`
	// Currency is the currency code. Not covered by the signature.
	Currency string `json:"currency"`
	// SignedAmount is the amount text the signature matched: the text as
	// received, or its two-decimal or shortest form.
	SignedAmount string `json:"signed_amount"`
}

// Paid reports whether the event is a successful payment: the link was
// fulfilled. The status is not signed: check the amount against your order.
func (e Event) Paid() bool { return e.Type == Fulfilled }

// EventFrom returns the Kazawallet event that payhook's middleware put in ctx,
// and whether there was one: payhook.EventFrom[Event], without a type
// parameter to get wrong.
func EventFrom(ctx context.Context) (Event, bool) { return payhook.EventFrom[Event](ctx) }

// wire is a webhook body as Kazawallet sends it.
type wire struct {
	OrderID  jsonx.String   `json:"order_id"`
	ID       jsonx.String   `json:"id"`
	Secret   string         `json:"secret"`
	Amount   payhook.Amount `json:"amount"`
	Ref      jsonx.String   `json:"ref"`
	Status   string         `json:"status"`
	Currency string         `json:"currency"`
}

// decodeFlat is the fast path of decode for the body Kazawallet sends: a
// flat object of strings and numbers. It reads each value as
// jsonx.Unmarshal would, through the same UnmarshalJSON methods, and
// reports false for anything else (FuzzDecodeFlat checks that it never
// reads a body differently). It spares the reflection of encoding/json and
// the second pass of jsonx.CheckKeys: half of Verify's time.
func (w *wire) decodeFlat(body []byte) bool {
	return jsonx.Flat(body, func(key, v []byte) bool {
		switch string(key) {
		case "order_id":
			return w.OrderID.UnmarshalJSON(v) == nil
		case "id":
			return w.ID.UnmarshalJSON(v) == nil
		case "amount":
			return w.Amount.UnmarshalJSON(v) == nil
		case "ref":
			return w.Ref.UnmarshalJSON(v) == nil
		case "secret":
			return setString(&w.Secret, v)
		case "status":
			return setString(&w.Status, v)
		case "currency":
			return setString(&w.Currency, v)
		}
		// An unknown key is ignored, as encoding/json ignores it; one that
		// names a field only by case is the general path's to refuse.
		for _, f := range wireFields {
			if strings.EqualFold(f, string(key)) {
				return false
			}
		}
		return true
	})
}

// wireFields are the JSON names of wire's fields.
var wireFields = [...]string{"order_id", "id", "secret", "amount", "ref", "status", "currency"}

func setString(dst *string, v []byte) bool {
	s, ok := jsonx.FlatString(v)
	if ok && string(v) != "null" {
		*dst = s
	}
	return ok
}

func (w *wire) decode(body []byte) error {
	if jsonx.IsJSON(body) {
		if w.decodeFlat(body) {
			return nil
		}
		*w = wire{}
		if err := jsonx.Unmarshal(body, w); err != nil {
			return fmt.Errorf("kazawallet: %w: %w", payhook.ErrMalformed, err)
		}
		return nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return fmt.Errorf("kazawallet: %w: body is neither JSON nor a form: %w", payhook.ErrMalformed, err)
	}
	for _, f := range []string{"order_id", "id", "secret", "amount", "ref", "status", "currency"} {
		if len(form[f]) > 1 {
			return fmt.Errorf("kazawallet: %w: field %s repeated", payhook.ErrMalformed, f)
		}
	}
	w.OrderID, w.ID = jsonx.String(form.Get("order_id")), jsonx.String(form.Get("id"))
	w.Secret, w.Ref = form.Get("secret"), jsonx.String(form.Get("ref"))
	w.Status, w.Currency = form.Get("status"), form.Get("currency")
	if a := form.Get("amount"); a != "" {
		if w.Amount, err = payhook.ParseAmount(a); err != nil {
			return fmt.Errorf("kazawallet: %w", err)
		}
	}
	return nil
}
