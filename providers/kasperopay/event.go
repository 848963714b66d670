package kasperopay

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/jsonx"
)

// EventType is the webhook's "event" field.
type EventType string

// PaymentCompleted is the one event KasperoPay documents ("Always
// payment.completed"), and the only one Verify accepts.
const PaymentCompleted EventType = "payment.completed"

// Event is a verified KasperoPay webhook. Fields KasperoPay may send as
// null or leave out are "" (strings), zero (amounts, times) or nil; no
// field distinguishes null from absent. Besides PaymentID, Type and
// AmountKAS, a field sent with an unexpected type (an object for a
// string) is zero too, rather than refusing a payment KasperoPay will not
// send again.
//
// What was verified depends on the Provider's configuration, and the
// fields say which: Signed is true when the body's HMAC was checked, so
// every field came from the holder of the webhook secret; Confirmation is the
// status API's answer when the payment was confirmed through it, which
// vouches for PaymentID, AmountKAS and TransactionID only — without a
// signature, OrderID, MerchantID, Items, Item and Metadata are whatever the
// sender wrote. See the package documentation.
type Event struct {
	// Type is the event's name ("event" in the body): always
	// PaymentCompleted, since Verify refuses any other.
	Type EventType `json:"event"`
	// Timestamp is when KasperoPay sent the webhook; zero when absent or in
	// a form not recognised (RFC 3339, "2006-01-02 15:04:05", Unix seconds
	// or milliseconds are).
	Timestamp time.Time `json:"timestamp,omitzero"`
	// MerchantID is the merchant's KasperoPay id ("kpm_...").
	MerchantID string `json:"merchant_id,omitempty"`
	// PaymentID is KasperoPay's payment id: the idempotency key. Never "".
	PaymentID string `json:"payment_id"`
	// OrderID is the merchant's order id, if the payment had one.
	OrderID string `json:"order_id,omitempty"`
	// AmountKAS is the amount paid in KAS, exact as sent (string or number).
	AmountKAS payhook.Amount `json:"amount_kas,omitzero"`
	// AmountUSD is its USD value at payment time, exact as sent; zero when
	// absent, null or not a number. Not compared with the status API's:
	// use Confirmation.AmountUSD for that one.
	AmountUSD payhook.Amount `json:"amount_usd,omitzero"`
	// TransactionID is the Kaspa transaction id. KasperoPay may send null:
	// Confirmation.TxID then has the status API's.
	TransactionID string `json:"transaction_id,omitempty"`
	// CustomerAddress is the payer's Kaspa address.
	CustomerAddress string `json:"customer_address,omitempty"`
	// Items are the line items, if any; entries that are not objects are
	// skipped and fields of the wrong type left zero, never rejected.
	Items []Item `json:"items,omitempty"`
	// Item is the single item description KasperoPay's server sends
	// besides or instead of Items.
	Item string `json:"item,omitempty"`
	// Metadata is the custom metadata given when the payment was created,
	// as raw JSON; nil when absent, null or "". Metadata sent as a JSON
	// string holding an object is that object. See [Event.DecodeMetadata].
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// Signed reports that the X-KasperoPay-Signature HMAC of the body was
	// checked ([WithSecrets]).
	Signed bool `json:"signed"`
	// Confirmation is the status API's answer that confirmed the payment; nil
	// when confirmation is off ([WithoutConfirmation]).
	Confirmation *Payment `json:"confirmation,omitempty"`
}

// Paid reports whether the event is a successful payment: a
// payment.completed, which, unless confirmation is off
// ([WithoutConfirmation]), the status API confirmed.
func (e Event) Paid() bool { return e.Type == PaymentCompleted }

// DecodeMetadata decodes the event's metadata into v, as json.Unmarshal
// does. Without metadata it does nothing and returns nil.
func (e Event) DecodeMetadata(v any) error {
	if len(e.Metadata) == 0 {
		return nil
	}
	if err := json.Unmarshal(e.Metadata, v); err != nil {
		return fmt.Errorf("kasperopay: metadata: %w", err)
	}
	return nil
}

// Item is a line item of a payment.
type Item struct {
	// Name is the item's name.
	Name string `json:"name,omitempty"`
	// Quantity is how many; 0 when absent or not a whole number (a JSON
	// number, or a string holding one, is accepted).
	Quantity int `json:"quantity"`
	// Price is the item's price, exact as sent; zero when absent or not a
	// number.
	Price payhook.Amount `json:"price,omitzero"`
}

// EventFrom returns the KasperoPay event that payhook's middleware put in ctx,
// and whether there was one: payhook.EventFrom[Event], without a type
// parameter to get wrong.
func EventFrom(ctx context.Context) (Event, bool) { return payhook.EventFrom[Event](ctx) }

