package kazawallettest

import (
	"net/http"
	"net/url"

	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
)

// Sender builds Kazawallet webhooks for the merchant account with
// APIKey and APISecret: the body Kazawallet posts, with its "secret" field
// computed as Kazawallet computes it ([kazawallet.Sign]).
//
// The amount is signed as its text (e.Amount.String()), or as
// e.SignedAmount when that is set, so that a test can sign "10.00" and send
// "10" to exercise the forms the verifier tries. Kazawallet sends a webhook
// once, whatever the answer ([Sender.Policy]).
//
// A Sender is a value; it is safe for concurrent use.
type Sender struct {
	// APIKey and APISecret are the merchant's credentials, as given to
	// kazawallet.New.
	APIKey, APISecret string
	// Form sends the body form-encoded (application/x-www-form-urlencoded)
	// instead of as JSON. Default: JSON.
	Form bool
}

// Body returns the webhook's body for e: order_id, secret, amount (its
// text, a JSON string), ref, status and currency.
func (k Sender) Body(e kazawallet.Event) []byte { return k.body(e, k.APISecret) }

func (k Sender) body(e kazawallet.Event, apiSecret string) []byte {
	signed := e.SignedAmount
	if signed == "" {
		signed = e.Amount.String()
	}
	secret := kazawallet.Sign(k.APIKey, apiSecret, signed, e.OrderID)
	if k.Form {
		return []byte(url.Values{
			"order_id": {e.OrderID}, kazawallet.SignatureField: {secret}, "amount": {e.Amount.String()},
			"ref": {e.Ref}, "status": {string(e.Type)}, "currency": {e.Currency},
		}.Encode())
	}
	return payhooktest.MustJSON(struct {
		OrderID  string `json:"order_id"`
		Secret   string `json:"secret"`
		Amount   string `json:"amount"`
		Ref      string `json:"ref"`
		Status   string `json:"status"`
		Currency string `json:"currency"`
	}{e.OrderID, secret, e.Amount.String(), e.Ref, string(e.Type), e.Currency})
}

// Request returns the POST of e's webhook to target, a path for a handler
// in process ("/webhooks/kazawallet") or an absolute URL. It can be sent
// again (GetBody is set). It panics if target is not a URL.
func (k Sender) Request(target string, e kazawallet.Event) *http.Request {
	return payhooktest.NewRequest(target, k.Body(e), k.contentType())
}

// Forged is Request with the secret field computed with another API
// secret: what someone who does not know the merchant's secret would send.
func (k Sender) Forged(target string, e kazawallet.Event) *http.Request {
	return payhooktest.NewRequest(target, k.body(e, payhooktest.ForgedKey(k.APISecret)), k.contentType())
}

// Policy returns how Kazawallet delivers: once, never again whatever the
// answer.
func (Sender) Policy() payhooktest.Policy { return payhooktest.Policy{} }

func (k Sender) contentType() string {
	if k.Form {
		return "application/x-www-form-urlencoded"
	}
	return "application/json"
}
