// Package kkiapay receives KKiaPay payment webhooks for payhook, and calls
// KKiaPay's transaction API (status and refund).
//
//	cl, err := kkiapay.NewClient(publicKey, privateKey, secretKey) // the account's API keys
//	if err != nil {
//		log.Fatal(err)
//	}
//	kk, err := kkiapay.New(os.Getenv("KKIAPAY_WEBHOOK_SECRET"), kkiapay.WithConfirmation(cl))
//	if err != nil {
//		log.Fatal(err) // an empty secret is refused
//	}
//	http.Handle("POST /webhooks/kkiapay", payhook.Handle(kk, func(ctx context.Context, e kkiapay.Event) error {
//		if !e.Paid() {
//			return nil // transaction.failed: nothing to credit
//		}
//		x, ok := payhook.ExpectationFrom(ctx) // by the transaction id, checked against the confirmed amount
//		if !ok {
//			return payhook.ErrUnexpected // 503, retried: the page may still be adding it
//		}
//		return orders.MarkPaid(ctx, x.Ref, e.TransactionID)
//	}, payhook.WithExpectations(expected)))
//
// Find the order by the one rule for every provider (docs/reconcile.md):
// when the widget hands your page the transaction id, add an expectation
// with that id, your order's id as its Ref, the amount and "XOF"; then
// credit the order of the payment's expectation
// ([payhook.ExpectationFrom]), which payhook found by the transaction id
// (or the partnerId), checked against the confirmed amount and settled
// once.
//
// Without [WithConfirmation] nothing vouches for the body (see below): do
// not credit amounts from it.
//
// # What KKiaPay sends
//
// A JSON POST per transaction, to the URL, for the events and with the
// "hash secret" set under Webhook on the dashboard's API keys page:
// transaction.success or transaction.failed, with transactionId, isPaymentSucces (one "s"),
// account, label, method, amount, fees, partnerId, performedAt, stateData
// (an object or a JSON-encoded string, depending on the widget's version),
// and for failures failureCode and failureMessage. [Event] holds them all.
// An event name KKiaPay does not document is refused as malformed (400)
// before any idempotency key is claimed: a forged "transaction.pending"
// must not consume the key of a real payment.
//
// KKiaPay retries a delivery that is not answered 2xx (3xx included) up to
// five times, at 500 ms incremental intervals. payhook makes that safe: the
// idempotency key is the transactionId, so a retried or concurrently
// duplicated delivery is processed once and, once processed, acknowledged
// 200 every time; a delivery your handler fails is released, and KKiaPay's
// retry processes it again.
//
// # What the header proves, and what it does not
//
// The x-kkiapay-secret header carries the hash secret itself, not a
// signature of the body. It proves the sender knows the secret; it proves
// nothing about the body. Whoever sees one delivery (a logging proxy, a
// leaked request dump) can send any body with that header, with another
// amount or another status. Verify compares the header with every
// configured secret in constant time, and refuses a delivery without it,
// before reading the body.
//
// Confirmation makes the body's status and amount trustworthy. With
// [WithConfirmation], the Provider asks the status API about every
// webhook's transaction before your handler runs ([Provider.Confirm]), and
// accepts the webhook only if the API knows the transaction and agrees with
// it:
//
//   - status: transaction.success needs SUCCESS, transaction.failed needs
//     FAILED;
//   - amount: numerically equal (1000 equals "1000.00"). A webhook without
//     an amount takes the API's.
//
// Nothing else is compared: stateData, partnerId and account stay what the
// sender wrote, and the API's answer is in Event.Confirmation. Find the
// order by the expectation you added for the transaction id, never by the
// webhook's stateData (see above). The outcomes, and what KKiaPay then
// does:
//
//   - agreement: the handler runs;
//   - disagreement, or a transaction the API does not know:
//     payhook.ErrInvalidSignature, 401. KKiaPay retries, and is refused
//     again;
//   - the API says PENDING: payhook.ErrPending, 503, never a success nor a
//     401. The webhook is ahead of the API; KKiaPay's retries come back
//     when the API has caught up;
//   - the API cannot be reached, times out, or answers 5xx, 429 or another
//     error (such as 401 for wrong keys): payhook.ErrUnavailable, 503. The
//     event is not marked done, so KKiaPay's retry is processed once the API
//     answers. After its last retry KKiaPay gives up: watch for these 503s
//     in the logs, and recover by calling [Client.Status].
//
// payhook's middleware confirms after it has claimed the event's
// transaction id, so a duplicate of a processed event is acknowledged
// without a call to the API (even while the API is down), and a failed
// confirmation releases the claim for KKiaPay's retry.
//
// # Rotating the hash secret
//
// Give the new secret with [WithSecrets] beside the old, deploy, change it
// on the dashboard, then drop the old one. Every configured secret is
// compared on every delivery, so timing does not reveal which matched.
//
// # The API client
//
// [NewClient] takes the account's public, private and secret keys and calls
// the live API, the sandbox ([WithSandbox]) or any base URL
// ([WithBaseURL]). [Client.Status] returns the [Transaction]; mind that its
// performed_at (an ISO 8601 instant) and performedAt (a dd/mm/yyyy date)
// are two fields, PerformedAt and PerformedOn. An unknown transaction is
// [ErrNotFound] whichever way the API says it.
package kkiapay
