package kazawallettest

import (
	"net/http"

	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/providers/kazawallet"
)

// Sender is [kazawallet.Sender] for tests: it builds Kazawallet webhooks
// for the merchant account with APIKey and APISecret, JSON or
// form-encoded, panicking where kazawallet.Sender returns an error (as
// httptest.NewRequest does), and forges them ([Sender.Forged]). Kazawallet
// sends a webhook once, whatever the answer ([Sender.Policy]).
//
// A Sender is a value; it is safe for concurrent use.
type Sender kazawallet.Sender

// Body returns the webhook's body for e ([kazawallet.Sender.Body]).
func (k Sender) Body(e kazawallet.Event) []byte {
	return providertest.Must(kazawallet.Sender(k).Body(e))
}

// Request returns the POST of e's webhook to target, a path for a handler
// in process ("/webhooks/kazawallet") or an absolute URL. It can be sent
// again (GetBody is set). It panics if target is not a URL.
func (k Sender) Request(target string, e kazawallet.Event) *http.Request {
	return providertest.Request(kazawallet.Sender(k).NewRequest(target, e))
}

// Forged is Request with the secret field computed with another API
// secret: what someone who does not know the merchant's secret would send.
func (k Sender) Forged(target string, e kazawallet.Event) *http.Request {
	k.APISecret = providertest.ForgedKey(k.APISecret)
	return k.Request(target, e)
}

// Policy returns how Kazawallet delivers: once, never again whatever the
// answer.
func (k Sender) Policy() deliver.Policy { return kazawallet.Sender(k).Policy() }
