// Package kazawallettest tests code that receives Kazawallet webhooks and
// creates payment links, without ever talking to Kazawallet, in the spirit
// of net/http/httptest:
//
//   - [Sender] is kazawallet.Sender for tests: it builds Kazawallet's
//     webhook for a typed kazawallet.Event, JSON or form-encoded, signed as
//     Kazawallet signs it, or forged ([Sender.Forged]); its Policy is
//     Kazawallet's (one attempt) for deliver.Send.
//   - [NewAPI] starts a fake of Kazawallet's createPaymentLink, which
//     creates links ([API.Links]) whose webhook events [Link.Event] gives,
//     or answers payhooktest.NotFound (an unknown account), Down, Hangup,
//     Slow and Respond per ref. It records the calls it receives.
//     kazawallet's own tests use it.
//
// Everything here is safe for concurrent use. Nothing here belongs in
// production code: the fake accepts a fixed test key.
package kazawallettest
