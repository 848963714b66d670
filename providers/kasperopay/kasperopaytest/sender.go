package kasperopaytest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
)

// Sender builds KasperoPay webhooks: the JSON body KasperoPay posts,
// signed in the X-KasperoPay-Signature header ([kasperopay.Sign]) when the
// merchant has a webhook secret, unsigned otherwise, as KasperoPay sends
// them by default. KasperoPay sends a webhook once, whatever the answer
// ([Sender.Policy]).
//
// A Sender is a value; it is safe for concurrent use.
type Sender struct {
	// Secret is the webhook secret, as given to kasperopay.WithSecrets.
	// Default: "", an unsigned webhook.
	Secret string
	// Now gives the timestamp of events that have none: give it the
	// provider's clock (a payhooktest.Clock's Now) so that a signed webhook lies in
	// the provider's replay window. Default: time.Now.
	Now func() time.Time
}

// Body returns e as KasperoPay sends it: event, timestamp (e.Timestamp, or
// Now() when zero, in RFC 3339 UTC with milliseconds), merchant_id,
// payment_id, order_id, amount_kas and amount_usd (their text as JSON
// strings, as KasperoPay's documentation shows them), transaction_id and
// customer_address (null when empty or zero), items and item (left out when
// empty) and metadata ({} when nil).
func (k Sender) Body(e kasperopay.Event) []byte {
	ts := e.Timestamp
	if ts.IsZero() {
		now := k.Now
		if now == nil {
			now = time.Now
		}
		ts = now()
	}
	meta := e.Metadata
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	return payhooktest.MustJSON(struct {
		Event           string            `json:"event"`
		Timestamp       string            `json:"timestamp"`
		MerchantID      *string           `json:"merchant_id"`
		PaymentID       string            `json:"payment_id"`
		OrderID         *string           `json:"order_id"`
		AmountKAS       *string           `json:"amount_kas"`
		AmountUSD       *string           `json:"amount_usd"`
		TransactionID   *string           `json:"transaction_id"`
		CustomerAddress *string           `json:"customer_address"`
		Items           []kasperopay.Item `json:"items,omitempty"`
		Item            string            `json:"item,omitempty"`
		Metadata        json.RawMessage   `json:"metadata"`
	}{string(e.Type), ts.UTC().Format("2006-01-02T15:04:05.000Z07:00"), orNull(e.MerchantID), e.PaymentID, orNull(e.OrderID),
		text(e.AmountKAS), text(e.AmountUSD), orNull(e.TransactionID), orNull(e.CustomerAddress), e.Items, e.Item, meta})
}

// Request returns the POST of e's webhook to target, a path for a handler
// in process ("/webhooks/kasperopay") or an absolute URL, signed when
// Secret is set. It can be sent again (GetBody is set). It panics if target
// is not a URL.
func (k Sender) Request(target string, e kasperopay.Event) *http.Request {
	body := k.Body(e)
	r := payhooktest.NewRequest(target, body, "application/json")
	if k.Secret != "" {
		r.Header.Set(kasperopay.SignatureHeader, kasperopay.Sign(k.Secret, body))
	}
	return r
}

// Forged is Request with an X-KasperoPay-Signature computed with another
// secret. A Provider without a webhook secret ignores the header: a forged
// unsigned webhook is one the status API does not confirm (a payment the
// fake API does not know, or another amount).
func (k Sender) Forged(target string, e kasperopay.Event) *http.Request {
	body := k.Body(e)
	r := payhooktest.NewRequest(target, body, "application/json")
	r.Header.Set(kasperopay.SignatureHeader, kasperopay.Sign(payhooktest.ForgedKey(k.Secret), body))
	return r
}

// Policy returns how KasperoPay delivers: once, whatever the answer.
func (Sender) Policy() payhooktest.Policy { return payhooktest.Policy{} }

// text returns a's text, or nil for the zero Amount, for fields sent as a
// JSON string or null.
func text(a payhook.Amount) *string {
	if a.IsZero() {
		return nil
	}
	s := a.String()
	return &s
}
