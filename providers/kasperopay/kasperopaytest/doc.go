// Package kasperopaytest tests code that receives KasperoPay webhooks,
// without ever talking to KasperoPay, in the spirit of net/http/httptest:
//
//   - [Sender] is kasperopay.Sender for tests: it builds KasperoPay's
//     webhook for a typed kasperopay.Event, unsigned as KasperoPay sends it
//     by default, or signed with a webhook secret, or forged
//     ([Sender.Forged]); its Policy is KasperoPay's (one attempt) for
//     deliver.Send.
//   - [NewAPI] starts a fake of KasperoPay's status API, whose answer is set
//     per payment: confirmed ([API.Confirm]), any payment ([Payment]), or
//     payhooktest.NotFound, Down, Hangup, Slow and Respond. It records the
//     calls it receives. kasperopay's own tests use it.
//
// Everything here is safe for concurrent use. Nothing here belongs in
// production code.
package kasperopaytest
