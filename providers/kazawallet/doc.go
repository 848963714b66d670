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
//		order, err := orders.ByLinkID(ctx, e.OrderID) // signed; e.Ref is not
//		if err != nil {
//			return err
//		}
//		if !e.Amount.Equal(order.Amount) || e.Currency != order.Currency {
//			return nil // not this order's price: log it, credit nothing
//		}
//		return orders.MarkPaid(ctx, order.ID)
//	}))
//
// The order_id is the payment link's id: store it with the order when you
// create the link ([Client.CreatePaymentLink] returns it as
// [PaymentLink].OrderID when Kazawallet's answer carries it). See "What the
// signature proves" below for an answer without it.
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
// handler. Check the amount against your order before crediting it, and
// keep the webhook URL secret and on HTTPS.
//
// So find the order by the order_id, never by the ref. When
// CreatePaymentLink's answer carried no id (its shape is not documented),
// only the ref you sent names the order, and nothing proves it: then accept
// a ref only for an order that no payment has paid, record the order_id on
// the order when you apply it, and never apply an order_id already recorded
// on an order to another. A copy of a delivery rewritten after the genuine
// one was processed is then stopped twice: by payhook's deduplication on the
// order_id (for the retention, with a durable store) and by your record of
// it. What nothing stops, with or without the id, is a copy of a delivery
// that your application never processed (rewritten in transit, or one whose
// only delivery failed) with another status, or, without the id, another
// ref naming an unpaid order of the same amount: keep deliveries out of
// other hands (HTTPS, no body in any log).
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
