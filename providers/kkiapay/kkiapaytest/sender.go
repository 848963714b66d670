package kkiapaytest

import (
	"net/http"

	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/providers/kkiapay"
)

// Sender is [kkiapay.Sender] for tests: it builds KKiaPay webhooks for the
// merchant whose webhook "hash secret" is Secret, panicking where
// kkiapay.Sender returns an error (as httptest.NewRequest does), and
// forges them ([Sender.Forged]). KKiaPay retries a delivery until it is
// answered 2xx ([Sender.Policy]).
//
// A Sender is a value; it is safe for concurrent use.
type Sender kkiapay.Sender

// Body returns e as KKiaPay sends it ([kkiapay.Sender.Body]). It panics if
// e.StateData is not valid JSON.
func (k Sender) Body(e kkiapay.Event) []byte {
	return providertest.Must(kkiapay.Sender(k).Body(e))
}

// Request returns the POST of e's webhook to target, a path for a handler
// in process ("/webhooks/kkiapay") or an absolute URL, with the
// x-kkiapay-secret header. It can be sent again (GetBody is set). It
// panics if target is not a URL.
func (k Sender) Request(target string, e kkiapay.Event) *http.Request {
	return providertest.Request(kkiapay.Sender(k).NewRequest(target, e))
}

// Forged is Request with another secret in the header: what someone who
// does not know the hash secret would send.
func (k Sender) Forged(target string, e kkiapay.Event) *http.Request {
	return Sender{Secret: providertest.ForgedKey(k.Secret)}.Request(target, e)
}

// Policy returns how KKiaPay delivers ([kkiapay.Sender.Policy]): again
// after any answer that is not 2xx, up to kkiapay.Retries times, at
// kkiapay.RetryInterval incremental intervals, without waiting (set
// Sleep to a payhooktest.Clock's Sleep, or deliver.Sleep, to wait).
func (k Sender) Policy() deliver.Policy { return kkiapay.Sender(k).Policy() }
