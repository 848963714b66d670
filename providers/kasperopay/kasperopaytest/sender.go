package kasperopaytest

import (
	"net/http"

	"github.com/payhook/payhook/deliver"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/providers/kasperopay"
)

// Sender is [kasperopay.Sender] for tests: it builds KasperoPay webhooks,
// unsigned as KasperoPay sends them by default or signed when Secret is
// set, panicking where kasperopay.Sender returns an error (as
// httptest.NewRequest does), and forges them ([Sender.Forged]). Give Now
// the provider's clock (a payhooktest.Clock's Now) so that a signed
// webhook lies in the provider's replay window. KasperoPay sends a webhook
// once, whatever the answer ([Sender.Policy]).
//
// A Sender is a value; it is safe for concurrent use.
type Sender kasperopay.Sender

// Body returns e as KasperoPay sends it ([kasperopay.Sender.Body]). It
// panics if e.Metadata is not valid JSON.
func (k Sender) Body(e kasperopay.Event) []byte {
	return providertest.Must(kasperopay.Sender(k).Body(e))
}

// Request returns the POST of e's webhook to target, a path for a handler
// in process ("/webhooks/kasperopay") or an absolute URL, signed when
// Secret is set. It can be sent again (GetBody is set). It panics if target
// is not a URL.
func (k Sender) Request(target string, e kasperopay.Event) *http.Request {
	return providertest.Request(kasperopay.Sender(k).NewRequest(target, e))
}

// Forged is Request with an X-KasperoPay-Signature computed with another
// secret. A Provider without a webhook secret ignores the header: a forged
// unsigned webhook is one the status API does not confirm (a payment the
// fake API does not know, or another amount).
func (k Sender) Forged(target string, e kasperopay.Event) *http.Request {
	return Sender{Secret: providertest.ForgedKey(k.Secret), Now: k.Now}.Request(target, e)
}

// Policy returns how KasperoPay delivers: once, whatever the answer.
func (k Sender) Policy() deliver.Policy { return kasperopay.Sender(k).Policy() }
