// Package payhooktest tests code that receives payment webhooks with
// payhook, in the spirit of net/http/httptest: what every provider shares,
// knowing no particular one. Each provider's test kit
// (providers/kazawallet/kazawallettest, kkiapaytest, kasperopaytest)
// builds that provider's webhooks and fakes its API on top of it.
//
//   - [Deliver] and [DeliverN] send a webhook the way a provider does,
//     with its retry [Policy] (the kits' Sender.Policy), to an http.Handler
//     in process ([Handler]) or over the network, once or as n concurrent
//     copies, and report every answer.
//   - [Clock] is a fixed clock for the middleware, the in-memory store and
//     the providers, so that a test moves leases, retention and replay
//     windows forward without sleeping.
//   - [Recorder] is an application's handler that records the events it
//     processes, and fails or holds calls when told to.
//   - [TestProvider] and [RunProvider] check that a provider keeps the
//     contract of payhook.Provider, in the manner of testing/slogtest:
//     sentinel errors, no secret in an error or a printed value, a body
//     not kept, stable keys, and the answers of payhook.Handle.
//   - [NewAPI] is the engine of the kits' fake provider APIs: an httptest
//     server answering each id with an [Answer] ([NotFound], [Down],
//     [Hangup], [Respond], [Slow], or a [Payload] the kit encodes), and
//     recording the [Call]s it receives.
//
// Everything here is safe for concurrent use unless its documentation says
// otherwise. Nothing here belongs in production code.
package payhooktest
