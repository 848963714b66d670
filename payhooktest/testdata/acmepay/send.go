package acmepay

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/payhook/payhook/deliver"
)

// Sender builds the webhooks AcmePay sends to the merchant whose webhook
// secret is Secret: the JSON body AcmePay posts, with its Acme-Signature
// header ([Sign]). It plays AcmePay's part for tools and for acmepaytest,
// which wraps it for tests.
//
// A Sender is a value; it is safe for concurrent use.
type Sender struct {
	// Secret is the webhook secret, as given to New.
	Secret string
	// Now gives the signature's time and the events' creation time when
	// they have none: give it the provider's clock (WithClock).
	// Default: time.Now.
	Now func() time.Time
}

func (s Sender) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Body returns e as AcmePay sends it: id, type, created (Unix seconds; Now
// when e.Created is zero) and data (charge_id, amount as a JSON string,
// currency). It never fails; the error is there for the same signature as
// the other providers' Senders.
func (s Sender) Body(e Event) ([]byte, error) {
	created := e.Created
	if created.IsZero() {
		created = s.now()
	}
	type data struct {
		ChargeID string `json:"charge_id"`
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	}
	return json.Marshal(struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Created int64  `json:"created"`
		Data    data   `json:"data"`
	}{e.ID, string(e.Type), created.Unix(), data{e.ChargeID, e.Amount.String(), e.Currency}})
}

// NewRequest returns the POST of e's webhook to target, signed with Secret
// now. It can be sent again (GetBody is set).
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
	r.Header.Set(SignatureHeader, Sign(s.Secret, s.now(), body))
	return r, nil
}

// Policy returns how AcmePay delivers: three retries, a minute apart.
func (Sender) Policy() deliver.Policy {
	return deliver.Policy{Retries: 3, Interval: time.Minute}
}
