package acmepaytest

import (
	"net/http"

	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/providers/acmepay"
)

// Sender is [acmepay.Sender] for tests: it builds AcmePay webhooks,
// panicking where acmepay.Sender returns an error (as httptest.NewRequest
// does), and forges them ([Sender.Forged]).
//
// A Sender is a value; it is safe for concurrent use.
type Sender acmepay.Sender

// Body returns e as AcmePay sends it ([acmepay.Sender.Body]).
func (s Sender) Body(e acmepay.Event) []byte {
	return providertest.Must(acmepay.Sender(s).Body(e))
}

// Request returns the POST of e's webhook to target, a path for a handler
// in process or an absolute URL, signed with Secret now. It can be sent
// again (GetBody is set). It panics if target is not a URL.
func (s Sender) Request(target string, e acmepay.Event) *http.Request {
	return providertest.Request(acmepay.Sender(s).NewRequest(target, e))
}

// Forged is Request signed with another secret.
func (s Sender) Forged(target string, e acmepay.Event) *http.Request {
	s.Secret = providertest.ForgedKey(s.Secret)
	return s.Request(target, e)
}

// Policy returns how AcmePay delivers: three retries, a minute apart.
func (s Sender) Policy() deliver.Policy { return acmepay.Sender(s).Policy() }