// wire is a webhook body as KasperoPay sends it. event, payment_id and
// amount_kas, which the event and its confirmation need, are strict; the
// other fields are lenient (jsonx.Text, jsonx.Decimal, ...): a value of
// an unexpected type is read as zero, since KasperoPay never resends a
// webhook refused over a field nothing checks.
type wire struct {
	Event           jsonx.String  `json:"event"`
	Timestamp       jsonx.Time    `json:"timestamp"`
	MerchantID      jsonx.Text    `json:"merchant_id"`
	PaymentID       jsonx.String  `json:"payment_id"`
	OrderID         jsonx.Text    `json:"order_id"`
	AmountKAS       optAmount     `json:"amount_kas"`
	AmountUSD       jsonx.Decimal `json:"amount_usd"`
	TransactionID   jsonx.Text    `json:"transaction_id"`
	CustomerAddress jsonx.Text    `json:"customer_address"`
	Items           itemList      `json:"items"`
	Item            jsonx.Text    `json:"item"`
	Metadata        jsonx.Object  `json:"metadata"`
}

// decode decodes a webhook body. Only event and payment_id are required.
func decode(body []byte) (Event, error) {
	if !jsonx.IsJSON(body) {
		return Event{}, fmt.Errorf("kasperopay: %w: body is not a JSON object", payhook.ErrMalformed)
	}
	var w wire
	if err := jsonx.Unmarshal(body, &w); err != nil {
		return Event{}, fmt.Errorf("kasperopay: %w: %w", payhook.ErrMalformed, err)
	}
	switch EventType(w.Event) {
	case "":
		return Event{}, fmt.Errorf("kasperopay: %w: no event", payhook.ErrMalformed)
	case PaymentCompleted:
	default:
		// A "payment.expired" for a real payment id would otherwise be
		// acknowledged and mark the id done, and the genuine
		// payment.completed would be answered "already processed".
		return Event{}, fmt.Errorf("kasperopay: %w: event %.40q is not one KasperoPay documents (%s)", payhook.ErrMalformed, string(w.Event), PaymentCompleted)
	}
	if err := checkID(string(w.PaymentID)); err != nil {
		return Event{}, err
	}
	return Event{
		Type:            EventType(w.Event),
		Timestamp:       time.Time(w.Timestamp),
		MerchantID:      string(w.MerchantID),
		PaymentID:       string(w.PaymentID),
		OrderID:         string(w.OrderID),
		AmountKAS:       w.AmountKAS.Amount,
		AmountUSD:       amount(w.AmountUSD),
		TransactionID:   string(w.TransactionID),
		CustomerAddress: string(w.CustomerAddress),
		Items:           w.Items,
		Item:            string(w.Item),
		Metadata:        json.RawMessage(w.Metadata),
	}, nil
}

// optAmount is an amount that may also arrive as "" for none.
type optAmount struct{ payhook.Amount }

func (a *optAmount) UnmarshalJSON(b []byte) error {
	if string(b) == `""` {
		return nil
	}
	return a.Amount.UnmarshalJSON(b)
}

// itemList decodes line items leniently: a value that is not an array is
// ignored, entries that are not objects are skipped.
type itemList []Item

// itemWire is one line item; its fields never fail to decode.
type itemWire struct {
	Name     jsonx.Text    `json:"name"`
	Quantity looseInt      `json:"quantity"`
	Price    jsonx.Decimal `json:"price"`
}

func (l *itemList) UnmarshalJSON(b []byte) error {
	var ws []itemWire
	if json.Unmarshal(b, &ws) != nil { // not an array, or an entry is not an object
		var raws []json.RawMessage
		if json.Unmarshal(b, &raws) != nil {
			return nil
		}
		ws = ws[:0]
		for _, r := range raws {
			var w itemWire
			if json.Unmarshal(r, &w) == nil {
				ws = append(ws, w)
			}
		}
	}
	items := make([]Item, len(ws))
	for i, w := range ws {
		items[i] = Item{Name: string(w.Name), Quantity: int(w.Quantity), Price: amount(w.Price)}
	}
	*l = items
	return nil
}

// looseInt is a whole number from a JSON number or string ("2", 2, 2.0);
// anything else leaves it 0.
type looseInt int

func (n *looseInt) UnmarshalJSON(b []byte) error {
	*n = looseInt(quantity(b))
	return nil
}

// quantity reads a whole number from a JSON number or string ("2", 2, 2.0).
func quantity(raw json.RawMessage) int {
	var s jsonx.Text
	if len(raw) == 0 || s.UnmarshalJSON(raw) != nil || s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64)
	if err != nil || f != float64(int(f)) || f < 0 || f > 1<<31 {
		return 0
	}
	return int(f)
}

// amount is d as an Amount: the zero Amount when d is "".
func amount(d jsonx.Decimal) payhook.Amount {
	a, _ := payhook.ParseAmount(string(d)) // every non-empty Decimal parses
	return a
}
