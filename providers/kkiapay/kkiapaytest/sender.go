package kkiapaytest

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kkiapay"
)

// Sender builds KKiaPay webhooks for the merchant whose webhook "hash
// secret" is Secret: the JSON body KKiaPay posts, with the secret in the
// x-kkiapay-secret header ([kkiapay.Sign]). KKiaPay retries a delivery
// until it is answered 2xx ([Sender.Policy]).
//
// A Sender is a value; it is safe for concurrent use.
type Sender struct {
	// Secret is the hash secret, as given to kkiapay.New.
	Secret string
}

// Body returns e as KKiaPay sends it: transactionId, isPaymentSucces (one
// "s"; from e.PaymentSucceeded, or true for transaction.success when that
// is nil), account (null when ""), label, method, amount and fees (JSON
// numbers; fees 0 when zero; amount left out when zero), partnerId,
// performedAt (ISO 8601 with milliseconds, left out when zero), stateData
// ({} when nil), event, and failureCode and failureMessage when set.
func (k Sender) Body(e kkiapay.Event) []byte {
	ok := e.Type == kkiapay.TransactionSuccess
	if e.PaymentSucceeded != nil {
		ok = *e.PaymentSucceeded
	}
	fees := payhooktest.Number(e.Fees)
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
	return payhooktest.MustJSON(struct {
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
	}{e.TransactionID, ok, orNull(e.Account), e.Label, string(e.Method), payhooktest.Number(e.Amount), fees, e.PartnerID,
		at, state, string(e.Type), e.FailureCode, e.FailureMessage})
}

// Request returns the POST of e's webhook to target, a path for a handler
// in process ("/webhooks/kkiapay") or an absolute URL, with the
// x-kkiapay-secret header. It can be sent again (GetBody is set). It
// panics if target is not a URL.
func (k Sender) Request(target string, e kkiapay.Event) *http.Request {
	return k.request(target, e, k.Secret)
}

// Forged is Request with another secret in the header: what someone who
// does not know the hash secret would send.
func (k Sender) Forged(target string, e kkiapay.Event) *http.Request {
	return k.request(target, e, payhooktest.ForgedKey(k.Secret))
}

func (k Sender) request(target string, e kkiapay.Event, secret string) *http.Request {
	r := payhooktest.NewRequest(target, k.Body(e), "application/json")
	r.Header.Set(kkiapay.SignatureHeader, kkiapay.Sign(secret))
	return r
}

// KKiaPay's delivery schedule.
const (
	// Retries is how many times KKiaPay sends a delivery again after an
	// answer that is not 2xx (3xx included).
	Retries = 5
	// Interval is the wait before KKiaPay's first retry; each retry waits
	// one interval more than the one before (500 ms, 1 s, 1.5 s, ...).
	Interval = 500 * time.Millisecond
)

// Policy returns how KKiaPay delivers: again after any answer that is not
// 2xx, up to Retries times, at Interval incremental intervals. Its Sleep
// is nil: the waits are reported, not waited; set Sleep to
// payhooktest.Sleep or a payhooktest.Clock's Sleep to wait them.
func (Sender) Policy() payhooktest.Policy {
	return payhooktest.Policy{Retries: Retries, Interval: Interval}
}

// orNull returns nil for "", for fields KKiaPay sends as null.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
