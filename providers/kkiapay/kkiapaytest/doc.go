// Package kkiapaytest tests code that receives KKiaPay webhooks, without
// ever talking to KKiaPay, in the spirit of net/http/httptest:
//
//   - [Sender] is kkiapay.Sender for tests: it builds KKiaPay's webhook for
//     a typed kkiapay.Event, with the hash secret in its header, or forged
//     ([Sender.Forged]); its Policy is KKiaPay's delivery schedule (five
//     retries) for deliver.Send.
//   - [NewAPI] starts a fake of KKiaPay's transaction API (status and
//     revert), whose answer is set per transaction: confirmed
//     ([API.Confirm]), any transaction ([Transaction]), or
//     payhooktest.NotFound, Down, Hangup, Slow and Respond. It records the
//     calls it receives. kkiapay's own tests use it.
//
// A test of a KKiaPay handler, from the signed webhook to the application:
//
//	kk, _ := kkiapay.New("hash-secret")
//	h := payhook.Handle(kk, app.OnKKiaPay)
//	sender := kkiapaytest.Sender{Secret: "hash-secret"}
//	e := kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, Amount: payhook.MustAmount("1000")}
//	res := deliver.Send(payhooktest.Handler(h), sender.Request("/webhooks/kkiapay", e), sender.Policy())
//	if !res.Acknowledged() { t.Fatalf("KKiaPay would give up: %v", res) }
//
// Everything here is safe for concurrent use. Nothing here belongs in
// production code: the fake accepts fixed test keys.
package kkiapaytest
