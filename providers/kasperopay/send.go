package kasperopay

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/deliver"
)

// Sender builds the webhooks KasperoPay sends: the JSON body KasperoPay
// posts, signed in the X-KasperoPay-Signature header ([Sign]) when the
// merchant has a webhook secret, unsigned otherwise, as KasperoPay sends
// them by default. It plays KasperoPay's part for tools (payhook send, the
// sandbox of payhook serve) and for kasperopaytest, which wraps it for
// tests.
//
// A Sender is a value; it is safe for concurrent use.
type Sender struct {
	// Secret is the webhook secret, as given to WithSecrets.
	// Default: "", an unsigned webhook.
	Secret string
	// Now gives the timestamp of events that have none: give it the
	// provider's clock (WithClock) so that a signed webhook lies in the
	// provider's replay window. Default: time.Now.
	Now func() time.Time
}

// Body returns e as KasperoPay sends it: event, timestamp (e.Timestamp, or
// Now() when zero, in RFC 3339 UTC with milliseconds), merchant_id,
// payment_id, order_id, amount_kas and amount_usd (their text as JSON
// strings, as KasperoPay's documentation shows them), transaction_id and
// customer_address (null when empty or zero), items and item (left out when
// empty) and metadata ({} when nil). It fails only when e.Metadata is not
// valid JSON.
func (s Sender) Body(e Event) ([]byte, error) {
	ts := e.Timestamp
	if ts.IsZero() {
		now := s.Now
		if now == nil {
			now = time.Now
		}
		ts = now()
	}
	meta := e.Metadata
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	return json.Marshal(struct {
		Event           string          `json:"event"`
		Timestamp       string          `json:"timestamp"`
		MerchantID      *string         `json:"merchant_id"`
		PaymentID       string          `json:"payment_id"`
		OrderID         *string         `json:"order_id"`
		AmountKAS       *string         `json:"amount_kas"`
		AmountUSD       *string         `json:"amount_usd"`
		TransactionID   *string         `json:"transaction_id"`
		CustomerAddress *string         `json:"customer_address"`
		Items           []Item          `json:"items,omitempty"`
		Item            string          `json:"item,omitempty"`
		Metadata        json.RawMessage `json:"metadata"`
	}{string(e.Type), ts.UTC().Format("2006-01-02T15:04:05.000Z07:00"), orNull(e.MerchantID), e.PaymentID, orNull(e.OrderID),
		text(e.AmountKAS), text(e.AmountUSD), orNull(e.TransactionID), orNull(e.CustomerAddress), e.Items, e.Item, meta})
}

// NewRequest returns the POST of e's webhook to target, the merchant's
// webhook URL, signed when Secret is set. It can be sent again (GetBody is
// set).
func (s Sender) NewRequest(target string, e Event) (*http.Request, error) {
	body, err := s.Body(e)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	if s.Secret != "" {
		r.Header.Set(SignatureHeader, Sign(s.Secret, body))
	}
	return r, nil
}

// Policy returns how KasperoPay delivers: once, whatever the answer.
func (Sender) Policy() deliver.Policy { return deliver.Policy{} }

// text returns a's text, or nil for the zero Amount, for fields sent as a
// JSON string or null.
func text(a payhook.Amount) *string {
	if a.IsZero() {
		return nil
	}
	s := a.String()
	return &s
}

// orNull returns nil for "", for fields KasperoPay sends as null.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
