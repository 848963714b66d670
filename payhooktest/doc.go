// Package payhooktest tests code that receives payment webhooks with
// payhook, without ever talking to a payment provider, in the spirit of
// net/http/httptest. It plays the providers' part:
//
//   - [Kazawallet], [KKiaPay] and [KasperoPay] build a provider's webhook
//     from a typed event and the merchant's secrets, signed as the provider
//     signs it ([Kazawallet.Request]), or deliberately forged
//     ([Kazawallet.Forged]), in the provider's real wire format. Their Body
//     methods give the bytes alone.
//   - [NewKKiaPayAPI], [NewKasperoPayAPI] and [NewKazawalletAPI] start fake
//     provider APIs (httptest servers): the status APIs that confirm
//     payments, and Kazawallet's createPaymentLink. Each answer is set per
//     transaction or payment: confirmed ([KKiaPayAPI.Confirm]), any
//     transaction or payment ([Transaction], [Payment]: pending, another
//     amount), [NotFound], [Down], [Hangup], [Slow]. They record the calls
//     they receive.
//   - [Deliver] and [DeliverN] send a webhook the way the provider does —
//     KKiaPay retries until it gets a 2xx, at most five times, the others
//     send once ([KKiaPay.Policy]) — to an http.Handler in process
//     ([Handler]) or over the network, once or as n concurrent copies, and
//     report every answer.
//   - [Clock] is a fixed clock for the middleware, the in-memory store and
//     the providers, so that a test moves leases, retention and replay
//     windows forward without sleeping.
//
// A test of a KKiaPay handler, from the signed webhook to the application:
//
//	kk, _ := kkiapay.New("hash-secret")
//	h := payhook.Handle(kk, app.OnKKiaPay)
//	sender := payhooktest.KKiaPay{Secret: "hash-secret"}
//	e := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount("1000")}
//	res := payhooktest.Deliver(payhooktest.Handler(h), sender.Request("/webhooks/kkiapay", e), sender.Policy())
//	if !res.Acknowledged() { t.Fatalf("KKiaPay would give up: %v", res) }
//
// Everything here is safe for concurrent use unless its documentation says
// otherwise. Nothing here belongs in production code: the fakes accept
// fixed test keys, and the builders sign with whatever secret they are
// given.
package payhooktest
