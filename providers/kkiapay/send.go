package kkiapay

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/internal/jsonx"
)

// KKiaPay's delivery schedule: [Sender.Policy].
const (
	// Retries is how many times KKiaPay sends a delivery again after an
	// answer that is not 2xx (3xx included).
	Retries = 5
	// RetryInterval is the wait before KKiaPay's first retry; each retry
	// waits one interval more than the one before (500 ms, 1 s, 1.5 s, ...).
	RetryInterval = 500 * time.Millisecond
)

// Sender builds the webhooks KKiaPay sends to the merchant whose webhook
// "hash secret" is Secret: the JSON body KKiaPay posts, with the secret in
// the x-kkiapay-secret header ([Sign]). It plays KKiaPay's part for tools
// (payhook send, the sandbox of payhook serve) and for kkiapaytest, which
// wraps it for tests.
//
// A Sender is a value; it is safe for concurrent use.
type Sender struct {
	// Secret is the hash secret, as given to New.
	Secret string
}

// Body returns e as KKiaPay sends it: transactionId, isPaymentSucces (one
// "s"; from e.PaymentSucceeded, or true for transaction.success when that
// is nil), account (null when ""), label, method, amount and fees (JSON
// numbers; fees 0 when zero; amount left out when zero), partnerId,
// performedAt (ISO 8601 with milliseconds, left out when zero), stateData
// ({} when nil), event, and failureCode and failureMessage when set. It
// fails only when e.StateData is not valid JSON.
func (s Sender) Body(e Event) ([]byte, error) {
	ok := e.Type == TransactionSuccess
	if e.PaymentSucceeded != nil {
		ok = *e.PaymentSucceeded
	}
	fees := jsonx.Number(e.Fees.String())
	if fees == "" {
		fees = "0"
	}
	state := e.StateData
	if len(state) == 0 {
		state = json.RawMessage("{}")
	}
	var at string
	if !e.PerformedAt.IsZero() {
		at = e.PerformedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return json.Marshal(struct {
		TransactionID  string          `json:"transactionId"`
		Succeeded      bool            `json:"isPaymentSucces"`
		Account        *string         `json:"account"`
		Label          string          `json:"label"`
		Method         string          `json:"method"`
		Amount         json.Number     `json:"amount,omitempty"`
		Fees           json.Number     `json:"fees"`
		PartnerID      string          `json:"partnerId"`
		PerformedAt    string          `json:"performedAt,omitempty"`
		StateData      json.RawMessage `json:"stateData"`
		Event          string          `json:"event"`
		FailureCode    string          `json:"failureCode,omitempty"`
		FailureMessage string          `json:"failureMessage,omitempty"`
	}{e.TransactionID, ok, orNull(e.Account), e.Label, string(e.Method), jsonx.Number(e.Amount.String()), fees, e.PartnerID,
		at, state, string(e.Type), e.FailureCode, e.FailureMessage})
}

// NewRequest returns the POST of e's webhook to target, the merchant's
// webhook URL, with the x-kkiapay-secret header. It can be sent again
// (GetBody is set), as [deliver.Send] does for each retry.
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
	r.Header.Set(SignatureHeader, Sign(s.Secret))
	return r, nil
}

// Policy returns how KKiaPay delivers: again after any answer that is not
// 2xx, up to [Retries] times, at [RetryInterval] incremental intervals.
// Its Sleep is nil: the waits are reported, not waited; set it to
// deliver.Sleep to wait them.
func (Sender) Policy() deliver.Policy {
	return deliver.Policy{Retries: Retries, Interval: RetryInterval}
}

// orNull returns nil for "", for fields KKiaPay sends as null.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
