package kazawallet

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/payhook/payhook/deliver"
)

// Sender builds the webhooks Kazawallet sends to the merchant account with
// APIKey and APISecret: the body Kazawallet posts, with its "secret" field
// computed as Kazawallet computes it ([Sign]). It plays Kazawallet's part
// for tools (payhook send, the sandbox of payhook serve) and for
// kazawallettest, which wraps it for tests.
//
// The amount is signed as its text (e.Amount.String()), or as
// e.SignedAmount when that is set, so that a test can sign "10.00" and
// send "10" to exercise the forms the verifier tries.
//
// A Sender is a value; it is safe for concurrent use.
type Sender struct {
	// APIKey and APISecret are the merchant's credentials, as given to
	// New.
	APIKey, APISecret string
	// Form sends the body form-encoded (application/x-www-form-urlencoded)
	// instead of as JSON. Default: JSON.
	Form bool
}

// Body returns the webhook's body for e: order_id, secret, amount (its
// text, a JSON string), ref, status and currency. It never fails; the
// error is there for the same signature as the other providers' Senders.
func (s Sender) Body(e Event) ([]byte, error) {
	signed := e.SignedAmount
	if signed == "" {
		signed = e.Amount.String()
	}
	secret := Sign(s.APIKey, s.APISecret, signed, e.OrderID)
	if s.Form {
		return []byte(url.Values{
			"order_id": {e.OrderID}, SignatureField: {secret}, "amount": {e.Amount.String()},
			"ref": {e.Ref}, "status": {string(e.Type)}, "currency": {e.Currency},
		}.Encode()), nil
	}
	return json.Marshal(struct {
		OrderID  string `json:"order_id"`
		Secret   string `json:"secret"`
		Amount   string `json:"amount"`
		Ref      string `json:"ref"`
		Status   string `json:"status"`
		Currency string `json:"currency"`
	}{e.OrderID, secret, e.Amount.String(), e.Ref, string(e.Type), e.Currency})
}

// NewRequest returns the POST of e's webhook to target, the merchant's
// webhook URL. It can be sent again (GetBody is set).
func (s Sender) NewRequest(target string, e Event) (*http.Request, error) {
	body, err := s.Body(e)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ct := "application/json"
	if s.Form {
		ct = "application/x-www-form-urlencoded"
	}
	r.Header.Set("Content-Type", ct)
	return r, nil
}

// Policy returns how Kazawallet delivers: once, never again whatever the
// answer.
func (Sender) Policy() deliver.Policy { return deliver.Policy{} }
