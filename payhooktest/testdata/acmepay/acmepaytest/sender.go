package acmepaytest

import (
	"net/http"
	"time"

	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/acmepay"
)

// Sender builds AcmePay webhooks for the merchant whose webhook secret is
// Secret: the JSON body AcmePay posts, with its Acme-Signature header.
//
// A Sender is a value; it is safe for concurrent use.
type Sender struct {
	// Secret is the webhook secret, as given to acmepay.New.
	Secret string
	// Now gives the signature's time and the events' creation time when
	// they have none: give it the provider's clock. Default: time.Now.
	Now func() time.Time
}

func (s Sender) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Body returns e as AcmePay sends it.
func (s Sender) Body(e acmepay.Event) []byte {
	created := e.Created
	if created.IsZero() {
		created = s.now()
	}
	type data struct {
		ChargeID string `json:"charge_id"`
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	}
	return payhooktest.MustJSON(struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Created int64  `json:"created"`
		Data    data   `json:"data"`
	}{e.ID, string(e.Type), created.Unix(), data{e.ChargeID, e.Amount.String(), e.Currency}})
}

// Request returns the POST of e's webhook to target, signed with Secret
// now. It can be sent again (GetBody is set).
func (s Sender) Request(target string, e acmepay.Event) *http.Request {
	return s.request(target, e, s.Secret)
}

// Forged is Request signed with another secret.
func (s Sender) Forged(target string, e acmepay.Event) *http.Request {
	return s.request(target, e, payhooktest.ForgedKey(s.Secret))
}

func (s Sender) request(target string, e acmepay.Event, secret string) *http.Request {
	body := s.Body(e)
	r := payhooktest.NewRequest(target, body, "application/json")
	r.Header.Set(acmepay.SignatureHeader, acmepay.Sign(secret, s.now(), body))
	return r
}

// Policy returns how AcmePay delivers: three retries, a minute apart.
func (Sender) Policy() payhooktest.Policy {
	return payhooktest.Policy{Retries: 3, Interval: time.Minute}
}
