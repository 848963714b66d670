// Package kazawallet receives Kazawallet payment webhooks for payhook.
//
//	kw, err := kazawallet.New(os.Getenv("KAZAWALLET_API_KEY"), os.Getenv("KAZAWALLET_API_SECRET"))
//	if err != nil {
//		log.Fatal(err) // an empty key or secret is refused
//	}
//	http.Handle("POST /webhooks/kazawallet", payhook.Handle(kw, func(ctx context.Context, e kazawallet.Event) error {
//		if !e.Paid() {
//			return nil // the link timed out: nothing to credit
//		}
//		x, ok := payhook.ExpectationFrom(ctx) // found by the ref, checked against the signed amount
//		if !ok {
//			return payhook.ErrUnexpected // 503, retried: it may be on its way
//		}
//		return orders.MarkPaid(ctx, x.Ref)
//	}, payhook.WithExpectations(expected)))
//
// Find the order by the one rule for every provider (docs/reconcile.md):
// when you create the payment link, add an expectation with your ref (the
// order's id), the amount and the currency, and the link's id as its ID
// when [Client.CreatePaymentLink] returns one ([PaymentLink].OrderID; the
// answer may carry the URL only). Then credit the order of the payment's
// expectation ([payhook.ExpectationFrom]): payhook found it by the
// order_id or the ref, checked the signed amount and the currency against
// it, and settled it once, and an order_id that settled one expectation
// settles no other.
//
// # What Kazawallet sends
//
// One POST per payment link when it is paid ("fulfilled") or expires
// ("timed_out"), with order_id, secret, amount, ref, status and currency.
// The status is the Event's Type ([Fulfilled], [TimedOut]); another is kept
// as it arrives, since the status is not signed (refusing one protects
// nothing) and a refused webhook is never sent again.
// Kazawallet sends it ONLY ONCE and never retries: a delivery your handler
// fails is not sent again, so make the handler record the event durably
// before doing slow work.
//
// The body may be JSON or form-encoded, the id may come as "id" instead of
// "order_id", and amount and ids may be JSON strings or numbers: all are
// accepted, since a rejected webhook is lost.
//
// # What the signature proves, and what it does not
//
// The secret field is base64(HMAC-SHA512(apiSecret, SHA256(amount + ":::" +
// order_id + ":::" + apiKey))), exactly as Kazawallet's PHP example computes
// it. It covers the amount and the order id only. It does NOT cover status,
// ref or currency: a captured "timed_out" webhook carries the same secret as
// a "fulfilled" one for the same order and amount, so its status could be
// rewritten. payhook therefore deduplicates on the order id alone (one link,
// one notification): once any delivery of an order has been processed, every
// other one, whatever its status, is acknowledged without reaching your
// handler. Credit only the amount checked against an expectation (below),
// and keep the webhook URL secret and on HTTPS.
//
// The ref is not signed, so on its own it proves nothing: it only finds
// the expectation you added for it, and only the signed amount for that
// expectation settles it, once (payhook.WithExpectations). A captured
// delivery replayed with another ref then credits nothing: its order_id is
// already processed, and, once the retention is over, has already settled
// an expectation; and another order's expectation is settled only by that
// order's amount. A copy of a paid delivery rewritten after the genuine
// one was processed is stopped twice: by payhook's deduplication on the
// order_id (for the retention, with a durable store) and by the settled
// expectation. What nothing stops is a copy of a delivery that your
// application never processed (rewritten in transit, or one whose only
// delivery failed) with another status, or another ref naming an
// unsettled expectation of the same amount and currency: keep deliveries
// out of other hands (HTTPS, no body in any log).
//
// Which amount text Kazawallet signs is not documented. Verify tries the text
// exactly as received (the JSON string's contents, the JSON number's literal,
// or the form value), then its two-decimal form ("10.00") and its shortest
// form ("10.5"), and reports the one that matched in Event.SignedAmount.
//
// # Rotating the credentials
//
// Give the new key pair with [WithSecrets] beside the old, deploy, change
// them in Kazawallet's merchant settings, then drop the old pair. Every
// pair is tried on every delivery.
//
// # Creating payment links
//
// [Client] calls Kazawallet's API with the API key: [Client.CreatePaymentLink]
// sends the amount exactly as its text (send the amount you will check in
// the webhook), and returns the link to send the payer to and, when the
// answer has one, the link's id that the webhook's order_id will carry. The
// API's errors come back as [*APIError] with Kazawallet's message and key
// ("USER_NOT_FOUND").
package kazawallet
