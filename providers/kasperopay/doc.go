// Package kasperopay receives KasperoPay (Kaspa) payment webhooks for
// payhook, and calls KasperoPay's status API.
//
//	kp, err := kasperopay.New() // confirms every webhook through the status API
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.Handle("POST /webhooks/kasperopay", payhook.Handle(kp, func(ctx context.Context, e kasperopay.Event) error {
//		if !e.Paid() {
//			return nil
//		}
//		x, ok := payhook.ExpectationFrom(ctx) // by the payment id, checked against the confirmed amount
//		if !ok {
//			return payhook.ErrUnexpected // 503, retried: the page may still be adding it
//		}
//		return orders.MarkPaid(ctx, x.Ref)
//	}, payhook.WithExpectations(expected)))
//
// Find the order by the one rule for every provider (docs/reconcile.md):
// when the widget's onPayment callback gives your page the payment id, add
// an expectation with that id, your order's id as its Ref, the amount in
// KAS and "KAS"; then credit the order of the payment's expectation
// ([payhook.ExpectationFrom]), which payhook found by the payment id,
// checked against the confirmed amount and settled once. Never e.OrderID:
// see below.
//
// # What KasperoPay sends
//
// One POST with a JSON body when a payment completes (event
// "payment.completed"), once: KasperoPay's server makes one attempt and
// never retries, whatever the answer. What it sends differs from its
// documentation, and every form is accepted: order_id, transaction_id,
// amount_usd and customer_address may be null; amounts may be JSON strings
// or numbers (kept exact, never a float); an "item" string may come besides
// or instead of the "items" array. Only event and payment_id are required,
// and event must be "payment.completed", the only one KasperoPay documents:
// any other is refused (400) before the payment id is claimed, so that a
// forged "payment.expired" naming a real payment cannot mark it done.
//
// # KasperoPay signs nothing
//
// By default a KasperoPay webhook carries no signature at all: anyone who
// can reach the URL can post one. The Provider therefore confirms each one
// through the public status API (GET {base}/pay/status/{payment_id}) and
// accepts it only when the API says "completed" with the same amount_kas
// (compared as numbers: 25.5 equals "25.50") and, when both sides have one,
// the same transaction id. A webhook whose transaction_id is null is
// accepted on status and amount alone; Event.Confirmation.TxID then has the
// API's.
//
// That proves less than a signature would. It proves that a KasperoPay
// payment with that id and amount completed — anyone's payment: the status
// API does not say which merchant it paid, and it knows nothing of
// order_id, items, metadata or merchant_id, which stay whatever the sender
// wrote. Someone can pay their own KasperoPay store and post that payment's
// id to your URL with your order's id. So, without a webhook secret, add
// each expectation with the payment's id (the widget's onPayment callback
// gives it to your page), not by its Ref alone: payhook then credits only
// the payment that id names, for the confirmed amount, and an order_id
// naming the expectation of another payment id is refused
// (payhook.ErrMismatch). Never mark paid an order named by OrderID alone.
//
// Without a secret the timestamp proves nothing and is not checked; a
// replayed webhook is recognised by its payment id instead (payhook's
// idempotency store) and by its age ([WithMaxAge]). Every delivery, forged
// ones and duplicates included, is confirmed through the status API: limit
// the rate with payhook.WithRateLimit. The API's answer for a settled
// payment is remembered for a while ([WithAnswerTTL]), so a spray of
// forgeries naming one payment costs one call, and the calls in flight are
// bounded ([WithConcurrentConfirmations]). The call is made before payhook claims the
// payment id (in Verify), so that a forged webhook naming a real payment
// id cannot hold that id while the genuine delivery, sent only once,
// arrives. With a webhook secret the signature authenticates the sender,
// the id is claimed first, and a duplicate costs no call.
//
// If your KasperoPay dashboard offers a webhook secret, configure it with
// [WithSecrets] (with the old one too while rotating it): the
// X-KasperoPay-Signature header (hex HMAC-SHA256 of the raw body) is then
// required and checked first, and the body's timestamp must lie within
// [WithReplayWindow] of now. Every field is then KasperoPay's. Confirmation
// stays on unless [WithoutConfirmation] turns it off, which is refused
// without secrets. [WithConfirmation] confirms through a [Client] of
// yours (another base URL, path or timeout: [NewClient]'s options).
//
// # When the status API cannot answer
//
// A webhook the status API cannot confirm because it is down, slow (the
// Client's [WithTimeout]) or answers garbage is answered 503
// (payhook.ErrUnavailable); one the API does not say "completed" yet
// (pending or confirming) is answered 503 too (payhook.ErrPending): not a
// forgery, not yet a payment. KasperoPay will not send either again, so the
// error names the payment in full (payment id, order id, amounts,
// transaction id, "PAYMENT NOT CONFIRMED"), and payhook's middleware logs
// it at error level with the logger given to payhook.WithLogger: keep it
// where someone will read it, and check the payment ([Client.Status]) to
// process it by hand, or let an inbox (payhook.WithInbox) keep the
// delivery and confirm it later. The Provider logs nothing itself.
//
// # Polling
//
// [Client] calls the status API on its own, for merchants who poll a
// payment instead of, or besides, waiting for its webhook.
package kasperopay
