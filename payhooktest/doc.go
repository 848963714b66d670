// Package payhooktest tests code that receives payment webhooks with
// payhook, in the spirit of net/http/httptest: what every provider shares,
// knowing no particular one. Each provider's test kit
// (providers/kazawallet/kazawallettest, kkiapaytest, kasperopaytest)
// builds that provider's webhooks and fakes its API on top of it.
//
//   - [Handler] serves deliver.Send's requests with an http.Handler in
//     process, so that a test delivers a webhook as the provider does,
//     with its retry policy (the kits' Sender.Policy); [DeliverN] sends n
//     concurrent copies. Package deliver itself is product code: payhook
//     send posts with it too.
//   - [Clock] is a fixed clock for the middleware, the in-memory store,
//     the providers and deliver.Policy's Sleep, so that a test moves leases, retention and replay
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
